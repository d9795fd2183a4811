"""Issue 12: `bulk-load` leaves exactly what the same lines leave sent one at a time through the ingest path.

A small generated province with what a load must judge mixed in: lines that are no event, a key given twice, a
value the contract refuses, a unit under a cell, a unit changing kind, a member in a committee, a monitor of a
committee, a member of a cell that never comes (held), copies, an older snapshot after the newer one, a type the bulk
step leaves to the ingest path. Against the real database: outcomes, the state tables, the inbox, holds and
rejections, and the facts written to the outbox (every attribute but the new id), first load and a second load of
the same file."""

import copy
import io
import json
import uuid
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from services.meetings import handlers
from services.meetings.bulk.generate import generate_province
from services.meetings.bulk.load import ROUTE, bulk_load
from tests.meetings.test_batch_equivalence import UowFactory, stored_state

TEMPLATE = "PFX-"


def province_lines() -> list[str]:
    """A generated province's lines (ids starting with TEMPLATE), with the hard cases mixed in."""
    out = io.StringIO()
    generate_province(out, cells=6, members=60, prefix=TEMPLATE)
    events = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    committee = next(e for e in events if e["type"] == "org.unit.upserted.v1" and e["data"]["kind"] == "committee")
    cell = next(e for e in events if e["type"] == "org.unit.upserted.v1" and e["data"]["kind"] == "cell")
    member = next(e for e in events if e["type"] == "member.upserted.v1")
    monitor = next(e for e in events if e["type"] == "monitor.assigned.v1")

    def variant(event: dict[str, Any], suffix: str, **data: Any) -> dict[str, Any]:
        changed = copy.deepcopy(event)
        changed["id"] = f"{event['id']}-{suffix}"
        changed["data"].update(data)
        return changed

    in_committee = variant(member, "in-committee", id=f"{TEMPLATE}dv-x1", cell_id=committee["data"]["id"])
    bad_status = variant(member, "bad-status", id=f"{TEMPLATE}dv-x2", status="chairman")
    orphan = variant(member, "orphan", id=f"{TEMPLATE}dv-x3", cell_id=f"{TEMPLATE}cb-nowhere")
    under_cell = variant(cell, "under-cell", id=f"{TEMPLATE}cb-under", parent_id=cell["data"]["id"])
    as_committee = variant(cell, "as-committee", kind="committee")  # a unit never changes kind
    as_committee["time"] = (datetime.fromisoformat(cell["time"]) + timedelta(seconds=2)).isoformat()
    as_cell = variant(committee, "as-cell", kind="cell")
    of_committee = variant(monitor, "of-committee", cell_id=committee["data"]["id"])
    older = variant(member, "older", full_name="Tên cũ")
    older["time"] = (datetime.fromisoformat(member["time"]) - timedelta(days=30)).isoformat()
    newer_unit = variant(cell, "newer", name="Chi bộ đổi tên")
    newer_unit["time"] = (datetime.fromisoformat(cell["time"]) + timedelta(seconds=1)).isoformat()
    scheduled = {
        **{key: member[key] for key in ("specversion", "source", "time", "datacontenttype")},
        "id": f"{TEMPLATE}meeting-1",
        "type": "meeting.scheduled.v1",
        "data": {
            "meeting_id": f"{TEMPLATE}m1",
            "cell_id": cell["data"]["id"],
            "kind": "regular",
            "starts_at": (datetime.fromisoformat(member["time"]) + timedelta(days=3)).isoformat(timespec="seconds"),
            "location": "Hội trường thôn",
            "agenda": ["Sinh hoạt thường kỳ"],
        },
    }
    lines = [json.dumps(event, ensure_ascii=False, separators=(",", ":")) for event in events]
    extra = [
        json.dumps(event, ensure_ascii=False)  # the default separators: not the generator's compact form
        for event in (
            *(in_committee, bad_status, orphan, under_cell, as_committee, as_cell),
            *(of_committee, older, newer_unit, scheduled),
        )
    ]
    twice = json.dumps(variant(member, "twice", id=f"{TEMPLATE}dv-x4"), ensure_ascii=False)
    twice = twice.replace('"status": ', '"status": "official", "status": ', 1)  # a key given twice
    middle = len(lines) // 2
    return (
        lines[:middle]
        + ["{broken", twice, lines[3]]  # a copy of an earlier line
        + lines[middle:]
        + extra
        + ["", "[1, 2]", lines[-1]]
    )


def materialize(lines: list[str], prefix: str) -> list[str]:
    """The lines with every id under the run's own prefix."""
    return [line.replace(TEMPLATE, prefix) for line in lines]


