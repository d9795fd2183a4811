"""A scoped integration account cannot take another system's event ids: its events carry only its registered
sources, and no other sender (province-wide account, AMQP, replay in another scope) uses those (real PostgreSQL)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.meetings import handlers
from services.meetings.config import Settings
from services.meetings.context import meetings_context
from services.meetings.handlers.ingest import FOREIGN_SOURCE, REGISTERED_SOURCE, listed_sender
from services.meetings.rpc import sync_registered_sources
from shared.contracts import meetings_rpc as contract
from shared.envelope import GATEWAY_SOURCE
from tests.meetings import events as ev
from tests.meetings.test_scoping import rpc_methods
from tests.support.ids import random_id

START = ev.BASE_TIME + timedelta(days=330)


@pytest.fixture
async def place(meetings_pool: Any) -> dict[str, Any]:
    """A commune and a cell under it; the RPC methods on the test pool."""
    methods = rpc_methods(meetings_pool)
    commune, cell = random_id("xa"), random_id("cell")
    reply = await methods["ingest"](
        events=[ev.unit(commune, kind="committee", name="Đảng ủy xã"), ev.unit(cell, parent_id=commune)],
        route="amqp",
    )
    assert [result["outcome"] for result in reply["results"]] == ["accepted", "accepted"]
    return {"commune": commune, "cell": cell, "methods": methods}


@pytest.mark.parametrize("held", [False, True], ids=["applied", "would-be-held"])
async def test_a_scoped_account_cannot_take_the_province_systems_event_id(
    place: dict[str, Any], db: Any, held: bool
) -> None:
    methods, cell = place["methods"], place["cell"]
    own, province = f"urn:test:{random_id('cell-feed')}", f"urn:test:{random_id('province')}"
    event_id = random_id("px")
    squat_cell = random_id("cell-unknown") if held else cell
    squatter = ev.member(random_id("mem"), squat_cell, id=event_id, source=province)
    [refused] = (
        await methods["ingest"](
            events=[squatter], route="http", account="cell-feed", scope=place["commune"], sources=[own]
        )
    )["results"]
    assert (refused["outcome"], refused["field"], refused["reason"]) == ("rejected", "source", FOREIGN_SOURCE)
    assert refused["refusal"]["code"] == "source_not_registered"  # the web words it by this, not the English
    stored = await db.fetchrow(
        "SELECT field, refusal->>'code' AS code FROM meetings.rejection WHERE source = $1 AND event_id = $2",
        province,
        event_id,
    )
    assert (stored["field"], stored["code"]) == ("source", "source_not_registered")
    real = ev.scheduled(f"{cell}-2026-12", cell, starts_at=START, id=event_id, source=province)
    [accepted] = (await methods["ingest"](events=[real], route="amqp"))["results"]
    assert accepted["outcome"] == "accepted"


async def test_a_registered_source_is_its_accounts_alone(place: dict[str, Any], uow_factory: Any) -> None:
    methods, cell = place["methods"], place["cell"]
    own = f"urn:test:{random_id('cell-feed')}"
    first = ev.member(random_id("mem"), cell, source=own)
    [mine] = (
        await methods["ingest"](
            events=[first], route="http", account="cell-feed", scope=place["commune"], sources=[own]
        )
    )["results"]
    assert mine["outcome"] == "accepted"
    for route in ("amqp", "http"):  # the AMQP route and a province-wide account alike
        other = ev.member(random_id("mem"), cell, source=own)
        [refused] = (await methods["ingest"](events=[other], route=route, account="province"))["results"]
        assert (refused["outcome"], refused["field"], refused["reason"]) == ("rejected", "source", REGISTERED_SOURCE)
        assert refused["refusal"]["code"] == "source_of_another_account"
    # the same refusal on the body route, a batch of several: one read of the registry, each judged
    batch = [ev.member(random_id("mem"), cell, source=own), ev.member(random_id("mem"), cell)]
    results = await handlers.ingest_batch(batch, uow_factory, route="amqp")
    assert [(result.outcome, result.field) for result in results] == [("rejected", "source"), ("accepted", None)]


async def test_an_operator_replay_keeps_the_source_check(place: dict[str, Any], db: Any) -> None:
    """A trial replayed a scoped account's source refusal from the operator page and it was held, then applied: a
    replay ran with the account's scope but without its sources. It now stays refused naming `source`, while a
    rejection under the account's own source replays as any other."""
    methods, cell = place["methods"], place["cell"]
    own, foreign = f"urn:test:{random_id('cell-feed')}", f"urn:test:{random_id('other')}"
    squatter = ev.member(random_id("mem"), cell, source=foreign)
    fixable = ev.member(random_id("mem"), cell, source=own)
    fixable["data"]["status"] = "asleep"  # rejected for its status, then corrected on replay
    answers = await methods["ingest"](
        events=[squatter, fixable], route="http", account="cell-feed", scope=place["commune"], sources=[own]
    )
    assert [(r["outcome"], r["field"]) for r in answers["results"]] == [
        ("rejected", "source"),
        ("rejected", "data.status"),
    ]
    rows = {
        row["event_id"]: row["rejection_id"]
        for row in await db.fetch(
            "SELECT rejection_id, event_id FROM meetings.rejection WHERE event_id = ANY($1::text[])",
            [squatter["id"], fixable["id"]],
        )
    }
    replayed = await methods["replay_rejection"](rejection_id=rows[squatter["id"]])
    assert (replayed["outcome"], replayed["field"]) == ("rejected", "source")
    corrected = {**fixable, "data": {**fixable["data"], "status": "official"}}
    fixed = await methods["replay_rejection"](rejection_id=rows[fixable["id"]], event=corrected)
    assert fixed["outcome"] == "accepted"


