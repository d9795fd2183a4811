"""A scoped integration account cannot take another system's event ids: its events carry only its registered
sources, and no other sender (province-wide account, AMQP, replay in another scope) uses those (real PostgreSQL)."""

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.meetings import handlers
from services.meetings.config import Settings
from services.meetings.context import meetings_context
from services.meetings.handlers.ingest import FOREIGN_SOURCE, REGISTERED_SOURCE, RESERVED_SOURCE, listed_sender
from services.meetings.rpc import sync_registered_sources
from shared.contracts import meetings_rpc as contract
from shared.envelope import BATCH_CONTENT_TYPE as BATCH
from shared.envelope import CLOUDEVENT_CONTENT_TYPE, GATEWAY_SOURCE
from shared.envelope import CLOUDEVENT_CONTENT_TYPE as SINGLE
from shared.rpc import RpcError
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
        "dismissed",  # a person's command is answered on the form, never left open for the operators
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


RESERVED = ["urn:chibo:gateway", "urn:chibo:meetings", "urn:chibo:demo-seed", "URN:CHIBO:gateway", "Urn:Chibo:x"]


def ingest_body_method(meetings_pool: Any) -> Any:
    """meetings.rpc's ingest_body (the gateway's POST /v1/events) as the RPC queue runs it."""
    from services.meetings import rpc as meetings_rpc

    app = meetings_context(Settings(), meetings_pool)

    async def ingest_body(body: bytes, **params: Any) -> list[dict[str, Any]]:
        request = contract.IngestBody(body_base64=base64.b64encode(body).decode(), **params)
        return (await meetings_rpc.ingest_body(request, app))["results"]

    return ingest_body


@pytest.mark.parametrize("source", RESERVED)
async def test_no_integration_sends_under_a_reserved_source_on_either_route(
    place: dict[str, Any], meetings_pool: Any, uow_factory: Any, db: Any, source: str
) -> None:
    """A trial's feeds sent under urn:chibo:gateway, urn:chibo:meetings, urn:chibo:demo-seed and URN:CHIBO:gateway over
    AMQP chibo.ingest and with a province-wide token over HTTP, all accepted, and facts under urn:chibo:gateway were
    then judged as a secretary's own commands. Every ingest route's sender is refused naming `source`, in every
    mode (structured, batch, binary) and for a scoped account too; nothing is applied."""
    cell = place["cell"]
    ingest_body = ingest_body_method(meetings_pool)
    sent: list[tuple[str, list[dict[str, Any]]]] = []
    members: list[str] = []

    def member() -> dict[str, Any]:
        event = ev.member(random_id("mem"), cell, source=source)
        members.append(event["data"]["id"])
        return event

    # HTTP POST /v1/events: a province-wide account (no scope), then one scoped to the commune
    for scope in (None, place["commune"]):
        one, item = member(), member()
        sources = [f"urn:test:{random_id('own')}"] if scope else None
        params = {"account": "feed", "scope": scope, "sources": sources}
        sent.append((one["id"], await ingest_body(json.dumps(one).encode(), content_type=SINGLE, **params)))
        sent.append((item["id"], (await ingest_body(json.dumps([item]).encode(), content_type=BATCH, **params))[:1]))
        binary = member()
        headers = [(f"ce-{k}", v) for k, v in binary.items() if k not in ("data", "datacontenttype")]
        sent.append(
            (
                binary["id"],
                await ingest_body(
                    json.dumps(binary["data"]).encode(), content_type="application/json", headers=headers, **params
                ),
            )
        )
    # AMQP chibo.ingest from a feed: a single delivery (the group commit's reading), a batch, a binary delivery
    single = member()
    reading = handlers.single_event({}, CLOUDEVENT_CONTENT_TYPE, json.dumps(single).encode())
    assert reading is not None
    [singled] = await handlers.ingest_singles([reading], uow_factory)
    assert isinstance(singled, handlers.IngestResult)
    sent.append((single["id"], [singled.as_dict(0)]))
    batch = member()
    delivered = await handlers.ingest_delivery(
        json.dumps([batch]).encode(), uow_factory, batch=True, route="amqp", content_type=BATCH
    )
    sent.append((batch["id"], [result.as_dict(0) for result in delivered]))
    binary = member()
    headers = [(f"cloudEvents:{k}", v) for k, v in binary.items() if k not in ("data", "datacontenttype")]
    delivered = await handlers.ingest_delivery(
        json.dumps(binary["data"]).encode(),
        uow_factory,
        batch=False,
        route="amqp",
        headers=headers,
        content_type="application/json",
    )
    sent.append((binary["id"], [result.as_dict(0) for result in delivered]))
    for event_id, results in sent:
        [result] = results
        assert (result["id"], result["outcome"], result["field"], result["reason"]) == (
            event_id,
            "rejected",
            "source",
            RESERVED_SOURCE,
        )
        assert result["refusal"]["code"] == "source_reserved"
    ids = [event_id for event_id, _ in sent]
    assert not await db.fetchval("SELECT count(*) FROM meetings.member WHERE id = ANY($1)", members)
    stored = await db.fetch(
        "SELECT field, refusal->>'code' AS code FROM meetings.rejection WHERE source = $1 AND event_id = ANY($2)",
        source,
        ids,
    )
    assert len(stored) == len(ids) and {(row["field"], row["code"]) for row in stored} == {
        ("source", "source_reserved")
    }


