"""A copy of an event in a bulk load is answered as the ingest path answers it (CONTRACT.md: `source` and `id`
identify an event). The bulk loader kept no content digest in its inbox rows and counted every copy `duplicate`:
another event under an id already taken (a member renamed, a unit or an assignment changed, sent under the id of the
accepted one, in the same chunk or a later load) is refused naming `id` on the ingest path (ID_REUSED), and was
dropped silently in bulk; and a copy of an event held earlier in the same chunk (its cell never comes) is answered
`held` again on the ingest path, and was counted `duplicate` in bulk."""

import copy
import io
import json
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from services.meetings.bulk.generate import generate_province
from services.meetings.bulk.load import bulk_load
from services.meetings.handlers.ingest import read_raw
from shared.refusals import RefusalCode
from tests.meetings.test_batch_equivalence import UowFactory, stored_state
from tests.meetings.test_bulk_equivalence import TEMPLATE, load_one_by_one, materialize, outbox_facts

INBOX_SQL = "SELECT event_id, digest FROM meetings.processed_message WHERE event_id LIKE $1"
ZERO = {"accepted": 0, "duplicate": 0, "held": 0, "rejected": 0}


def changed(event: dict[str, Any], **data: Any) -> dict[str, Any]:
    """The event with other data under the same id."""
    other = copy.deepcopy(event)
    other["data"].update(data)
    return other


def province() -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """A small generated province's events, and a cell, a member, a monitor assignment of it and a member whose cell
    never comes (held), by name."""
    out = io.StringIO()
    generate_province(out, cells=2, members=6, prefix=TEMPLATE)
    events = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    member = next(e for e in events if e["type"] == "member.upserted.v1")
    orphan = copy.deepcopy(member)
    orphan["id"] = f"{TEMPLATE}orphan"
    orphan["data"].update(id=f"{TEMPLATE}dv-orphan", cell_id=f"{TEMPLATE}cb-nowhere")
    named = {
        "cell": next(e for e in events if e["type"] == "org.unit.upserted.v1" and e["data"]["kind"] == "cell"),
        "member": member,
        "monitor": next(e for e in events if e["type"] == "monitor.assigned.v1"),
        "orphan": orphan,
    }
    return events, named


def as_lines(events: list[dict[str, Any]]) -> list[str]:
    """The events as JSON lines."""
    return [json.dumps(event, ensure_ascii=False) for event in events]


async def load_both_ways(
    runs: list[list[str]], pool: asyncpg.Pool, uow_factory: UowFactory, tmp_path: Path
) -> tuple[str, list[dict[str, int]]]:
    """Each run's lines (one chunk) loaded in bulk and, under another prefix, sent one at a time through the ingest
    path; the same outcomes, state and facts asserted after each run. The bulk run's prefix and the outcomes."""
    alone, bulk = (f"q{uuid.uuid4().hex[:10]}-" for _ in range(2))
    outcomes = []
    for number, template in enumerate(runs):
        path = tmp_path / f"run-{number}.jsonl"
        path.write_text("\n".join(materialize(template, bulk)) + "\n", encoding="utf-8")
        expected = ZERO | await load_one_by_one(materialize(template, alone), uow_factory)
        report = await bulk_load(path, pool, chunk_size=len(template), progress=False)
        assert report.outcomes == expected, number
        assert await stored_state(pool, bulk) == await stored_state(pool, alone), number
        assert await outbox_facts(pool, bulk) == await outbox_facts(pool, alone), number
        outcomes.append(expected)
    return bulk, outcomes


async def test_another_event_under_a_used_id_is_refused_naming_id_in_bulk_as_on_the_ingest_path(
    meetings_pool: asyncpg.Pool, uow_factory: UowFactory, db: asyncpg.Connection, tmp_path: Path
) -> None:
    events, e = province()
    renamed = changed(e["member"], full_name="Tên khác")
    first = events + [
        renamed,  # another event under the id of one accepted earlier in the chunk
        e["member"],  # the accepted one again: duplicate
        e["orphan"],
        changed(e["orphan"], full_name="Tên khác"),  # another event under a held one's id
        changed(e["cell"], name="Chi bộ khác"),
        changed(e["monitor"], yearly_quota=5),
    ]
    second = [
        e["member"],
        renamed,
        e["orphan"],
        changed(e["cell"], name="Chi bộ mới"),
        changed(e["orphan"], full_name="Tên mới"),
    ]
    bulk, outcomes = await load_both_ways([as_lines(first), as_lines(second)], meetings_pool, uow_factory, tmp_path)
    assert outcomes == [
        {"accepted": len(events), "duplicate": 1, "held": 1, "rejected": 4},
        {"accepted": 0, "duplicate": 1, "held": 1, "rejected": 3},
    ]
    reused = await db.fetch(
        "SELECT field, refusal->>'code' AS code FROM meetings.rejection WHERE event_id LIKE $1", bulk + "%"
    )
    assert sorted((row["field"], row["code"]) for row in reused) == [("id", RefusalCode.ID_REUSED.value)] * 4
    expected: dict[str, bytes] = {}  # the inbox keeps each id's first event's content, as the ingest path keeps it
    for line in materialize(as_lines(first), bulk):
        reading = read_raw(line)
        expected.setdefault(reading.event_id, reading.digest)
    assert {row["event_id"]: row["digest"] for row in await db.fetch(INBOX_SQL, bulk + "%")} == expected


async def test_a_copy_of_an_event_held_in_the_same_chunk_is_held_in_bulk_as_on_the_ingest_path(
    meetings_pool: asyncpg.Pool, uow_factory: UowFactory, tmp_path: Path
) -> None:
    events, e = province()
    lines = as_lines([*events, e["orphan"], e["member"], e["orphan"], e["orphan"]])
    _, outcomes = await load_both_ways([lines, as_lines([e["orphan"]])], meetings_pool, uow_factory, tmp_path)
    assert outcomes == [
        {"accepted": len(events), "duplicate": 1, "held": 3, "rejected": 0},
        {"accepted": 0, "duplicate": 0, "held": 1, "rejected": 0},
    ]
