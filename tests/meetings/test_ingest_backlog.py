"""A delivery on meetings.ingest counts as in progress while it is judged (shared.backlog: /health names one worked
on too long), and its events count toward the handling rate once it is settled."""

from typing import Any

import pytest

from services.meetings import consumers
from shared import backlog
from shared.topology import MEETINGS_INGEST
from tests.meetings.test_consumer_settling import FakeMessage, FakeRaw


@pytest.mark.usefixtures("fresh_backlog")
async def test_an_ingest_delivery_is_in_progress_while_judged_and_its_events_make_the_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[dict[str, Any]] = []

    async def judged(message: Any, app: Any, *, outcomes: Any = None, request: Any = None) -> int:
        seen.append(backlog.figures(MEETINGS_INGEST.name, waiting=None))
        return 3

    monkeypatch.setattr(consumers, "ingest_judged", judged)
    message = FakeMessage(FakeRaw(body=b"{}"))
    await consumers.on_ingest(message, object())  # type: ignore[arg-type]
    assert message.settled == ["ack"]
    assert seen[0]["in_progress"] == 1
    after = backlog.figures(MEETINGS_INGEST.name, waiting=0)
    assert after["in_progress"] == 0 and after["events_per_second"] == 0.05  # 3 events over the last minute
