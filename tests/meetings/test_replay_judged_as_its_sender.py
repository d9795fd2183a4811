"""An operator's replay is judged as the event's first submission: by the account that sent it, with the sources that
account holds now, never by another account's source of the same unit (real PostgreSQL, meetings' RPC methods as
the gateway calls them)."""

import json
from typing import Any

import pytest

from services.meetings import rpc as meetings_rpc
from services.meetings.config import Settings
from services.meetings.context import meetings_context
from services.meetings.rpc import sync_registered_sources
from shared.contracts import meetings_rpc as contract
from shared.rpc import RpcError
from tests.meetings import events as ev
from tests.meetings.test_source_ownership import ingest_body_method, place
from tests.support.ids import random_id

__all__ = ["place"]  # the fixture unit_of_two builds on, shared with test_source_ownership


@pytest.fixture
async def unit_of_two(place: dict[str, Any], meetings_pool: Any) -> dict[str, Any]:
    """`place`'s commune and cell; two scoped integration accounts of the commune, each with its own source."""
    a, b = random_id("memberdb"), random_id("handbook")
    two = {
        **place,
        "ingest_body": ingest_body_method(meetings_pool),
        "app": meetings_context(Settings(), meetings_pool),
        "a": (a, f"urn:test:{a}"),
        "b": (b, f"urn:test:{b}"),
    }
    await sync(two, {a: [two["a"][1]], b: [two["b"][1]]})
    return two


async def sync(place: dict[str, Any], sources: dict[str, list[str]]) -> None:
    """The gateway's sync of its accounts' sources (every account of the commune)."""
    accounts = [
        contract.SourceRegistration(unit_id=place["commune"], sources=listed, account=sub)
        for sub, listed in sources.items()
    ]
    await sync_registered_sources(contract.SyncSources(accounts=accounts), place["app"])


async def send(place: dict[str, Any], who: str, event: dict[str, Any], sources: list[str]) -> dict[str, Any]:
    """POST /v1/events as the gateway sends it for the scoped account `who` (a, b)."""
    [result] = await place["ingest_body"](
        json.dumps(event).encode(),
        account=place[who][0],
        scope=place["commune"],
        sources=sources,
        route="http",
    )
    return result


async def rejection_of(db: Any, source: str, event_id: str) -> str:
    return str(
        await db.fetchval(
            "SELECT rejection_id FROM meetings.rejection WHERE source = $1 AND event_id = $2", source, event_id
        )
    )


async def test_a_replay_never_lends_an_account_another_accounts_source_of_its_unit(
    unit_of_two: dict[str, Any], db: Any
) -> None:
    """A trial: account A's event under B's source (both of one unit) was refused source_not_registered, accepted on
    an operator's replay (judged by every source of the unit), and B's own event with that id was then refused
    id_reused. The replay, as is and corrected, stays refused naming `source`; B's event is B's."""
    place = unit_of_two
    b_source = place["b"][1]
    event_id = random_id("steal")
    stolen = ev.unit(random_id("cell"), parent_id=place["commune"], id=event_id, source=b_source)
    refused = await send(place, "a", stolen, [place["a"][1]])
    assert (refused["outcome"], refused["refusal"]["code"]) == ("rejected", "source_not_registered")
    rejection_id = await rejection_of(db, b_source, event_id)
    replayed = await place["methods"]["replay_rejection"](rejection_id=rejection_id)
    assert (replayed["outcome"], replayed["field"]) == ("rejected", "source"), replayed
    corrected = {**stolen, "data": {**stolen["data"], "name": "Chi bộ khác"}}
    again = await place["methods"]["replay_rejection"](rejection_id=rejection_id, event=corrected)
    assert (again["outcome"], again["field"]) == ("rejected", "source"), again
    for attempt in (1, 2):  # each refused attempt's copy is judged as its sender's
        by_attempt = await place["methods"]["replay_rejection"](rejection_id=rejection_id, attempt=attempt)
        assert (by_attempt["outcome"], by_attempt["field"]) == ("rejected", "source"), (attempt, by_attempt)
    assert await db.fetchval("SELECT count(*) FROM meetings.org_unit WHERE id = $1", stolen["data"]["id"]) == 0
    own = ev.unit(random_id("cell"), parent_id=place["commune"], id=event_id, source=b_source)
    mine = await send(place, "b", own, [b_source])
    assert mine["outcome"] == "accepted", mine


