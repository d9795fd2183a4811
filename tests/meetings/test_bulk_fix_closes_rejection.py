"""h389 made an accepted fix resent under a rejected event's id close that rejection on the ingest route, but the bulk
loader (the path a year of history takes) applied the fix and left the rejection `open`: counted by
chibo_rejections_open and on the operator's list, and a replay of it judged the old body again. A fix loaded in bulk
closes it the same way (replayed, outcome `accepted`, in the chunk's transaction): the rejection made by reading
(a bad field) or by the stored state (a member placed under a committee), in an earlier load or earlier in the
same chunk; a fix the load holds leaves it open until applied. A fix later in the same chunk as the event the
stored state refuses was counted `duplicate` and dropped (the chunk's inbox insert had taken the refused event's id
for it); the ingest path, which lets a refused event's id in again, accepts and applies it."""

import base64
import json
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.meetings import handlers, queries
from services.meetings import rpc as meetings_rpc
from services.meetings.bootstrap import read_gauges
from services.meetings.bulk.load import bulk_load
from services.meetings.config import Settings
from services.meetings.context import meetings_context
from shared.contracts import meetings_rpc as contract
from shared.envelope import BATCH_CONTENT_TYPE
from shared.metrics import REJECTIONS_OPEN
from shared.refusals import RefusalCode
from shared.rpc import RpcError
from tests.meetings import events as ev
from tests.meetings.test_scoping import rpc_methods
from tests.support.ids import random_id


def write_lines(path: Path, raws: list[dict[str, Any]]) -> Path:
    """`raws` as a JSON-lines file at `path`."""
    path.write_text("".join(json.dumps(raw, ensure_ascii=False) + "\n" for raw in raws), encoding="utf-8")
    return path


async def load(pool: asyncpg.Pool, path: Path, raws: list[dict[str, Any]]) -> dict[str, int]:
    """Bulk load `raws` as one file; the report's outcomes."""
    write_lines(path, raws)
    return (await bulk_load(path, pool, chunk_size=20, progress=False)).outcomes


async def open_count(pool: asyncpg.Pool) -> float:
    """chibo_rejections_open as a scrape reads it."""
    async with pool.acquire() as conn:
        await read_gauges(conn)
    return float(REJECTIONS_OPEN._value.get())


@pytest.mark.parametrize(
    "refused", ["by_reading", "by_state", "in_the_same_chunk", "by_state_in_the_same_chunk", "held_then_applied"]
)
async def test_a_fix_loaded_in_bulk_closes_the_rejection_of_its_id(meetings_pool, tmp_path: Path, refused: str) -> None:  # type: ignore[no-untyped-def]
    cell, committee, member = random_id("cb"), random_id("uk"), random_id("dv")
    assert (await load(meetings_pool, tmp_path / "units.jsonl", [ev.unit(committee, kind="committee"), ev.unit(cell)]))[
        "accepted"
    ] == 2
    if refused in ("by_state", "by_state_in_the_same_chunk"):
        broken = ev.member(member, committee)  # a member under a committee: rejected by what is stored
    else:
        broken = ev.member(member, cell, status="nonsense")  # refused on reading
    held_cell = random_id("cb") if refused == "held_then_applied" else cell
    fixed = ev.member(member, held_cell, id=broken["id"])
    if refused in ("in_the_same_chunk", "by_state_in_the_same_chunk"):
        outcomes = await load(meetings_pool, tmp_path / "both.jsonl", [broken, fixed])
        assert (outcomes["rejected"], outcomes["accepted"], outcomes["duplicate"]) == (1, 1, 0)
    else:
        assert (await load(meetings_pool, tmp_path / "broken.jsonl", [broken]))["rejected"] == 1
        async with meetings_pool.acquire() as conn:
            status = await conn.fetchval(
                "SELECT status FROM rejection WHERE source = $1 AND event_id = $2", broken["source"], broken["id"]
            )
        assert status == "open"
        before = await open_count(meetings_pool)
        if refused == "held_then_applied":  # its cell unknown yet: held (the rejection stays open), then applied
            assert (await load(meetings_pool, tmp_path / "fixed.jsonl", [fixed]))["held"] == 1
            assert await open_count(meetings_pool) == before
            assert (await load(meetings_pool, tmp_path / "cell.jsonl", [ev.unit(held_cell)]))["accepted"] == 1
        else:
            assert (await load(meetings_pool, tmp_path / "fixed.jsonl", [fixed]))["accepted"] == 1
        assert await open_count(meetings_pool) == before - 1
    async with meetings_pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT rejection_id, status, replay_outcome FROM rejection WHERE source = $1 AND event_id = $2",
            broken["source"],
            broken["id"],
        )
        assert await conn.fetchval("SELECT cell_id FROM member WHERE id = $1", member) == held_cell
        listed = await queries.list_rejections(
            conn, type="member.upserted.v1", status="open", limit=500, offset=0, after=None
        )
    assert [(row["status"], row["replay_outcome"]) for row in rows] == [("replayed", "accepted")]
    assert rows[0]["rejection_id"] not in {item["rejection_id"] for item in listed["items"]}
    with pytest.raises(RpcError) as replayed:
        await rpc_methods(meetings_pool)["replay_rejection"](rejection_id=rows[0]["rejection_id"])
    refusal = replayed.value.refusal
    assert replayed.value.code == "conflict" and refusal is not None
    assert refusal.code is RefusalCode.ALREADY_REPLAYED and refusal.outcome == "accepted"