async def test_the_systems_own_producers_still_send_under_reserved_sources(
    place: dict[str, Any], uow_factory: Any, db: Any
) -> None:
    """The demo seed (an AMQP publisher of CHIBO_SYSTEM_PUBLISHERS), the gateway's commands (the Ingest RPC, its own
    broker user) and the system's bulk paths keep their sources; a feed's forgery of one of their events is refused
    without forgetting the real one's inbox row, and an operator's replay of that refusal is refused again."""
    methods, cell = place["methods"], place["cell"]
    seed = ev.member(random_id("mem"), cell, source="urn:chibo:demo-seed")
    reading = handlers.single_event({}, CLOUDEVENT_CONTENT_TYPE, json.dumps(seed).encode(), system=True)
    assert reading is not None
    [seeded] = await handlers.ingest_singles([reading], uow_factory)
    assert isinstance(seeded, handlers.IngestResult) and seeded.outcome == "accepted"
    [batch] = await handlers.ingest_delivery(
        json.dumps([ev.member(random_id("mem"), cell, source="urn:chibo:demo-seed")]).encode(),
        uow_factory,
        batch=True,
        route="amqp",
        content_type=BATCH,
        system=True,
    )
    assert batch.outcome == "accepted"
    command = ev.member(random_id("mem"), cell, source=GATEWAY_SOURCE)
    [commanded] = (await methods["ingest"](events=[command], route="http", account="secretary", scope=cell))["results"]
    assert commanded["outcome"] == "accepted"
    # a feed resends the command's (source, id) with other content: refused, and the real one stays processed
    forged = dict(command, data=dict(command["data"], full_name="Giả Mạo"))
    [refused] = await handlers.ingest_delivery(json.dumps(forged).encode(), uow_factory, batch=False, route="amqp")
    assert (refused.outcome, refused.field, refused.refusal and refused.refusal.code) == (
        "rejected",
        "source",
        "source_reserved",
    )
    [again] = (await methods["ingest"](events=[command], route="http", account="secretary", scope=cell))["results"]
    assert again["outcome"] == "duplicate"
    name = await db.fetchval("SELECT full_name FROM meetings.member WHERE id = $1", command["data"]["id"])
    assert name == command["data"]["full_name"]
    # the forgery's replay is judged as from the feed it came from
    other = ev.member(random_id("mem"), cell, source=GATEWAY_SOURCE)
    [stored] = await handlers.ingest_delivery(json.dumps(other).encode(), uow_factory, batch=False, route="http")
    assert stored.refusal is not None and stored.refusal.code == "source_reserved"
    rejection_id = await db.fetchval(
        "SELECT rejection_id FROM meetings.rejection WHERE source = $1 AND event_id = $2", GATEWAY_SOURCE, other["id"]
    )
    # a reserved source is in the bytes: a replay as sent could only be rejected again, so it is refused before it is
    # judged (shared.refusals.REPLAY_CAN_PASS), as its listing's replayable_as_sent false says
    with pytest.raises(RpcError) as refused_replay:
        await methods["replay_rejection"](rejection_id=rejection_id)
    assert refused_replay.value.code == "conflict" and refused_replay.value.refusal is not None
    assert refused_replay.value.refusal.code == "refused_again_as_sent"
    assert "source: urn:chibo:" in refused_replay.value.message
    assert not await db.fetchval("SELECT count(*) FROM meetings.member WHERE id = $1", other["data"]["id"])