async def refused_under_a_later_source(place: dict[str, Any], db: Any) -> tuple[str, dict[str, Any], str]:
    """B's member event under a source registered to nobody yet, refused source_not_registered: (that source, the
    event, its rejection's id)."""
    later = f"urn:test:{random_id('later')}"
    event = ev.member(random_id("mem"), place["cell"], source=later)
    refused = await send(place, "b", event, [place["b"][1]])
    assert (refused["outcome"], refused["refusal"]["code"]) == ("rejected", "source_not_registered")
    return later, event, await rejection_of(db, later, event["id"])


async def test_a_replay_never_lends_a_source_registered_to_another_account_since(
    unit_of_two: dict[str, Any], db: Any
) -> None:
    """A trial: B's event under a source registered to nobody then (refused source_not_registered) was accepted on
    replay once that source was registered to A. It stays refused; once B itself holds the source, it replays."""
    place = unit_of_two
    (a, a_source), (b, b_source) = place["a"], place["b"]
    later, event, rejection_id = await refused_under_a_later_source(place, db)
    await sync(place, {a: [a_source, later], b: [b_source]})
    replayed = await place["methods"]["replay_rejection"](rejection_id=rejection_id)
    assert (replayed["outcome"], replayed["field"]) == ("rejected", "source"), replayed
    await sync(place, {a: [a_source], b: [b_source, later]})
    replayed = await place["methods"]["replay_rejection"](rejection_id=rejection_id)
    assert replayed["outcome"] == "accepted", replayed


async def test_a_replay_of_an_accounts_own_source_needs_it_to_hold_that_source_still(
    unit_of_two: dict[str, Any], db: Any
) -> None:
    """The whole kind: a rejection for another reason (a status corrected on replay) of B's event under B's source
    replays while B holds the source, and not once the source is another account's of the unit."""
    place = unit_of_two
    (a, a_source), (b, b_source) = place["a"], place["b"]
    events = [ev.member(random_id("mem"), place["cell"], source=b_source) for _ in range(2)]
    for event in events:
        event["data"]["status"] = "asleep"
        refused = await send(place, "b", event, [b_source])
        assert (refused["outcome"], refused["field"]) == ("rejected", "data.status"), refused
    corrected = [{**event, "data": {**event["data"], "status": "official"}} for event in events]
    first = await rejection_of(db, b_source, events[0]["id"])
    fixed = await place["methods"]["replay_rejection"](rejection_id=first, event=corrected[0])
    assert fixed["outcome"] == "accepted", fixed
    await sync(place, {a: [a_source, b_source], b: []})
    second = await rejection_of(db, b_source, events[1]["id"])
    moved = await place["methods"]["replay_rejection"](rejection_id=second, event=corrected[1])
    assert (moved["outcome"], moved["field"]) == ("rejected", "source"), moved


async def before_senders_were_kept(db: Any, rejection_id: str) -> None:
    """Make a rejection as meetings stored it before migration 0034: no sender, on it or its attempts."""
    await db.execute("UPDATE meetings.rejection SET sender = NULL WHERE rejection_id = $1", rejection_id)
    await db.execute("UPDATE meetings.rejection_attempt SET sender = NULL WHERE rejection_id = $1", rejection_id)


