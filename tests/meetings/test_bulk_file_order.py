"""A bulk load answers each line as the ingest path answers it at that line's place in the file (sent one at a time,
in file order): an event whose unit comes only later in the chunk (a cell after its members, a committee after its
cells or monitors, the fix of a refused unit resent under its id) is `held` at its line and released when the unit
comes, and its copies before that are `held` again, after it `duplicate`. The set-based step applied the whole chunk
at once and answered such an event `accepted` (or `rejected`, when the unit came as another kind) and its earlier
copies `duplicate`.

Lines refused on reading and lines of the other types are judged at their place (a run of staged events ends before
them): a broken copy under an event's id forgets its inbox row for the copies after it only, and a meeting before its
cell's line is held. Lines that name no event at all are judged after the run of staged events around them: their
rejections touch nothing another line reads, and are stored with the chunk's one `received_at` and a random
`rejection_id`, so they carry no order an operator or reader can see beyond their count, pinned here."""

import copy
import io
import json
import random
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.meetings.bulk.generate import generate_province
from services.meetings.bulk.load import BULK_TYPES, bulk_load
from tests.meetings.test_batch_equivalence import UowFactory, stored_state
from tests.meetings.test_bulk_copies import ZERO, as_lines, changed, load_both_ways, province
from tests.meetings.test_bulk_equivalence import TEMPLATE, load_one_by_one, materialize, outbox_facts


def unit(base: dict[str, Any], event_id: str, unit_id: str, **data: Any) -> dict[str, Any]:
    """A unit event made from `base` (a unit's), under `event_id`, for the unit `unit_id`."""
    other = copy.deepcopy(base)
    other["id"] = f"{TEMPLATE}{event_id}"
    other["data"].update(id=f"{TEMPLATE}{unit_id}", **data)
    return other


def member_of(base: dict[str, Any], event_id: str, cell_id: str) -> dict[str, Any]:
    """A new member event made from `base` (a member's), in the unit `cell_id`."""
    other = copy.deepcopy(base)
    other["id"] = f"{TEMPLATE}{event_id}"
    other["data"].update(id=f"{TEMPLATE}dv-{event_id}", cell_id=cell_id)
    return other


async def test_an_event_held_until_a_fix_later_in_the_chunk_and_its_copies_are_answered_as_one_at_a_time(
    meetings_pool: asyncpg.Pool, uow_factory: UowFactory, tmp_path: Path
) -> None:
    """A unit under a cell (refused), a member of it and a copy (held), the unit's fix under the refused id (releases
    the member), the member again (duplicate): the member and its earlier copy were counted accepted and duplicate."""
    events, e = province()
    committee = next(x for x in events if x["type"] == "org.unit.upserted.v1" and x["data"]["kind"] == "committee")
    under_cell = unit(e["cell"], "fix-u", "cb-under", parent_id=e["cell"]["data"]["id"])
    fixed = changed(under_cell, parent_id=committee["data"]["id"])
    member = member_of(e["member"], "m-under", under_cell["data"]["id"])
    lines = as_lines([*events, under_cell, member, member, fixed, member])
    _, outcomes = await load_both_ways([lines], meetings_pool, uow_factory, tmp_path)
    assert outcomes == [{"accepted": len(events) + 1, "duplicate": 1, "held": 2, "rejected": 1}]


async def test_events_before_their_unit_in_the_chunk_are_held_at_their_line_as_one_at_a_time(
    meetings_pool: asyncpg.Pool, uow_factory: UowFactory, tmp_path: Path
) -> None:
    """A member and a monitor before their new cell, a cell before its new committee: held at their lines (with a
    copy), released by the unit's line; a member before a unit that comes as a committee: held, then rejected on
    release, and its copy after it refused again as a new delivery."""
    events, e = province()
    committee = unit(e["cell"], "late-k", "uk-late", kind="committee", parent_id=None)
    cell = unit(e["cell"], "late-c", "cb-late", parent_id=committee["data"]["id"])
    member = member_of(e["member"], "m-late", cell["data"]["id"])
    monitor = copy.deepcopy(e["monitor"])
    monitor["id"] = f"{TEMPLATE}mon-late"
    monitor["data"].update(cell_id=cell["data"]["id"], committee_id=committee["data"]["id"])
    in_committee = member_of(e["member"], "m-in-k", f"{TEMPLATE}uk-other")
    other_committee = unit(e["cell"], "other-k", "uk-other", kind="committee", parent_id=None)
    lines = as_lines(
        [*events, member, monitor, cell, member, cell, committee, member]
        + [in_committee, in_committee, other_committee, in_committee]
    )
    _, outcomes = await load_both_ways([lines], meetings_pool, uow_factory, tmp_path)
    assert outcomes == [{"accepted": len(events) + 2, "duplicate": 1, "held": 7, "rejected": 1}]


async def test_an_event_held_before_the_load_is_held_again_only_until_its_unit_comes(
    meetings_pool: asyncpg.Pool, uow_factory: UowFactory, tmp_path: Path
) -> None:
    """A member held by an earlier load (its cell unknown) sent again before and after its cell: held, then
    duplicate (it was held again after its cell too)."""
    events, e = province()
    cell = unit(e["cell"], "late-c", "cb-late")
    member = member_of(e["member"], "m-late", cell["data"]["id"])
    _, outcomes = await load_both_ways(
        [as_lines([*events, member]), as_lines([member, cell, member])], meetings_pool, uow_factory, tmp_path
    )
    assert outcomes[1] == {"accepted": 1, "duplicate": 1, "held": 1, "rejected": 0}