def test_a_system_publisher_is_told_by_the_broker_checked_user_id_only() -> None:
    from services.meetings.consumers import is_system_publisher

    assert is_system_publisher("chibo-admin", ["chibo-admin"])
    assert not is_system_publisher(None, ["chibo-admin"])  # a feed that sets no user_id
    assert not is_system_publisher("chibo-feed", ["chibo-admin"])
    assert not is_system_publisher("guest", [])  # none by default


@pytest.mark.parametrize("source", ["unregistered", "registered", "reserved", "foreign"])
async def test_an_event_over_the_size_limit_is_refused_for_its_size_whatever_its_source(
    place: dict[str, Any], meetings_pool: Any, db: Any, source: str
) -> None:
    """A trial's 2 MB POST /v1/events under a source the account had not registered was answered 200 with only a
    `source` rejection, the same body under a registered source 413 `body: larger than 1048576 bytes`. A size limit
    is judged before anything the event says: every mode answers the body's size (`problem` too_large: the
    gateway's 413), stored naming `body`, whatever the source (unregistered, registered, reserved, or registered to
    another account); a batch item over the limit likewise, and a body over it in neither mode."""
    methods, cell = place["methods"], place["cell"]
    ingest_body = ingest_body_method(meetings_pool)
    own, other = f"urn:test:{random_id('own')}", f"urn:test:{random_id('other')}"
    if source == "foreign":  # registered to another scoped account
        first = ev.member(random_id("mem"), cell, source=other)
        reply = await methods["ingest"](
            events=[first], route="http", account="other-feed", scope=place["commune"], sources=[other]
        )
        assert reply["results"][0]["outcome"] == "accepted"
    sent_as = {
        "unregistered": f"urn:test:{random_id('nobody')}",
        "registered": own,
        "reserved": GATEWAY_SOURCE,
        "foreign": other,
    }[source]
    params = {"account": "cell-feed", "scope": place["commune"], "sources": [own]}
    big = "x" * (2 * 1024 * 1024)

    def member() -> dict[str, Any]:
        return ev.member(random_id("mem"), cell, source=sent_as, data={"full_name": big})

    single, item, binary = member(), member(), member()
    headers = [(f"ce-{k}", v) for k, v in binary.items() if k not in ("data", "datacontenttype")]
    answers = {
        "single": (single["id"], await ingest_body(json.dumps(single).encode(), content_type=SINGLE, **params)),
        "batch": (item["id"], await ingest_body(json.dumps([item]).encode(), content_type=BATCH, **params)),
        "binary": (
            binary["id"],
            await ingest_body(
                json.dumps(binary["data"]).encode(), content_type="application/json", headers=headers, **params
            ),
        ),
    }
    for mode, (event_id, [result]) in answers.items():
        assert (result["outcome"], result["field"]) == ("rejected", "body"), (mode, result)
        assert result["reason"].startswith("body: larger than 1048576 bytes"), (mode, result)
        assert result.get("problem") == (None if mode == "batch" else "too_large"), (mode, result)
        stored = await db.fetchval(
            "SELECT field FROM meetings.rejection WHERE source = $1 AND event_id = $2", sent_as, event_id
        )
        assert stored == "body", mode
    [neither] = await ingest_body(big.encode(), content_type="text/plain", **params)
    assert (neither["field"], neither["problem"]) == ("body", "too_large"), neither