async def outbox_facts(pool: asyncpg.Pool, prefix: str) -> list[str]:
    """The republished facts of the run, every attribute but the id they were given, sorted."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT payload::text AS payload FROM outbox WHERE payload->>'originid' LIKE $1", prefix + "%"
        )
    facts = []
    for row in rows:
        payload = json.loads(row["payload"].replace(prefix, "P"))
        del payload["id"]
        facts.append(json.dumps(payload, sort_keys=True, ensure_ascii=False))
    return sorted(facts)


async def load_one_by_one(lines: list[str], uow_factory: UowFactory) -> Counter[str]:
    """The reference: each line judged alone by the ingest path, as the bulk route names it."""
    outcomes: Counter[str] = Counter()
    for line in lines:
        if not line.strip():
            continue
        (result,) = await handlers.ingest_batch([line], uow_factory, route=ROUTE)
        outcomes[result.outcome] += 1
    return outcomes


async def test_a_bulk_load_ends_as_the_same_lines_sent_one_at_a_time(
    meetings_pool: asyncpg.Pool, uow_factory: UowFactory, tmp_path: Path
) -> None:
    template = province_lines()
    alone, bulk = (f"q{uuid.uuid4().hex[:10]}-" for _ in range(2))
    path = tmp_path / "province.jsonl"
    path.write_text("\n".join(materialize(template, bulk)) + "\n", encoding="utf-8")
    zero = {"accepted": 0, "duplicate": 0, "held": 0, "rejected": 0}

    for run in ("first", "again"):
        expected = zero | await load_one_by_one(materialize(template, alone), uow_factory)
        report = await bulk_load(path, meetings_pool, chunk_size=40, progress=False)
        assert report.outcomes == expected, run
        if run == "first":
            assert expected == {"accepted": 82, "duplicate": 2, "held": 1, "rejected": 9}
        else:  # the held event sent again is still held (trial 43: it was a duplicate)
            assert expected == {"accepted": 0, "duplicate": 84, "held": 1, "rejected": 9}
        reference = await stored_state(meetings_pool, alone)
        assert reference["rejection"] and reference["held_event"] and reference["meeting"]
        assert await stored_state(meetings_pool, bulk) == reference, run
        assert await outbox_facts(meetings_pool, bulk) == await outbox_facts(meetings_pool, alone), run


def fixes_in_chunk_lines() -> list[str]:
    """A small generated province, then events the stored state refuses each followed later in the same chunk by its
    fix under the same id: a member placed in a committee, and a unit under a cell with a member of that unit after
    its fix (held until the fix is applied, as one at a time)."""
    out = io.StringIO()
    generate_province(out, cells=2, members=6, prefix=TEMPLATE)
    events = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    committee = next(e for e in events if e["type"] == "org.unit.upserted.v1" and e["data"]["kind"] == "committee")
    cell = next(e for e in events if e["type"] == "org.unit.upserted.v1" and e["data"]["kind"] == "cell")
    member = next(e for e in events if e["type"] == "member.upserted.v1")

    def variant(event: dict[str, Any], event_id: str, **data: Any) -> dict[str, Any]:
        changed = copy.deepcopy(event)
        changed["id"] = event_id
        changed["data"].update(data)
        return changed

    in_committee = variant(member, f"{TEMPLATE}fix-1", id=f"{TEMPLATE}dv-x1", cell_id=committee["data"]["id"])
    in_cell = variant(in_committee, in_committee["id"], cell_id=cell["data"]["id"])
    under_cell = variant(cell, f"{TEMPLATE}fix-2", id=f"{TEMPLATE}cb-under", parent_id=cell["data"]["id"])
    under_committee = variant(under_cell, under_cell["id"], parent_id=committee["data"]["id"])
    of_fixed_unit = variant(member, f"{TEMPLATE}fix-3", id=f"{TEMPLATE}dv-x2", cell_id=under_cell["data"]["id"])
    fixes = [in_committee, under_cell, member, in_cell, under_committee, of_fixed_unit]
    return [json.dumps(event, ensure_ascii=False) for event in events + fixes]


async def test_fixes_later_in_a_chunk_end_as_the_same_lines_sent_one_at_a_time(
    meetings_pool: asyncpg.Pool, uow_factory: UowFactory, tmp_path: Path
) -> None:
    """A fix later in the same chunk as the event the stored state refuses was counted `duplicate` and dropped, and
    the member of the fixed unit held: one at a time, the refused event's id is let in again and the fix applied."""
    template = fixes_in_chunk_lines()
    alone, bulk = (f"q{uuid.uuid4().hex[:10]}-" for _ in range(2))
    path = tmp_path / "fixes.jsonl"
    path.write_text("\n".join(materialize(template, bulk)) + "\n", encoding="utf-8")
    expected = await load_one_by_one(materialize(template, alone), uow_factory)
    assert expected == {"accepted": len(template) - 3, "duplicate": 1, "rejected": 2}  # the member's line twice
    report = await bulk_load(path, meetings_pool, chunk_size=len(template), progress=False)
    assert report.outcomes == {"held": 0, **expected}
    reference = await stored_state(meetings_pool, alone)
    assert [json.loads(line)["status"] for line in reference["rejection"]] == ["replayed", "replayed"]
    assert await stored_state(meetings_pool, bulk) == reference
    assert await outbox_facts(meetings_pool, bulk) == await outbox_facts(meetings_pool, alone)