async def test_lines_that_are_no_event_are_rejected_each_without_an_order_to_see(
    meetings_pool: asyncpg.Pool, uow_factory: UowFactory, tmp_path: Path, db: asyncpg.Connection
) -> None:
    """Unreadable lines among events, before and after a refused one: each answered `rejected` as one at a time; the
    rejections of one chunk share its `received_at` (the operator's list orders by it, then by a random id)."""
    events, e = province()
    bad = changed(member_of(e["member"], "m-bad", e["cell"]["data"]["id"]), status="nonsense")
    lines = ["{broken", *as_lines(events[:3]), "[1, 2]", as_lines([bad])[0], '"text"', *as_lines(events[3:])]
    bulk, outcomes = await load_both_ways([lines], meetings_pool, uow_factory, tmp_path)
    assert outcomes == [{"accepted": len(events), "duplicate": 0, "held": 0, "rejected": 4}]
    stamps = await db.fetch(
        "SELECT DISTINCT received_at FROM meetings.rejection WHERE route = 'bulk' AND received_at >="
        " (SELECT received_at FROM meetings.rejection WHERE event_id = $1)",
        bad["id"].replace(TEMPLATE, bulk),
    )
    assert len(stamps) == 1


async def test_lines_refused_on_reading_and_other_types_are_judged_at_their_place(
    meetings_pool: asyncpg.Pool, uow_factory: UowFactory, tmp_path: Path
) -> None:
    """A member, a broken copy under its id (refused on reading: its inbox row forgotten), the member again (a new
    delivery: accepted); a meeting scheduled in a cell that comes only after it (held, then released). The broken
    line was rejected before the chunk's events, and the meeting judged after them: duplicate, and accepted."""
    events, e = province()
    member = member_of(e["member"], "m-twice", e["cell"]["data"]["id"])
    broken = changed(member, status="nonsense")
    cell = unit(e["cell"], "late-c", "cb-late")
    scheduled = {
        **{key: e["member"][key] for key in ("specversion", "source", "time", "datacontenttype")},
        "id": f"{TEMPLATE}meeting-late",
        "type": "meeting.scheduled.v1",
        "data": {
            "meeting_id": f"{TEMPLATE}m-late",
            "cell_id": cell["data"]["id"],
            "kind": "regular",
            "starts_at": (datetime.fromisoformat(e["member"]["time"]) + timedelta(days=3)).isoformat(
                timespec="seconds"
            ),
            "location": "Hội trường thôn",
            "agenda": ["Sinh hoạt thường kỳ"],
        },
    }
    lines = as_lines([*events, member, broken, member, scheduled, cell])
    _, outcomes = await load_both_ways([lines], meetings_pool, uow_factory, tmp_path)
    assert outcomes == [{"accepted": len(events) + 3, "duplicate": 0, "held": 1, "rejected": 1}]


async def test_a_monitor_of_a_committee_not_above_the_cell_is_refused_in_bulk_as_one_at_a_time(
    meetings_pool: asyncpg.Pool, uow_factory: UowFactory, tmp_path: Path
) -> None:
    """An assignment naming a known committee that is not on the cell's path (domain.check_monitor_committee): the
    ingest path refuses it naming `data.committee_id`; the set-based step checked only the units' kinds and applied
    it."""
    events, e = province()
    elsewhere = unit(e["cell"], "other-k", "uk-elsewhere", kind="committee", parent_id=None)
    monitor = copy.deepcopy(e["monitor"])
    monitor["id"] = f"{TEMPLATE}mon-elsewhere"
    monitor["data"].update(committee_id=elsewhere["data"]["id"])
    _, outcomes = await load_both_ways([as_lines([*events, elsewhere, monitor])], meetings_pool, uow_factory, tmp_path)
    assert outcomes == [{"accepted": len(events) + 1, "duplicate": 0, "held": 0, "rejected": 1}]


@pytest.mark.parametrize(("seed", "chunk_size"), [(0, 0), (1, 0), (2, 0), (3, 17), (4, 17), (5, 40)])
async def test_a_shuffled_province_in_chunks_is_answered_as_one_at_a_time(
    meetings_pool: asyncpg.Pool, uow_factory: UowFactory, tmp_path: Path, seed: int, chunk_size: int
) -> None:
    """A province's units, members and assignments (with copies) in random order, a meeting's first lines among
    them, the rest of its history after, in one chunk or several (0: one): cells held before their committees,
    released mid-chunk or in a later chunk, their members accepted after that line and held before it."""
    out = io.StringIO()
    generate_province(out, cells=3, members=20, months=2, through="2026-10", prefix=TEMPLATE)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    rng = random.Random(seed)
    org = [line for line in lines if json.loads(line)["type"] in BULK_TYPES]
    history = [line for line in lines if json.loads(line)["type"] not in BULK_TYPES]
    org += [rng.choice(org) for _ in range(5)]
    rng.shuffle(org)
    middle = len(org) // 2
    template = org[:middle] + history[:3] + org[middle:] + history[3:] + ["{broken"]
    alone, bulk = (f"q{uuid.uuid4().hex[:10]}-" for _ in range(2))
    path = tmp_path / "shuffled.jsonl"
    path.write_text("\n".join(materialize(template, bulk)) + "\n", encoding="utf-8")
    expected = ZERO | await load_one_by_one(materialize(template, alone), uow_factory)
    report = await bulk_load(path, meetings_pool, chunk_size=chunk_size or len(template), progress=False)
    assert report.outcomes == expected
    assert expected["held"] > 0
    assert await stored_state(meetings_pool, bulk) == await stored_state(meetings_pool, alone)
    assert await outbox_facts(meetings_pool, bulk) == await outbox_facts(meetings_pool, alone)
