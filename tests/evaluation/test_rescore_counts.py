"""What the re-score job counts as changed (the user trial): a meeting only republished under a framework's next
version, its points the same, is rescored but not changed; only a real change of a score, a rating or a criterion's
points counts, and of a period's rating, score or figures."""

import copy
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from services.evaluation.handlers import (
    FACT_HANDLERS,
    adopt_framework,
    register_shipped,
    rescore,
    score_touched,
    shipped_frameworks,
)
from shared.contracts.frameworks import FRAMEWORKS_DIR
from shared.contracts.registry import read_event
from shared.envelope import parse_envelope
from tests.evaluation.fakes import FakeUnitOfWork
from tests.evaluation.stream import cell_history


async def _scored_history() -> FakeUnitOfWork:
    """A fake unit of work holding a ward's cell with four held meetings (one cancelled), all scored."""
    uow = FakeUnitOfWork()
    await register_shipped(uow, shipped_frameworks())
    for raw in cell_history(committee_id="w1", cell_id="c1", prefix="h"):
        event = read_event(parse_envelope(json.dumps(raw)))
        await FACT_HANDLERS[event.type](event, uow)
        await score_touched(uow)
    return uow


def _next_version(default_minutes: int) -> dict[str, Any]:
    """hd42-2025 version 2: only the default duration a meeting needs differs."""
    document = copy.deepcopy(json.loads((FRAMEWORKS_DIR / "hd42-2025.v1.json").read_text(encoding="utf-8")))
    document["version"] = "2"
    duration = next(item for group in document["groups"] for item in group["items"] if item["code"] == "duration")
    duration["rule"]["required_minutes"]["default"] = default_minutes
    return document


async def _rescore(uow: FakeUnitOfWork) -> dict[str, int]:
    @asynccontextmanager
    async def unit() -> AsyncIterator[Any]:
        yield uow

    async def commit() -> None:
        return None

    uow.commit = commit  # type: ignore[attr-defined]
    return await rescore(uow_factory=unit, unit_id="w1", period_from="2026-03", period_to="2026-06")


def _said(uow: FakeUnitOfWork) -> tuple[dict[str, Any], dict[tuple[str, str], Any]]:
    scores = {
        meeting_id: (row["score"], row["rating"], [(line["code"], line["points"]) for line in row["criteria"]])
        for meeting_id, row in uow.results.scores.items()
    }
    return scores, dict(uow.results.periods)


async def test_a_next_version_that_moves_one_meetings_points_counts_that_meeting_alone() -> None:
    uow = await _scored_history()
    before_scores, before_periods = _said(uow)
    # 90 → 80 minutes: June's 70-minute meeting falls 10 minutes short instead of 20; the 95-minute ones stay full
    await adopt_framework(uow, document=_next_version(80), committee_id=None)
    uow.emitted.clear()
    outcome = await _rescore(uow)
    after_scores, after_periods = _said(uow)

    assert outcome["meetings_rescored"] == 5  # the four held meetings and the cancelled one
    moved = [meeting_id for meeting_id in after_scores if after_scores[meeting_id] != before_scores[meeting_id]]
    assert moved == ["h-mt6"]
    assert outcome["meetings_changed"] == 1  # it said 4: every meeting that merely moved to version 2
    # every scored meeting is under version 2 now, and is republished so (a new framework reference)
    assert {row["framework_version"] for row in uow.results.scores.values()} == {"2"}
    republished = {e.data["meeting_id"] for e in uow.emitted if e.type == "score.meeting.updated.v1"}
    assert republished == set(after_scores)
    periods_moved = [key for key in after_periods if after_periods[key] != before_periods.get(key)]
    assert outcome["periods_changed"] == len(periods_moved) > 0
    assert outcome["changed"] == outcome["meetings_changed"] + outcome["periods_changed"]


async def test_a_next_version_that_moves_no_points_changes_nothing() -> None:
    uow = await _scored_history()
    before_periods = dict(uow.results.periods)
    await adopt_framework(uow, document=_next_version(89), committee_id=None)  # June's meeting still 4 of 5
    uow.emitted.clear()
    outcome = await _rescore(uow)
    assert (outcome["meetings_rescored"], outcome["meetings_changed"]) == (5, 0)
    assert (outcome["periods_changed"], outcome["changed"]) == (0, 0)
    assert dict(uow.results.periods) == before_periods
    assert {row["framework_version"] for row in uow.results.scores.values()} == {"2"}
