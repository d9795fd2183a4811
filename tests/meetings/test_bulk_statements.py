"""Issue 12: a bulk load's meetings (the types the set-based step leaves to the ingest path) are judged a group at a
time as a batch's transaction judges them, not event by event: a trial found `bulk-load` of a six-month province
half as fast as the same lines sent as 1,000-event batches (34.9 s against 17.2 s). Each meeting event was judged
alone in the chunk's transaction (its locks, inbox row and reads, and its attendance announcement, which sent the
queued writes first): about fourteen statements per roster, where a batch sends about 136 per 250 events."""

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from services.meetings.bootstrap import SERVICE_DIR
from services.meetings.bulk import load
from services.meetings.bulk.generate import generate_province
from services.meetings.unit_of_work import SCHEMA
from tests.meetings.test_batch_statements import CountingUnitOfWork
from tests.support.private_db import private_database


@pytest.fixture
async def private_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh database with the meetings schema migrated."""
    async with private_database(
        database_url, service="meetings", schema=SCHEMA, service_dir=SERVICE_DIR, max_size=2
    ) as pool:
        yield pool


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
    # step's own (staging, COPY, set-based writes) come once per chunk: 138 here, 4,822 event by event
    assert len(sent) <= 2 * 136, "\n".join(query[:100] for query in sent)
