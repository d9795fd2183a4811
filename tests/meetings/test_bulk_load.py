"""The bulk path on a small generated province: same validation, set-based apply, outbox, holds, duplicates."""

import json
import subprocess
import sys
from pathlib import Path

import asyncpg

from services.meetings.bulk.generate import generate_province
from services.meetings.bulk.load import bulk_load
from tests.support.ids import random_id


def province(path: Path, prefix: str, *, cells: int = 40, members: int = 700) -> list[str]:
    """Generate a province file and return its lines."""
    with path.open("w", encoding="utf-8") as out:
        generate_province(out, cells=cells, members=members, prefix=prefix)
    return path.read_text(encoding="utf-8").splitlines()


async def counts(db: asyncpg.Connection, prefix: str) -> dict[str, int]:
    """Rows the load wrote for this prefix."""
    like = prefix + "%"
    return {
        "cells": await db.fetchval("SELECT count(*) FROM meetings.org_unit WHERE id LIKE $1 AND kind = 'cell'", like),
        "members": await db.fetchval("SELECT count(*) FROM meetings.member WHERE id LIKE $1", like),
        "monitors": await db.fetchval("SELECT count(*) FROM meetings.monitor_assignment WHERE cell_id LIKE $1", like),
        "outbox": await db.fetchval("SELECT count(*) FROM meetings.outbox WHERE payload->>'originid' LIKE $1", like),
        "held": await db.fetchval("SELECT count(*) FROM meetings.held_event WHERE event_id LIKE $1", like),
    }


async def test_loads_a_province_and_reloading_it_changes_nothing(meetings_pool, db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prefix = random_id("bulk") + "-"
    lines = province(tmp_path / "province.jsonl", prefix)
    report = await bulk_load(tmp_path / "province.jsonl", meetings_pool, chunk_size=250, progress=False)
    assert report.events == len(lines) and report.outcomes["accepted"] == len(lines) and report.peak_rss_mb > 0
    assert await counts(db, prefix) == {"cells": 40, "members": 700, "monitors": 40, "outbox": len(lines), "held": 0}
    secretaries = await db.fetchval(
        "SELECT count(*) FROM meetings.member WHERE id LIKE $1 AND role = 'secretary'", prefix + "%"
    )
    assert secretaries == 40
    probation = await db.fetchval(
        "SELECT count(*) FROM meetings.member WHERE id LIKE $1 AND status = 'probationary'"
        " AND probation_ends_on = admitted_on + interval '1 year'",
        prefix + "%",
    )
    assert probation == await db.fetchval(
        "SELECT count(*) FROM meetings.member WHERE id LIKE $1 AND status = 'probationary'", prefix + "%"
    )
    again = await bulk_load(tmp_path / "province.jsonl", meetings_pool, chunk_size=1000, progress=False)
    assert again.outcomes["duplicate"] == len(lines)
    assert (await counts(db, prefix))["outbox"] == len(lines)


async def test_members_before_their_cells_wait_and_bad_lines_are_rejected(meetings_pool, db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prefix = random_id("bulk") + "-"
    lines = province(tmp_path / "province.jsonl", prefix, cells=6, members=60)
    committee = json.loads(lines[1])["data"]["id"]
    bad_member = json.loads(lines[-1]) | {"id": prefix + "bad-1", "type": "member.upserted.v1"}
    bad_member["data"] = {"id": prefix + "dvX", "full_name": "Lê Văn Sai", "cell_id": committee, "status": "official"}
    shuffled = list(reversed(lines)) + ["{broken", json.dumps(bad_member, ensure_ascii=False)]
    path = tmp_path / "reversed.jsonl"
    path.write_text("\n".join(shuffled) + "\n", encoding="utf-8")
    report = await bulk_load(path, meetings_pool, chunk_size=20, progress=False)
    assert report.outcomes["rejected"] == 2 and report.outcomes["held"] > 0
    loaded = await counts(db, prefix)
    assert (loaded["cells"], loaded["members"], loaded["monitors"], loaded["held"]) == (6, 60, 6, 0)
    reason = await db.fetchval("SELECT field FROM meetings.rejection WHERE event_id = $1", prefix + "bad-1")
    assert reason == "data.cell_id"


def test_the_commands_generate_and_load_a_province(database_url: str, tmp_path: Path) -> None:
    out = tmp_path / "cli.jsonl"
    env = {"CHIBO_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}
    generated = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.meetings",
            "generate-province",
            "--cells",
            "5",
            "--members",
            "40",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    assert json.loads(generated.stdout)["events"] == len(out.read_text(encoding="utf-8").splitlines())
    loaded = subprocess.run(
        [sys.executable, "-m", "services.meetings", "bulk-load", str(out)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    summary = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert summary["events"] > 0 and {"elapsed_seconds", "events_per_second", "peak_rss_mb"} <= set(summary)
