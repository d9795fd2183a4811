"""shared.backlog: how long a queue's messages waited and its deliveries were worked on, and the line it gives."""

import pytest

from shared import backlog


@pytest.mark.usefixtures("fresh_backlog")
def test_messages_waiting_longer_than_the_limit_are_named_and_an_empty_queue_starts_again() -> None:
    assert backlog.figures("q", waiting=3, now=100.0)["waiting_seconds"] == 0
    found = backlog.figures("q", waiting=5, now=161.0)
    assert found["waiting_seconds"] == 61.0 and found["in_progress"] == 0
    line = backlog.backlog_attention("q", found, limit_seconds=60)
    assert line == (
        "hàng đợi q đang tồn đọng quá 60 s: 0 lượt đang xử lý (lâu nhất 0 s), 5 tin chờ (chờ 61 s),"
        " tốc độ 0.0 sự kiện/giây"
    )
    assert backlog.backlog_attention("q", found, limit_seconds=0) is None  # off
    assert backlog.figures("q", waiting=0, now=162.0)["waiting_seconds"] == 0  # drained: counts again from 0
    assert backlog.backlog_attention("q", backlog.figures("q", waiting=2, now=170.0), limit_seconds=60) is None


@pytest.mark.usefixtures("fresh_backlog")
def test_a_delivery_in_progress_counts_until_it_ends_and_its_events_make_the_rate() -> None:
    with backlog.in_progress("q") as settled:
        found = backlog.figures("q", waiting=None)
        assert found["in_progress"] == 1 and found["waiting"] is None
        settled.append(120)
    found = backlog.figures("q", waiting=0)
    assert found["in_progress"] == 0 and found["oldest_in_progress_seconds"] == 0
    assert found["events_per_second"] == 2.0  # 120 events over the last minute
