"""Property: any order and duplication of a history's events converges to the in-order, once-only state."""

import asyncio
import json
import uuid
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.meetings import handlers
from services.meetings.bootstrap import SERVICE_DIR
from services.meetings.unit_of_work import SCHEMA, MeetingsUnitOfWork
from shared.db import apply_migrations, create_pool, migration_files
from tests.meetings.fakes import FakeStore
from tests.meetings.history import HistoryPlan, history_plans, materialize

# (table, column holding an id that starts with the run's prefix)
STATE_TABLES = [
    ("org_unit", "id"),
    ("member", "id"),
    ("member_version", "member_id"),
    ("monitor_assignment", "cell_id"),
    ("meeting", "meeting_id"),
    ("roster", "meeting_id"),
    ("attendance", "meeting_id"),
    ("minutes", "meeting_id"),
    ("task", "meeting_id"),
    ("task_completion", "meeting_id"),
    ("document", "meeting_id"),
    ("assessment", "meeting_id"),
    ("held_event", "event_id"),
    ("rejection", "event_id"),
]


async def deliver(pool: asyncpg.Pool, raws: list[dict[str, Any]]) -> list[str]:
    """Ingest each event in its own unit of work; return the outcomes."""
    outcomes = []
    for raw in raws:
        async with MeetingsUnitOfWork(pool) as uow:
            outcomes.append((await handlers.ingest_event(raw, uow, route="test")).outcome)
            await uow.commit()
    return outcomes


async def stored_state(pool: asyncpg.Pool, prefix: str) -> dict[str, list[str]]:
    """Every row a run wrote, with its prefix replaced, as sorted JSON lines per table."""
    state: dict[str, list[str]] = {}
    async with pool.acquire() as conn:
        for table, column in STATE_TABLES:
            rows = await conn.fetch(f"SELECT * FROM {table} WHERE {column} LIKE $1", prefix + "%")
            lines = [json.dumps(dict(row), default=str, sort_keys=True).replace(prefix, "P") for row in rows]
            state[table] = sorted(lines)
    return state


def test_any_order_and_duplication_converges_to_the_in_order_state(database_url: str) -> None:
    with asyncio.Runner() as runner:
        runner.run(apply_migrations(database_url, schema=SCHEMA, files=migration_files(SERVICE_DIR)))
        pool = runner.run(create_pool(database_url, schema=SCHEMA, min_size=1, max_size=2))
        try:

            @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
            @given(plan=history_plans(), data=st.data())
            def check(plan: HistoryPlan, data: st.DataObject) -> None:
                ordered_prefix, shuffled_prefix = (f"p{uuid.uuid4().hex[:10]}" for _ in range(2))
                ordered = materialize(plan, ordered_prefix)
                outcomes = runner.run(deliver(pool, ordered))
                assert set(outcomes) == {"accepted"}, outcomes
                events = materialize(plan, shuffled_prefix)
                duplicates = data.draw(st.lists(st.sampled_from(events), max_size=len(events)))
                delivery = data.draw(st.permutations(events + duplicates))
                runner.run(deliver(pool, delivery))
                expected = runner.run(stored_state(pool, ordered_prefix))
                assert expected["meeting"] and not expected["held_event"] and not expected["rejection"]
                assert runner.run(stored_state(pool, shuffled_prefix)) == expected

            check()
        finally:
            runner.run(pool.close())


def fake_state(store: FakeStore, prefix: str) -> dict[str, list[str]]:
    """The fake store's tables with the prefix replaced, as sorted JSON lines (the outbox's fresh ids left out)."""
    state: dict[str, list[str]] = {}
    for name, table in vars(store.state).items():
        if name in ("outbox", "digests", "minutes_content", "roster_content"):  # digests and content keys hash data
            continue  # holds the run's prefix
        if name in ("processed_at", "stored_by"):  # when and by which request each inbox row was written: the
            continue  # clock and token of its delivery, not state
        items = table.items() if isinstance(table, dict) else [(item, None) for item in table]
        lines = []
        for key, value in items:
            if isinstance(value, list):
                value = sorted(json.dumps(item, default=str, sort_keys=True) for item in value)
            lines.append(json.dumps([key, value], default=str, sort_keys=True).replace(prefix, "P"))
        state[name] = sorted(lines)
    return state


@settings(max_examples=60, deadline=None)
@given(plan=history_plans(), data=st.data())
def test_on_fakes_any_order_and_duplication_converges_to_the_in_order_state(
    plan: HistoryPlan, data: st.DataObject
) -> None:
    ordered_prefix, shuffled_prefix = (f"p{uuid.uuid4().hex[:10]}" for _ in range(2))
    ordered_store, shuffled_store = FakeStore(), FakeStore()
    ordered = materialize(plan, ordered_prefix)
    outcomes = asyncio.run(handlers.ingest_batch(ordered, ordered_store.uow, route="test"))
    assert {result.outcome for result in outcomes} == {"accepted"}, outcomes
    events = materialize(plan, shuffled_prefix)
    duplicates = data.draw(st.lists(st.sampled_from(events), max_size=len(events)))
    delivery = data.draw(st.permutations(events + duplicates))
    asyncio.run(handlers.ingest_batch(delivery, shuffled_store.uow, route="test"))
    expected = fake_state(ordered_store, ordered_prefix)
    assert expected["meetings"] and not expected["held"] and not expected["rejections"]
    assert fake_state(shuffled_store, shuffled_prefix) == expected
