"""The generator's year of meetings is a history the system takes whole: a cell whose two always-present members
(its secretary and deputy) are both exempt, or whose only member is, recorded meetings with nobody present, so the
minutes carried a resolution voted 0 for, 0 against, 0 abstaining (refused, RESOLUTION_NOT_VOTED), an adoption with
no votes (refused, MINUTES_NOT_ADOPTED) and the next meeting's task completions held for tasks never stored. Such a
meeting now has its secretary present (an exempt member may attend), every other meeting is generated as before."""

import io
import json
from pathlib import Path
from typing import Any

import asyncpg

from services.meetings.bulk.generate import generate_province
from services.meetings.bulk.load import bulk_load
from tests.support.ids import random_id

SMALL: dict[str, Any] = {"cells": 25, "members": 50, "months": 2, "through": "2026-10"}
"""A modest province with the default seed in which a cell's only members are exempt."""


def events(prefix: str = "gz-", **size: Any) -> list[dict[str, Any]]:
    """The generated province's events."""
    out = io.StringIO()
    generate_province(out, prefix=prefix, **size)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_every_generated_meeting_has_someone_present_to_chair_and_vote() -> None:
    sizes: list[dict[str, Any]] = [SMALL, {"cells": 40, "members": 40, "months": 3, "through": "2026-10"}]
    for size in sizes:
        generated = events(**size)
        present = {
            e["data"]["meeting_id"]: {r["member_id"] for r in e["data"]["records"] if r["status"] == "present"}
            for e in generated
            if e["type"] == "attendance.recorded.v1"
        }
        minutes = [e["data"] for e in generated if e["type"] == "minutes.submitted.v1"]
        assert minutes and all(present[m["meeting_id"]] for m in minutes)
        for m in minutes:
            assert {m["chair_id"], m["recorder_id"]} <= present[m["meeting_id"]], m["meeting_id"]
            assert all(r["votes_for"] == len(present[m["meeting_id"]]) for r in m["resolutions"]), m["meeting_id"]
        approvals = [e["data"] for e in generated if e["type"] == "minutes.approved.v1"]
        assert approvals and all(a["votes_for"] > 0 for a in approvals)


async def test_a_generated_province_loads_without_a_rejection_or_a_hold(
    meetings_pool: asyncpg.Pool, db: asyncpg.Connection, tmp_path: Path
) -> None:
    prefix = random_id("gh") + "-"
    path = tmp_path / "province.jsonl"
    generated = events(prefix, **SMALL)
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in generated), encoding="utf-8")
    report = await bulk_load(path, meetings_pool, chunk_size=len(generated), progress=False)
    assert report.outcomes == {"accepted": len(generated), "duplicate": 0, "held": 0, "rejected": 0}
    assert await db.fetchval("SELECT count(*) FROM meetings.rejection WHERE event_id LIKE $1", prefix + "%") == 0
