"""0041_dismissed_fix_accepted.sql: before an accepted event closed its dismissed rejection (SUPERSEDED_STATUSES,
tests/meetings/test_dismissed_fix_resent.py), a fix resent and accepted after its rejection was dismissed left that
rejection `dismissed`, `replay_outcome` null, listed as a dropped event that was in. The migration closes those rows
as the fix closes them for new arrivals (replayed, outcome `accepted`, the dismissal kept), once, and nothing else.

Over a fresh database with every migration (tests/shared/test_migration_seeding.py): the events are sent through
today's code, the rows its fix closed are put back as the code before it left them (the one statement it did not
run), then the migration's statement run, twice."""

import json
from datetime import timedelta
from typing import Any

import asyncpg

from services.meetings import rpc as meetings_rpc
from services.meetings.bootstrap import SERVICE_DIR
from services.meetings.config import Settings
from services.meetings.context import meetings_context
from services.meetings.repository.ingest import register_sources
from services.meetings.unit_of_work import MeetingsUnitOfWork
from shared.contracts import meetings_rpc as contract
from shared.db import apply_migrations, migration_files
from shared.envelope import GATEWAY_SOURCE
from tests.meetings import events as ev
from tests.meetings.test_batch_route_names import deliver
from tests.support.ids import random_id

MIGRATION = "0041_dismissed_fix_accepted.sql"
STATEMENT = (SERVICE_DIR / "migrations" / MIGRATION).read_text(encoding="utf-8")
REASON = "Đối tác gửi nhầm, bỏ qua"
STUCK = ("fixed", "fixed_after_hold", "answered")
"""The cases whose rejection the fix closed and the code before it left dismissed."""


async def rejection_id_of(pool: asyncpg.Pool, event: dict[str, Any]) -> str:
    """The rejection of `event`'s (source, id)."""
    found = await pool.fetchval(
        "SELECT rejection_id FROM rejection WHERE source = $1 AND event_id = $2", event["source"], event["id"]
    )
    assert found is not None, event["id"]
    return str(found)


async def dismiss(pool: asyncpg.Pool, event: dict[str, Any]) -> str:
    """An operator dismisses `event`'s open rejection; its id."""
    rejection_id = await rejection_id_of(pool, event)
    request = contract.DismissRejection(rejection_id=rejection_id, reason=REASON, dismissed_by="op-h560")
    await meetings_rpc.dismiss_rejection(request, meetings_context(Settings(), pool))
    return rejection_id


