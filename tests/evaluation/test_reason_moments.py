"""Moments in a score's English reasons read on Vietnam's clock (+07:00), as the events that gave them were sent: a
trial sent documents at 08:00+07:00 and read "published 2026-11-03T01:00:00+00:00". A row stored with the old UTC
wording is rewritten, not republished, when nothing else changed. Handlers with in-memory fakes."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.evaluation import queries
from services.evaluation.domain.scoring import CriterionLine, MeetingScore
from services.evaluation.handlers import FACT_HANDLERS, register_shipped, score_touched, scores, shipped_frameworks
from services.evaluation.handlers.scores import rescore_cell
from services.evaluation.repository.results import PgResultRepository, ScoreRow
from shared.contracts.registry import read_event
from shared.envelope import parse_envelope
from shared.reasons import ReasonCode, ReasonPart, reason_text
from tests.evaluation.fakes import FakeUnitOfWork
from tests.evaluation.private_db import private_pool
from tests.evaluation.stream import at, fact

START = at(11, 4, 19, 30)
PUBLISHED = datetime(2026, 11, 3, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam, as a stored moment reads back


def test_every_moment_in_an_english_reason_is_said_at_vietnam_offset() -> None:
    deadline = datetime(2026, 11, 6, 14, 0, tzinfo=UTC)
    said = {
        ReasonCode.DOCUMENTS_PUBLISHED: "2026-11-03T08:00:00+07:00",
        ReasonCode.DOCUMENTS_PUBLISHED_LATE: "2026-11-03T08:00:00+07:00",
        ReasonCode.NOTIFIED: "2026-11-03T08:00:00+07:00",
        ReasonCode.FINAL_DOCUMENTS_PENDING: "2026-11-06T21:00:00+07:00",
    }
    for code, moment in said.items():
        part = ReasonPart(
            code=code,
            kinds=("content",),
            published_at=PUBLISHED,
            notified_at=PUBLISHED,
            deadline=deadline,
            lead_hours=24.0,
            ahead_hours=35.5,
            hours=48.0,
        )
        text = reason_text([part])
        assert moment in text and "+00:00" not in text, text


@pytest.fixture
async def uow(monkeypatch: pytest.MonkeyPatch) -> FakeUnitOfWork:
    """A fake unit of work with the shipped frameworks registered, scoring a week after the meeting."""
    monkeypatch.setattr(scores, "clock", lambda: START + timedelta(days=7))
    unit = FakeUnitOfWork()
    await register_shipped(unit, shipped_frameworks())
    unit.emitted.clear()
    return unit


async def apply(uow: FakeUnitOfWork, raw: dict[str, Any]) -> None:
    """Handle one fact as the consumer would."""
    event = read_event(parse_envelope(json.dumps(raw)))
    await FACT_HANDLERS[event.type](event, uow)
    await score_touched(uow)


def content_line(uow: FakeUnitOfWork) -> dict[str, Any]:
    """The first line whose reason names when the documents were published."""
    lines = uow.results.scores["m1"]["criteria"]
    return next(line for line in lines if any("published_at" in part for part in line["parts"]))


async def test_a_row_stored_with_utc_moments_is_reworded_without_republishing(uow: FakeUnitOfWork) -> None:
    schedule = {
        "meeting_id": "m1",
        "cell_id": "c1",
        "kind": "regular",
        "starts_at": START.isoformat(),
        "location": "Nhà văn hóa",
        "agenda": ["Thường kỳ"],
    }
    await apply(uow, fact("meeting.scheduled.v1", schedule, time=START - timedelta(days=5)))
    documents = {
        "meeting_id": "m1",
        "published_at": PUBLISHED.isoformat(),
        "items": [{"title": "Tài liệu", "kind": "content"}],
    }
    await apply(uow, fact("documents.published.v1", documents, time=PUBLISHED))
    line = content_line(uow)
    assert "published 2026-11-03T08:00:00+07:00" in line["reason"], line["reason"]
    # a row scored before moments were said at +07:00, its last publication saying the same
    old = line["reason"].replace("2026-11-03T08:00:00+07:00", "2026-11-03T01:00:00+00:00")
    line["reason"] = old
    uow.emitted.clear()
    await rescore_cell(uow, "c1", only={"m1"})
    assert "published 2026-11-03T08:00:00+07:00" in content_line(uow)["reason"]  # rewritten in the new wording
    assert [event for event in uow.emitted if event.type == "score.meeting.updated.v1"] == []  # not republished


async def test_a_score_stored_with_utc_moments_is_served_at_vietnam_offset(database_url: str) -> None:
    """A row not scored again since moments were said at +07:00 is served in the new wording all the same (GET
    /v1/meetings/{id}/score reads it through queries.meeting_score)."""
    part = ReasonPart(
        code=ReasonCode.DOCUMENTS_PUBLISHED,
        kinds=("content",),
        published_at=PUBLISHED,
        lead_hours=24.0,
        ahead_hours=35.5,
    )
    line = CriterionLine(code="preparation.content", points=3, max=3, applicable=True, source="auto", parts=(part,))
    score = MeetingScore("m1", "c1", "hd42-2025", "1", 3.0, "poor", False, (line,))
    async with private_pool(database_url) as pool, pool.acquire() as conn:
        await PgResultRepository(conn).save_scores(
            [
                ScoreRow(
                    result=score, kind="regular", starts_at=START, held=True, present=0, counted=0, speakers_present=0
                )
            ]
        )
        old = json.dumps([line.stored_dict() | {"reason": "content published 2026-11-03T01:00:00+00:00"}])
        await conn.execute("UPDATE meeting_score SET criteria = $1::jsonb WHERE meeting_id = 'm1'", old)
        served = await queries.meeting_score(conn, "m1")
    assert served is not None
    [said] = served["criteria"]
    assert (
        said["reason"]
        == "content published 2026-11-03T08:00:00+07:00, 35.5 h ahead of the start (at least 24 h required)"
    )