async def test_the_gateways_sync_reserves_sources_before_any_call_and_releases_those_no_account_holds(
    place: dict[str, Any], meetings_pool: Any
) -> None:
    """A trial's province-wide feed used a new scoped account's source before that account's first call (meetings
    learned sources only then), and a source the account gave up stayed reserved. The gateway's sync makes the
    registry its accounts: reserved at once, released when no account holds it."""
    methods, cell, commune = place["methods"], place["cell"], place["commune"]
    app = meetings_context(Settings(), meetings_pool)
    new, old = f"urn:test:{random_id('new')}", f"urn:test:{random_id('old')}"
    await sync_registered_sources(
        contract.SyncSources(accounts=[contract.SourceRegistration(unit_id=commune, sources=[new, old])]), app
    )
    [refused] = (await methods["ingest"](events=[ev.member(random_id("mem"), cell, source=new)], route="amqp"))[
        "results"
    ]
    assert (refused["outcome"], refused["field"]) == ("rejected", "source")
    reply = await sync_registered_sources(
        contract.SyncSources(accounts=[contract.SourceRegistration(unit_id=commune, sources=[new])]), app
    )
    assert (reply.registered, reply.released) == (1, 1)
    [taken] = (await methods["ingest"](events=[ev.member(random_id("mem"), cell, source=old)], route="amqp"))["results"]
    assert taken["outcome"] == "accepted"


async def test_a_source_over_256_characters_is_rejected_as_too_long_not_as_unregistered(
    place: dict[str, Any], db: Any
) -> None:
    """CONTRACT.md: `source` is at most 256 characters. A scoped account's event with a 257-character source is
    rejected naming that breach, not as "not a source registered to this account" (no account can register it)."""
    methods, cell = place["methods"], place["cell"]
    own = f"urn:test:{random_id('cell-feed')}"
    long_source = "urn:test:" + "a" * (257 - len("urn:test:"))
    assert len(long_source) == 257
    event = ev.scheduled(f"{cell}-2026-12", cell, starts_at=START, id=random_id("long"), source=long_source)
    for sources in ([own], None):  # a scoped account, and a sender of any source
        [refused] = (
            await methods["ingest"](
                events=[event], route="http", account="cell-feed", scope=place["commune"], sources=sources
            )
        )["results"]
        assert (refused["outcome"], refused["field"]) == ("rejected", "source"), refused
        assert refused["reason"] != FOREIGN_SOURCE and "at most 256 characters" in refused["reason"], refused
        assert refused.get("refusal") is None


