"""What a meeting's score says to people, in Vietnamese, from one wording (services/gateway/web/explain.py):

- the page names the criteria framework that scored the meeting (its name, version and the month it is in force
  from) and, for a re-scored meeting, the day it was re-scored: committees could not tell which meetings were
  re-scored, nor under which framework;
- the API's criterion lines keep their English `reason` and coded `parts`, and add `explanation`, the Vietnamese the
  page shows (a person read "lasted 95 min of 150 required")."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from services.gateway.web.explain import explain_line, framework_note
from shared.reasons import ReasonPart, reason_text
from tests.gateway.conftest import TokenFactory
from tests.gateway.fakes import World
from tests.gateway.test_held_meeting import said
from tests.gateway.test_minutes_label_pages import signed_in, text_of
from tests.support.ids import random_id

SHORT = [ReasonPart(code="duration_half", lasted=95, required=150)]
LINE = {"code": "duration", "points": 2.5, "max": 5, "applicable": True, "source": "auto", "reason": reason_text(SHORT)}
NAME = "Tiêu chí đánh giá chất lượng sinh hoạt chi bộ (Hướng dẫn 42-HD/BTCTW)"
SAID = "Sinh hoạt 95 phút so với 150 phút quy định: đạt từ một nửa trở lên"


@contextmanager
def scored(world: World, *, rescored_at: str | None) -> Iterator[str]:
    """A meeting of cell A1 scored under a framework of its own (one line: 95 of 150 minutes), removed afterwards."""
    framework_id, meeting_id = random_id("fw-named"), f"{world.cell_a1}-{random_id('scored')}"
    world.frameworks[framework_id] = {
        "id": framework_id,
        "version": "2",
        "name": NAME,
        "effective_from": "2025-10-28",
        "groups": [{"code": "1", "name": "Thời lượng", "items": [{"code": "duration", "name": "Đủ thời lượng"}]}],
    }
    world.meetings[meeting_id] = world._meeting(meeting_id, world.cell_a1)
    world.scores[meeting_id] = {
        "meeting_id": meeting_id,
        "cell_id": world.cell_a1,
        "framework": {"id": framework_id, "version": "2", "name": NAME},
        "score": 50.0,
        "rating": "average",
        "provisional": False,
        "criteria": [LINE | {"parts": [part.model_dump(exclude_none=True) for part in SHORT]}],
        "computed_at": "2026-11-04T09:00:00+07:00",
        "rescored_at": rescored_at,
    }
    try:
        yield meeting_id
    finally:
        del world.meetings[meeting_id], world.scores[meeting_id], world.frameworks[framework_id]


async def test_the_api_says_each_criterions_reason_in_vietnamese_beside_its_codes_and_english(
    client: httpx.AsyncClient, token_for: TokenFactory, world: World
) -> None:
    headers = await token_for("member", world.cell_a1, world.member_a1)
    with scored(world, rescored_at="2026-12-03T18:30:00+00:00") as meeting_id:
        response = await client.get(f"/v1/meetings/{meeting_id}/score", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    [line] = body["criteria"]
    assert line["reason"] == "lasted 95 min of 150 required: at least half"  # kept for clients reading it
    assert [(part["code"], part["lasted"], part["required"]) for part in line["parts"]] == [("duration_half", 95, 150)]
    assert line["explanation"] == SAID == explain_line(line)  # the page's own wording, not a copy
    assert body["rescored_at"] == "2026-12-03T18:30:00Z"
    # the framework named in Vietnamese beside its id, as the meeting page names it
    assert body["framework"] == {"id": body["framework"]["id"], "version": "2", "name": NAME}


async def test_the_meeting_page_names_the_framework_and_the_day_it_was_re_scored(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    with scored(world, rescored_at="2026-12-03T18:30:00+00:00") as again, scored(world, rescored_at=None) as once:
        async with signed_in(client, amqp_url, database_url, "member", world.cell_a1, world.member_a1) as member:
            page = (await member.get(f"/app/meetings/{again}")).text
            first = (await member.get(f"/app/meetings/{once}")).text
    assert text_of(page, "score-framework") == (
        "Chấm điểm theo bộ tiêu chí “Tiêu chí đánh giá chất lượng sinh hoạt chi bộ (Hướng dẫn 42-HD/BTCTW)” "
        "(phiên bản 2, áp dụng từ tháng 10/2025). Đã chấm lại ngày 04/12/2026."  # the local day (01:30 on the 4th)
    )
    assert text_of(first, "score-framework") == (
        "Chấm điểm theo bộ tiêu chí “Tiêu chí đánh giá chất lượng sinh hoạt chi bộ (Hướng dẫn 42-HD/BTCTW)” "
        "(phiên bản 2, áp dụng từ tháng 10/2025)."
    )
    assert "chấm lại" not in said(first)
    assert SAID in said(page) and "lasted 95 min" not in said(page)


def test_the_page_names_the_framework_from_the_score_when_its_document_cannot_be_read() -> None:
    score = {"framework": {"id": "fw-x", "version": "2", "name": NAME}}
    assert framework_note(score, None) == f"Chấm điểm theo bộ tiêu chí “{NAME}” (phiên bản 2)."
    assert framework_note({"framework": {"id": "fw-x", "version": "2"}}, None) == (
        "Chấm điểm theo bộ tiêu chí “fw-x” (phiên bản 2)."  # a score from an evaluation older than `name`
    )