async def rows(pool: asyncpg.Pool, ids: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each case's rejection row, every column."""
    found = await pool.fetch("SELECT * FROM rejection WHERE rejection_id = ANY($1::text[])", list(ids.values()))
    by_id = {str(row["rejection_id"]): dict(row) for row in found}
    return {case: by_id[rejection_id] for case, rejection_id in ids.items()}


async def seed(pool: asyncpg.Pool) -> dict[str, str]:
    """Every case sent through today's code; {case: rejection id}."""
    uow_factory = lambda: MeetingsUnitOfWork(pool)  # noqa: E731
    app = meetings_context(Settings(), pool)
    source, other_source = f"urn:h560:{random_id('feed')}", f"urn:h560:{random_id('other')}"
    owned_later = f"urn:h560:{random_id('owned')}"
    cell, late_cell, never_cell = random_id("cb"), random_id("cb"), random_id("cb")
    feed = [ev.unit(ev.TEST_ROOT, kind="committee"), ev.unit(cell)]
    assert await deliver("http", feed, uow_factory) == ["accepted", "accepted"]

    def broken(case: str, *, under: str = source, event_id: str | None = None) -> dict[str, Any]:
        return ev.member(random_id(case[:6]), cell, status="nonsense", source=under, id=event_id or random_id("e"))

    def fixed(raw: dict[str, Any], cell_id: str = cell) -> dict[str, Any]:
        return ev.member(raw["data"]["id"], cell_id, id=raw["id"], source=raw["source"])

    sent = {
        case: broken(case)
        for case in ("fixed", "fixed_after_hold", "open", "dismissed", "still_held", "refused_after", "raced")
    }
    sent["other_source"] = broken("other", under=other_source, event_id=sent["fixed"]["id"])
    sent["refused_later"] = broken("later", under=owned_later)
    assert set(await deliver("http", list(sent.values()), uow_factory)) == {"rejected"}
    ids = {case: await rejection_id_of(pool, raw) for case, raw in sent.items()}

    assert await deliver("http", [fixed(sent["fixed_after_hold"], late_cell)], uow_factory) == ["held"]
    for case in ("fixed", "fixed_after_hold", "dismissed", "still_held", "other_source"):
        await dismiss(pool, sent[case])
    assert await deliver("http", [fixed(sent["fixed"])], uow_factory) == ["accepted"]
    assert await deliver("http", [ev.unit(late_cell)], uow_factory) == ["accepted"]  # the held fix applied
    assert await deliver("http", [fixed(sent["still_held"], never_cell)], uow_factory) == ["held"]
    # accepted while open (closed by the code before too), then another event under its id, refused and dismissed
    for case in ("refused_after", "raced"):
        assert await deliver("http", [fixed(sent[case])], uow_factory) == ["accepted"]
        other = {**fixed(sent[case]), "data": {**fixed(sent[case])["data"], "full_name": "Trần Thị Khác"}}
        assert await deliver("http", [other], uow_factory) == ["rejected"]
        await dismiss(pool, sent[case])
    # accepted while open, then its source registered to a unit: another copy from outside it refused, the inbox
    # row kept (the event's own), as source_of_another_account, not id_reused
    assert await deliver("http", [fixed(sent["refused_later"])], uow_factory) == ["accepted"]
    await register_sources(pool, unit_id=cell, sources=[owned_later], account="owner")
    other = {**fixed(sent["refused_later"]), "data": {**fixed(sent["refused_later"])["data"], "full_name": "Lê Văn"}}
    assert await deliver("http", [other], uow_factory) == ["rejected"]
    await dismiss(pool, sent["refused_later"])

    # a secretary's command answered on its form, sent again corrected under the same id
    command = ev.scheduled(
        random_id("mtg"), cell, starts_at=ev.BASE_TIME + timedelta(days=330), kind="nonsense", source=GATEWAY_SOURCE
    )
    reply = await meetings_rpc.ingest(contract.Ingest(events=[command], route="http", account="thu-ky"), app)
    assert [result.outcome for result in reply.results] == ["rejected"]
    corrected = {**command, "data": {**command["data"], "kind": "regular"}}
    reply = await meetings_rpc.ingest(contract.Ingest(events=[corrected], route="http", account="thu-ky"), app)
    assert [result.outcome for result in reply.results] == ["accepted"]
    ids["answered"] = await rejection_id_of(pool, command)
    return ids


async def test_the_migration_closes_dismissed_rejections_of_events_accepted_since_as_the_fix_does(
    private_pool: asyncpg.Pool,
) -> None:
    assert MIGRATION in [path.name for path in migration_files(SERVICE_DIR)]
    pool = private_pool
    ids = await seed(pool)
    as_fixed = await rows(pool, ids)
    assert {case: (row["status"], row["replay_outcome"]) for case, row in as_fixed.items()} == {
        "fixed": ("replayed", "accepted"),
        "fixed_after_hold": ("replayed", "accepted"),
        "answered": ("replayed", "accepted"),
        "open": ("open", None),
        "dismissed": ("dismissed", None),
        "other_source": ("dismissed", None),
        "still_held": ("dismissed", None),
        "refused_after": ("dismissed", None),
        "raced": ("dismissed", None),
        "refused_later": ("dismissed", None),
    }
    assert json.loads(as_fixed["refused_later"]["refusal"]) == {"code": "source_of_another_account"}
    # the race the inbox row's clock cannot settle: the copy refused after the event was in, received before its
    # transaction began; its refusal (id_reused: the row was there) still says the event was in before it
    await pool.execute(
        "WITH taken AS (SELECT p.processed_at - interval '1 second' AS at FROM processed_message p, rejection r"
        " WHERE r.rejection_id = $1 AND p.consumer = 'meetings.ingest' AND (p.source, p.event_id) = (r.source,"
        " r.event_id)), moved AS (UPDATE rejection_attempt SET received_at = (SELECT at FROM taken)"
        " WHERE rejection_id = $1)"
        " UPDATE rejection SET received_at = (SELECT at FROM taken) WHERE rejection_id = $1",
        ids["raced"],
    )
    # as the code before the fix left them: it never touched a dismissed rejection when its event was accepted
    await pool.execute(
        "UPDATE rejection SET status = 'dismissed', replay_outcome = NULL, replayed_at = NULL"
        " WHERE rejection_id = ANY($1::text[])",
        [ids[case] for case in STUCK],
    )
    before = await rows(pool, ids)
    assert {before[case]["status"] for case in STUCK} == {"dismissed"}
    inbox = {
        case: await pool.fetchval(
            "SELECT processed_at FROM processed_message WHERE consumer = 'meetings.ingest' AND source = $1"
            " AND event_id = $2",
            row["source"],
            row["event_id"],
        )
        for case, row in before.items()
    }

    await pool.execute(STATEMENT)
    after = await rows(pool, ids)
    for case in STUCK:
        fixed, now = as_fixed[case], after[case]
        # replayed_at: when the event was taken in is not kept; the earliest moment known, never after the fix's
        assert now["replayed_at"] == max(inbox[case], before[case]["dismissed_at"])
        assert before[case]["dismissed_at"] <= now["replayed_at"] <= fixed["replayed_at"]
        assert {**now, "replayed_at": None} == {**fixed, "replayed_at": None}, case
    assert {case: row for case, row in after.items() if case not in STUCK} == {
        case: row for case, row in before.items() if case not in STUCK
    }

    await pool.execute(STATEMENT)  # applied again: nothing left to change
    assert await rows(pool, ids) == after


async def test_the_runner_applies_it_to_a_database_stopped_before_it(database_url: str) -> None:
    """Applied by the migration runner to a schema at 0040 (seeded with that version's SQL only): the dismissed
    rejection of an event taken in since is closed, one whose event is not in stays."""
    schema = random_id("meetings_0041").replace("-", "_")
    files = migration_files(SERVICE_DIR)
    await apply_migrations(database_url, schema=schema, files=[path for path in files if path.name < MIGRATION])
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f'SET search_path TO "{schema}"')
        for rejection_id in ("in-since", "not-in"):
            await conn.execute(
                "INSERT INTO rejection (rejection_id, source, event_id, type, reason, raw, route, received_at, status,"
                " dismissed_at, dismissed_by, dismissal_reason)"
                " VALUES ($1, 'urn:a', $1, 't', 'bad', '{}', 'http', '2026-12-01 07:00+07', 'dismissed',"
                " '2026-12-01 08:00+07', 'op', $2)",
                rejection_id,
                REASON,
            )
            await conn.execute(
                "INSERT INTO rejection_attempt (rejection_id, attempt, route, type, reason, raw, received_at)"
                " VALUES ($1, 1, 'http', 't', 'bad', '{}', '2026-12-01 07:00+07')",
                rejection_id,
            )
        await conn.execute(
            "INSERT INTO processed_message (consumer, source, event_id, processed_at)"
            " VALUES ('meetings.ingest', 'urn:a', 'in-since', '2026-12-01 08:30+07')"
        )
        assert await apply_migrations(database_url, schema=schema, files=files) == [MIGRATION]
        closed = await conn.fetch(
            "SELECT rejection_id, status, replay_outcome, replayed_at = '2026-12-01 08:30+07' AS at_inbox,"
            " dismissal_reason FROM rejection ORDER BY 1"
        )
        assert [tuple(row) for row in closed] == [
            ("in-since", "replayed", "accepted", True, REASON),
            ("not-in", "dismissed", None, None, REASON),
        ]
        assert await apply_migrations(database_url, schema=schema, files=files) == []
    finally:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()
