"""Two large HTTP batches at once on a slowed meetings, through the real gateway, meetings, broker and database: each
is answered within CHIBO_INGEST_TIMEOUT by a 503 that lists the outcomes of the events judged and stored (`judged`,
`accepted`) and the events meetings could not judge before the call's deadline (`not_judged`, nothing stored), never a
bare 503 for events that were stored nor a fifth outcome in a 200 (CONTRACT.md lists four); sent again, the stored
ones are `duplicate` and the rest taken, a 200. Meetings is slowed by a test connection holding the lock of one cell
of each batch (as another transaction about that cell would), so a part of each batch waits past the deadline."""

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from services.meetings.domain import unit_key
from shared.periods import VIETNAM_TZ
from tests.e2e.test_walking_skeleton import cloudevent
from tests.support.env import fresh_database
from tests.support.ids import random_id
from tests.support.system import RunningSystem, issue_token, running_system

pytestmark = pytest.mark.e2e

INGEST_TIMEOUT = 20
"""The gateway's CHIBO_INGEST_TIMEOUT here (meetings answers by 16 s): what the locked cells' events wait past; the
free cell's 250 events took 1.5-3.5 s at load 15."""
FREE, LOCKED = 250, 150
"""Events of each batch about a free cell (one transaction) and about the cell whose lock the test holds."""
BATCH = "application/cloudevents-batch+json"


@pytest.fixture(scope="module")
def system(amqp_url: str, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    """The four services with a short ingest timeout."""
    with (
        fresh_database(database_url) as own_database,
        running_system(
            amqp_url=amqp_url,
            database_url=own_database,
            workdir=tmp_path_factory.mktemp("system"),
            extra_env={"CHIBO_INGEST_TIMEOUT": str(INGEST_TIMEOUT)},
        ) as s,
    ):
        yield s


def members(cell: str, count: int, at: datetime) -> list[dict[str, Any]]:
    """`count` new members of `cell`."""
    return [
        cloudevent(
            "member.upserted.v1",
            {"id": random_id("mem"), "full_name": f"Đảng viên {n}", "cell_id": cell, "status": "official"},
            at=at,
        )
        for n in range(count)
    ]


async def waiting_on(conn: asyncpg.Connection, holder: int) -> int:
    """How many backends wait for a lock the backend `holder` holds."""
    return int(
        await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", holder)
    )


async def test_two_large_batches_on_a_slowed_meetings_are_503s_saying_which_events_were_judged(
    system: RunningSystem,
) -> None:
    at = datetime.now(VIETNAM_TZ) - timedelta(days=30)
    committee = random_id("ward")
    free_cells, locked_cells = [random_id("cell") for _ in range(2)], [random_id("cell") for _ in range(2)]
    units = [
        cloudevent(
            "org.unit.upserted.v1",
            {"id": committee, "name": "Đảng ủy xã", "kind": "committee", "parent_id": None},
            at=at,
        )
    ]
    units += [
        cloudevent(
            "org.unit.upserted.v1",
            {"id": cell, "name": f"Chi bộ {cell[-4:]}", "kind": "cell", "parent_id": committee},
            at=at,
        )
        for cell in free_cells + locked_cells
    ]
    token = issue_token(system, role="integration", unit=None, sub=random_id("integration"), province_wide=True)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": BATCH}
    batches = [
        members(free, FREE, at) + members(locked, LOCKED, at)
        for free, locked in zip(free_cells, locked_cells, strict=True)
    ]
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=INGEST_TIMEOUT * 4, headers=headers) as client:
        answer = await client.post("/v1/events", json=units)
        assert [r["outcome"] for r in answer.json()["results"]] == ["accepted"] * len(units), answer.text
        conn = await asyncpg.connect(system.env["CHIBO_DATABASE_URL"])
        try:
            holder = await conn.fetchval("SELECT pg_backend_pid()")
            for cell in locked_cells:  # as a long transaction about these cells would
                await conn.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", unit_key(cell))
            sending = [asyncio.create_task(client.post("/v1/events", json=batch)) for batch in batches]
            answers = await asyncio.gather(*sending)
            blocked = await waiting_on(conn, holder)
        finally:
            await conn.close()  # the locks go with the session
        for batch, answer in zip(batches, answers, strict=True):
            assert answer.status_code == 503, answer.text  # before: a bare 503 "the meetings service did not answer"
            assert answer.headers["Retry-After"], answer.headers
            body = answer.json()
            assert (body["code"], body["service"]) == ("unavailable", "meetings"), body
            assert [(r["index"], r["id"]) for r in body["judged"]] == [(i, e["id"]) for i, e in enumerate(batch[:FREE])]
            assert [r["outcome"] for r in body["judged"]] == ["accepted"] * FREE, body["judged"]
            assert [(r["index"], r["id"]) for r in body["not_judged"]] == [
                (FREE + i, e["id"]) for i, e in enumerate(batch[FREE:])
            ]
            assert body["counts"] == {"accepted": FREE, "duplicate": 0, "held": 0, "rejected": 0, "not_judged": LOCKED}
            assert f"judged {FREE} of the {FREE + LOCKED} events" in body["message"], body["message"]
            assert "again is safe" in body["message"], body["message"]
        assert blocked == 0  # nothing of the answered batches still waits for the locks
        # sent again once meetings is free: the stored ones are duplicates, the others taken now
        again = await asyncio.gather(*(client.post("/v1/events", json=batch) for batch in batches))
        for answer in again:
            assert answer.status_code == 200, answer.text
            outcomes = [r["outcome"] for r in answer.json()["results"]]
            assert outcomes == ["duplicate"] * FREE + ["accepted"] * LOCKED, answer.text
            assert (answer.json()["duplicate"], answer.json()["accepted"]) == (FREE, LOCKED)
            assert "not_judged" not in answer.json()