async def test_a_rejection_stored_before_senders_were_kept_replays_as_the_account_an_operator_names(
    unit_of_two: dict[str, Any], db: Any
) -> None:
    """B's event under a source it had not registered yet (refused source_not_registered) stored before meetings kept
    senders stayed refused forever, even once B held the source. Replayed as is it is still refused, the operator told
    why and what to do; named as A's (not holding the source) it is refused; named as B's it is judged by B's sources
    now and accepted, and the rejection records B as its sender and the operator who named it."""
    place = unit_of_two
    (a, a_source), (b, b_source) = place["a"], place["b"]
    later, event, rejection_id = await refused_under_a_later_source(place, db)
    await before_senders_were_kept(db, rejection_id)
    await sync(place, {a: [a_source], b: [b_source, later]})
    replay = place["methods"]["replay_rejection"]
    unnamed = await replay(rejection_id=rejection_id)
    assert (unnamed["outcome"], unnamed["field"]) == ("rejected", "source"), unnamed
    assert "`sender`" in unnamed["reason"], unnamed
    as_a = await replay(rejection_id=rejection_id, sender=a, replayed_by="operator-1")
    assert (as_a["outcome"], as_a["field"]) == ("rejected", "source"), as_a
    # the operator is told the account named does not hold the source, never which account does
    assert f"the account named as its sender, {a}, does not hold this source now" in as_a["reason"], as_a
    assert b not in as_a["reason"], as_a
    assert await db.fetchval("SELECT sender FROM meetings.rejection WHERE rejection_id = $1", rejection_id) is None
    as_b = await replay(rejection_id=rejection_id, sender=b, replayed_by="operator-1")
    assert as_b["outcome"] == "accepted", as_b
    read = await meetings_rpc.get_rejection(contract.GetRejection(rejection_id=rejection_id), place["app"])
    assert (read["sender"], read["sender_named_by"]) == (b, "operator-1"), read  # listed as the API shows it
    assert read["sender_named_at"] is not None
    row = await db.fetchrow(
        "SELECT sender, sender_named_by, status FROM meetings.rejection WHERE rejection_id = $1", rejection_id
    )
    assert (row["sender"], row["sender_named_by"], row["status"]) == (b, "operator-1", "replayed")
    assert await db.fetchval("SELECT cell_id FROM meetings.member WHERE id = $1", event["data"]["id"]) == place["cell"]


async def test_an_operator_never_renames_a_recorded_sender(unit_of_two: dict[str, Any], db: Any) -> None:
    """A rejection that records its sender is judged as that account only: naming another is refused naming
    `sender` (so A's event under B's source is never lent B's source by a name); naming one needs who names it."""
    place = unit_of_two
    (a, a_source), (b, b_source) = place["a"], place["b"]
    stolen = ev.unit(random_id("cell"), parent_id=place["commune"], source=b_source)
    refused = await send(place, "a", stolen, [a_source])
    assert refused["refusal"]["code"] == "source_not_registered", refused
    rejection_id = await rejection_of(db, b_source, stolen["id"])
    with pytest.raises(RpcError) as renamed:
        await place["methods"]["replay_rejection"](rejection_id=rejection_id, sender=b, replayed_by="operator-1")
    assert (renamed.value.code, renamed.value.field) == ("invalid", "sender")
    assert f"records the account that sent it, {a};" in renamed.value.message  # the right one, named
    asked = contract.ListRejections(limit=200, type=stolen["type"])
    listed_page = await meetings_rpc.list_rejections(asked, place["app"])
    [listed] = [item for item in listed_page["items"] if item["rejection_id"] == rejection_id]
    assert listed["sender"] == a, listed
    await before_senders_were_kept(db, rejection_id)
    with pytest.raises(RpcError) as anonymous:
        await place["methods"]["replay_rejection"](rejection_id=rejection_id, sender=a)
    assert (anonymous.value.code, anonymous.value.field) == ("invalid", "replayed_by")
    as_a = await place["methods"]["replay_rejection"](rejection_id=rejection_id, sender=a, replayed_by="operator-1")
    assert (as_a["outcome"], as_a["field"]) == ("rejected", "source"), as_a
