"""shared.backlog: how long a queue's messages waited and its deliveries were worked on, and the line it gives."""

import time

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
        " tốc độ 0 sự kiện/giây"
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


@pytest.mark.usefixtures("fresh_backlog")
def test_the_line_writes_its_figures_as_a_vietnamese_reader_reads_them() -> None:
    """A decimal comma and a dot between thousands (shared.numbers, babel's vi_VN): `1,2 sự kiện/giây` read `1.2`,
    which a Vietnamese operator takes for twelve hundred, and 12345 waiting messages read `12345`."""
    with backlog.in_progress("q") as settled:
        settled.append(72)  # 72 events over the last minute: 1.2 a second
    now = time.monotonic()
    backlog.figures("q", waiting=12_345, now=now - 3_661.4)  # messages waiting since an hour and a minute ago
    found = backlog.figures("q", waiting=12_345, now=now)
    line = backlog.backlog_attention("q", found, limit_seconds=1_800.5)
    assert line == (
        "hàng đợi q đang tồn đọng quá 1.800,5 s: 0 lượt đang xử lý (lâu nhất 0 s), 12.345 tin chờ (chờ 3.661 s),"
        " tốc độ 1,2 sự kiện/giây"
    )