async def test_a_replay_of_the_gateways_command_is_judged_as_the_gateways_and_keeps_the_first_reason(
    place: dict[str, Any], db: Any
) -> None:
    """A trial's secretary recorded attendance for a meeting not yet held (the gateway's command under its own
    source, within the cell's scope, with no list of sources): the replay judged it as a scoped account's event,
    answered source_not_registered and overwrote the stored reason. It is now judged as the gateway's command again,
    and a failed replay keeps the first reason and code, its own kept beside them."""
    methods, cell = place["methods"], place["cell"]
    member_id, meeting_id = random_id("mem"), random_id("mtg")
    ahead = datetime.now(UTC) + timedelta(days=10)
    setup = [ev.member(member_id, cell), ev.scheduled(meeting_id, cell, starts_at=ahead)]
    assert [r["outcome"] for r in (await methods["ingest"](events=setup, route="amqp"))["results"]] == [
        "accepted",
        "accepted",
    ]
    command = ev.attendance(meeting_id, {member_id: "present"}, source=GATEWAY_SOURCE)
    [refused] = (await methods["ingest"](events=[command], route="http", account="secretary", scope=cell))["results"]
    assert (refused["outcome"], refused["refusal"]["code"]) == ("rejected", "meeting_not_started")
    first = await db.fetchrow(
        "SELECT rejection_id, reason, field, refusal->>'code' AS code FROM meetings.rejection"
        " WHERE source = $1 AND event_id = $2",
        GATEWAY_SOURCE,
        command["id"],
    )
    replayed = await methods["replay_rejection"](rejection_id=first["rejection_id"])
    assert (replayed["outcome"], replayed["refusal"]["code"]) == ("rejected", "meeting_not_started")
    assert replayed["field"] != "source"
    # a correction refused for another cause: the first cause stays, the replay's is kept beside it
    corrected = {**command, "data": {**command["data"], "records": [{"member_id": member_id, "status": "asleep"}]}}
    again = await methods["replay_rejection"](rejection_id=first["rejection_id"], event=corrected)
    assert again["outcome"] == "rejected" and again["field"] != first["field"]
    kept = await db.fetchrow(
        "SELECT status, reason, field, refusal->>'code' AS code, last_replay_field, last_replay_reason,"
        " last_replay_at FROM meetings.rejection WHERE rejection_id = $1",
        first["rejection_id"],
    )
    assert (kept["status"], kept["reason"], kept["field"], kept["code"]) == (
        "open",
        first["reason"],
        first["field"],
        "meeting_not_started",
    )
    assert (kept["last_replay_field"], kept["last_replay_reason"]) == (again["field"], again["reason"])
    assert kept["last_replay_at"] is not None


@pytest.mark.parametrize(
    ("scope", "refusal", "field", "reason", "listed"),
    [
        ("cell", '{"code": "source_not_registered"}', "source", FOREIGN_SOURCE, True),
        ("cell", None, "source", FOREIGN_SOURCE, True),  # stored before codes: by its words
        ("cell", '{"code": "source_of_another_account"}', "source", REGISTERED_SOURCE, False),
        ("cell", '{"code": "meeting_not_started"}', "records", "not started", False),
        ("cell", '{"code": "hold_expired"}', "data.member_id", "still unresolved", False),
        (None, '{"code": "source_not_registered"}', "source", FOREIGN_SOURCE, False),
    ],
)
def test_only_a_sender_refused_its_unregistered_source_is_replayed_by_its_units_sources(
    scope: str | None, refusal: str | None, field: str, reason: str, listed: bool
) -> None:
    """The whole kind: any rejection whose sender had no list of sources (a secretary's command, a province-wide
    account, an expired hold of either) replays by the registry, as it was first judged."""
    stored = {"scope": scope, "refusal": refusal, "field": field, "reason": reason}
    assert listed_sender(stored) is listed
