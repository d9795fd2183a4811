"""Issue 12: a bulk load's meetings (the types the set-based step leaves to the ingest path) are judged a group at a
time as a batch's transaction judges them, not event by event: a trial found `bulk-load` of a six-month province
half as fast as the same lines sent as 1,000-event batches (34.9 s against 17.2 s). Each meeting event was judged
alone in the chunk's transaction (its locks, inbox row and reads, and its attendance announcement, which sent the
queued writes first): about fourteen statements per roster, where a batch sends about 136 per 250 events."""

import io
import json
import uuid
from pathlib import Path

import asyncpg
import pytest

from services.meetings.bulk import load
from services.meetings.bulk.generate import generate_province
from tests.meetings.test_batch_equivalence import UowFactory
from tests.meetings.test_batch_statements import CountingUnitOfWork
from tests.meetings.test_bulk_equivalence import TEMPLATE, load_one_by_one, materialize


async def test_a_bulk_loaded_year_of_meetings_sends_statements_per_group_not_per_event(
    private_pool: asyncpg.Pool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "province.jsonl"
    with path.open("w", encoding="utf-8") as out:  # the batch statement test's province: 1,000 events, 8 cells' year
        generate_province(out, cells=8, members=136, months=12, through="2026-10")
    lines = path.read_text(encoding="utf-8").splitlines()[:1000]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sent: list[str] = []
    monkeypatch.setattr(load, "MeetingsUnitOfWork", lambda pool: CountingUnitOfWork(pool, sent))

    report = await load.bulk_load(path, private_pool, progress=False)

    assert report.outcomes == {"accepted": 1000, "duplicate": 0, "held": 0, "rejected": 0}
    rosters = sum('"type":"attendance.recorded.v1"' in line for line in lines)
    assert rosters > 50
    assert sent.count("COMMIT;") == 1  # one chunk, one transaction
    # a batch of these 1,000 lines sends at most 136 statements per 250 events (test_batch_statements); the bulk
    # step's own (staging, COPY, set-based writes, the savepoint around the run) come once per chunk: 140 here, 4,822
    # event by event
    assert len(sent) <= 2 * 136, "\n".join(query[:100] for query in sent)


async def last_announcements(pool: asyncpg.Pool, prefix: str) -> tuple[int, dict[str, dict[str, object]]]:
    """How many attendance announcements the run's members got, and each member's last figures (sequence, meeting
    and ids aside)."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT payload->'data' AS data FROM outbox WHERE payload->>'type' = 'member.attendance.updated.v1'"
            " AND payload->'data'->>'member_id' LIKE $1 ORDER BY id",
            prefix + "%",
        )
    last: dict[str, dict[str, object]] = {}
    for row in rows:
        data = json.loads(row["data"])
        last[data["member_id"].removeprefix(prefix)] = {
            key: value for key, value in data.items() if key not in ("sequence", "meeting_id", "member_id")
        } | {"cell_id": data["cell_id"].removeprefix(prefix)}
    return len(rows), last


async def test_a_bulk_load_announces_the_attendance_figures_the_lines_sent_one_at_a_time_end_with(
    meetings_pool: asyncpg.Pool, uow_factory: UowFactory, tmp_path: Path
) -> None:
    out = io.StringIO()
    generate_province(out, cells=3, members=30, months=4, through="2026-10", prefix=TEMPLATE)
    template = [line for line in out.getvalue().splitlines() if line.strip()]
    alone, bulk = (f"q{uuid.uuid4().hex[:10]}-" for _ in range(2))
    path = tmp_path / "province.jsonl"
    path.write_text("\n".join(materialize(template, bulk)) + "\n", encoding="utf-8")

    expected = await load_one_by_one(materialize(template, alone), uow_factory)
    report = await load.bulk_load(path, meetings_pool, progress=False)

    assert report.outcomes["accepted"] == expected["accepted"] == len(template)
    announced_alone, last_alone = await last_announcements(meetings_pool, alone)
    announced_bulk, last_bulk = await last_announcements(meetings_pool, bulk)
    # every member's last figures as when each line came alone; a member whose figures went back to zeros within a
    # group is not announced, as a member never announced counts at zeros (the same to every consumer)
    assert last_bulk and all(last_alone[member] == figures for member, figures in last_bulk.items())
    back_to_zeros = {member: last_alone[member] for member in set(last_alone) - set(last_bulk)}
    counters = ("consecutive_absences", "consecutive_excused_absences", "unexcused_months_last_year")
    assert all(figures[name] == 0 for figures in back_to_zeros.values() for name in counters), back_to_zeros
    assert announced_bulk < announced_alone  # once per group, not after every roster
