"""A bulk load answers, stores and publishes what the same lines sent one at a time in file order do, for random
orders of a small history that mixes what a load must judge: members, assignments and units before the units they
need (held, released in the same run, a later run or a later load), units and members the stored state refuses
followed by their fixes under the same ids, another event under a used id, a line refused on reading under an
event's id, copies of any line, a meeting among them. Each seed cuts the shuffled lines into two loads and small
chunks, so that events held in an earlier run or load are released mid-run (applied, or refused on release).

Before h413, 14 of these 24 seeds disagreed with one at a time (answers, stored state, facts, the order of the
rejections published), among them a reused id's rejection closed by the fix accepted before it in the same
transaction. The set-based step now keeps only runs it answers exactly (load._load_staged); the
lines it cannot answer are judged on the ingest path at their places, the lines around them set-based."""

import copy
import json
import random
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.meetings.bulk import load
from tests.meetings.test_batch_equivalence import UowFactory, stored_state
from tests.meetings.test_bulk_copies import ZERO, as_lines, changed, province
from tests.meetings.test_bulk_equivalence import TEMPLATE, load_one_by_one, materialize, outbox_facts
from tests.meetings.test_bulk_file_order import member_of, unit

SEEDS = range(24)


def history() -> list[dict[str, Any]]:
    """A small province and the hard cases, in their natural order (each seed shuffles them)."""
    events, e = province()
    committee = next(x for x in events if x["type"] == "org.unit.upserted.v1" and x["data"]["kind"] == "committee")
    cell_id = e["cell"]["data"]["id"]
    under_cell = unit(e["cell"], "r-u", "cb-under", parent_id=cell_id)  # refused: its parent is a cell
    under_fixed = changed(under_cell, parent_id=committee["data"]["id"])  # its fix under the refused id
    of_under = member_of(e["member"], "r-m1", under_cell["data"]["id"])  # held until the fix
    in_committee = member_of(e["member"], "r-m2", committee["data"]["id"])  # refused: not a cell
    in_cell = changed(in_committee, cell_id=cell_id)  # its fix under the refused id
    late_cell = unit(e["cell"], "r-c", "cb-late")
    of_late = member_of(e["member"], "r-m3", late_cell["data"]["id"])  # held until the late cell
    monitor_late = copy.deepcopy(e["monitor"])
    monitor_late["id"] = f"{TEMPLATE}r-mon"
    monitor_late["data"].update(cell_id=late_cell["data"]["id"])
    reused = changed(of_late, full_name="Người khác")  # another event under a used id
    broken = changed(member_of(e["member"], "r-m4", cell_id), status="nonsense")  # refused on reading
    mended = changed(broken, status="official")  # its fix under that id
    scheduled = {
        **{key: e["member"][key] for key in ("specversion", "source", "time", "datacontenttype")},
        "id": f"{TEMPLATE}r-meeting",
        "type": "meeting.scheduled.v1",
        "data": {
            "meeting_id": f"{TEMPLATE}m-late",
            "cell_id": late_cell["data"]["id"],
            "kind": "regular",
            "starts_at": (datetime.fromisoformat(e["member"]["time"]) + timedelta(days=3)).isoformat(
                timespec="seconds"
            ),
            "location": "Hội trường thôn",
            "agenda": ["Sinh hoạt thường kỳ"],
        },
    }
    hard = [under_cell, under_fixed, of_under, in_committee, in_cell, late_cell, of_late, monitor_late, reused]
    return [*events, *hard, broken, mended, scheduled, e["orphan"]]


async def rejected_facts_in_order(pool: asyncpg.Pool, prefix: str) -> list[str]:
    """The run's ingest.rejected.v1 facts in the order published (id, times of publishing and arrival aside)."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT payload::text AS payload FROM outbox WHERE payload->>'type' = 'ingest.rejected.v1'"
            " AND payload::text LIKE $1 ORDER BY id",
            f"%{prefix}%",
        )
    facts = []
    for row in rows:
        payload = json.loads(row["payload"].replace(prefix, "P"))
        del payload["id"], payload["time"]  # given when published
        payload["data"].pop("received_at", None)
        payload["data"].pop("rejection_id", None)
        facts.append(json.dumps(payload, sort_keys=True, ensure_ascii=False))
    return facts


@pytest.mark.parametrize(("seed", "splits"), [*((seed, load.MAX_SPLITS) for seed in SEEDS), (2, 1), (6, 1)])
async def test_a_shuffled_history_with_refusals_and_fixes_is_loaded_as_one_at_a_time(
    meetings_pool: asyncpg.Pool,
    uow_factory: UowFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
    splits: int,
) -> None:
    """`splits`: how many runs a chunk may cut at a line the set-based step cannot answer before the rest of its
    staged events go to the ingest path (load.MAX_SPLITS; 1 reaches that rest in small chunks)."""
    monkeypatch.setattr(load, "MAX_SPLITS", splits)
    rng = random.Random(seed)
    lines = as_lines(history())
    lines += [rng.choice(lines) for _ in range(6)]  # copies of any line
    rng.shuffle(lines)
    lines.append("{broken")
    cut = rng.randrange(len(lines) // 3, 2 * len(lines) // 3)
    alone, bulk = (f"q{uuid.uuid4().hex[:10]}-" for _ in range(2))
    for number, template in enumerate([lines[:cut], lines[cut:]]):
        path = tmp_path / f"load-{number}.jsonl"
        path.write_text("\n".join(materialize(template, bulk)) + "\n", encoding="utf-8")
        expected = ZERO | await load_one_by_one(materialize(template, alone), uow_factory)
        chunk_size = rng.randrange(5, len(template) + 1)
        report = await load.bulk_load(path, meetings_pool, chunk_size=chunk_size, progress=False)
        assert report.outcomes == expected, number
        assert await stored_state(meetings_pool, bulk) == await stored_state(meetings_pool, alone), number
        assert await outbox_facts(meetings_pool, bulk) == await outbox_facts(meetings_pool, alone), number
        assert await rejected_facts_in_order(meetings_pool, bulk) == await rejected_facts_in_order(
            meetings_pool, alone
        ), number