@pytest.mark.parametrize("batch", [False, True])
async def test_a_fix_posted_as_a_body_closes_the_rejection_of_its_id(meetings_pool, batch: bool) -> None:  # type: ignore[no-untyped-def]
    """The gateway's POST /v1/events (meetings' ingest_body, the chibo.ingest reading) closes it too, one event or a
    batch: the other accept paths share the inbox insert that notes the open rejection."""
    app = meetings_context(Settings(), meetings_pool)
    cell, member = random_id("cb"), random_id("dv")

    async def post(raw: dict[str, Any]) -> str:
        body = json.dumps([raw] if batch else raw, ensure_ascii=False).encode()
        content_type = BATCH_CONTENT_TYPE if batch else "application/cloudevents+json"
        request = contract.IngestBody(body_base64=base64.b64encode(body).decode(), content_type=content_type)
        results = (await meetings_rpc.ingest_body(request, app))["results"]
        return str(results[0]["outcome"])

    assert await post(ev.unit(cell)) == "accepted"
    broken = ev.member(member, cell, status="nonsense")
    assert await post(broken) == "rejected"
    before = await open_count(meetings_pool)
    assert await post(ev.member(member, cell, id=broken["id"])) == "accepted"
    assert await open_count(meetings_pool) == before - 1
    async with meetings_pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT status, replay_outcome FROM rejection WHERE source = $1 AND event_id = $2",
            broken["source"],
            broken["id"],
        )
    assert row is not None and (row["status"], row["replay_outcome"]) == ("replayed", "accepted")


@pytest.mark.parametrize("how", ["batch", "bulk"])
async def test_another_event_under_the_id_after_its_fix_opens_the_rejection_again(  # type: ignore[no-untyped-def]
    meetings_pool, uow_factory, tmp_path: Path, how: str
) -> None:
    """A member under a committee (rejected), then in one transaction its fix under that id (accepted: the rejection
    closed) and another event under the id (refused naming `id`: the closed rejection opened again, as one at a time).
    The closing was queued to the commit, after the refusal had found the rejection still open: it closed that too."""
    cell, committee, member = random_id("cb"), random_id("uk"), random_id("dv")
    units = [ev.unit(committee, kind="committee"), ev.unit(cell)]
    broken = ev.member(member, committee)
    fixed = ev.member(member, cell, id=broken["id"])
    other = ev.member(member, cell, id=broken["id"], role="secretary")
    lines = [json.dumps(raw, ensure_ascii=False) for raw in (*units, broken)]
    assert [r.outcome for r in await handlers.ingest_batch(lines, uow_factory, route="batch")][-1] == "rejected"
    if how == "batch":
        lines = [json.dumps(raw, ensure_ascii=False) for raw in (fixed, other)]
        outcomes = [r.outcome for r in await handlers.ingest_batch(lines, uow_factory, route="batch")]
        assert outcomes == ["accepted", "rejected"]
    else:
        outcomes_bulk = await load(meetings_pool, tmp_path / "fixed.jsonl", [fixed, other])
        assert (outcomes_bulk["accepted"], outcomes_bulk["rejected"]) == (1, 1)
    async with meetings_pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT status, field FROM rejection WHERE source = $1 AND event_id = $2", broken["source"], broken["id"]
        )
    assert row is not None and (row["status"], row["field"]) == ("open", "id")
