"""A held event's release and a rejection's replay are judged by the sources rule the event's arrival was: a scoped
call that named its account but carried no sources list was judged by the registry, so its release is too (an
integration's adoption held for its roster was refused source_not_registered when the roster came, the account
holding no registered source); one that carried the list, by that account's sources now
(test_held_release_judged_as_its_sender). Real PostgreSQL, meetings' RPC methods as they are called."""

from typing import Any

from services.meetings.rpc import sync_registered_sources
from shared.contracts import meetings_rpc as contract
from tests.meetings import events as ev
from tests.meetings.test_held_release_judged_as_its_sender import retry
from tests.meetings.test_replay_judged_as_its_sender import place, rejection_of, unit_of_two
from tests.support.ids import random_id

__all__ = ["place", "unit_of_two"]  # the fixtures (unit_of_two builds on place), used by name


async def unlisted(place: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """`event` as account B's scoped call sends it without a sources list (judged by the registry on arrival)."""
    reply = await place["methods"]["ingest"](
        events=[event], route="http", account=place["b"][0], scope=place["commune"]
    )
    [result] = reply["results"]
    return dict(result)


async def held_unlisted(place: dict[str, Any], source: str) -> tuple[dict[str, Any], str]:
    """B's member event under `source`, sent without a list, held waiting for a cell of the commune not yet known."""
    cell = random_id("cell")
    event = ev.member(random_id("mem"), cell, source=source)
    held = await unlisted(place, event)
    assert (held["outcome"], held["waiting_for"]) == ("held", f"unit:{cell}"), held
    return event, cell


async def test_a_held_event_that_came_without_a_list_is_released_by_the_registrys_rule(
    unit_of_two: dict[str, Any], db: Any
) -> None:
    """Under a source no account registered, retried by an operator it is held again (not refused as not B's), and
    the cell's arrival applies it; its hold records the rule it came by."""
    place = unit_of_two
    source = f"urn:test:{random_id('unlisted')}"
    event, cell = await held_unlisted(place, source)
    retried = await retry(place, source, event["id"])
    assert (retried["outcome"], retried.get("waiting_for")) == ("held", f"unit:{cell}"), retried
    listed = "SELECT sources_listed FROM meetings.held_event WHERE source = $1 AND event_id = $2"
    assert await db.fetchval(listed, source, event["id"]) is False
    made = await unlisted(place, ev.unit(cell, parent_id=place["commune"], source=source))
    assert made["outcome"] == "accepted", made
    assert await db.fetchval("SELECT cell_id FROM meetings.member WHERE id = $1", event["data"]["id"]) == cell
    assert await db.fetchval("SELECT count(*) FROM meetings.rejection WHERE source = $1", source) == 0


async def test_a_held_event_that_came_without_a_list_is_refused_once_its_source_is_another_units(
    unit_of_two: dict[str, Any], db: Any
) -> None:
    """The registry's rule still judges it: its source registered to an account of another unit while it waited, its
    retry refuses it naming `source` (source_of_another_account), kept as B's and as judged by the registry."""
    place = unit_of_two
    (a, a_source), (b, b_source) = place["a"], place["b"]
    source = f"urn:test:{random_id('unlisted')}"
    event, _ = await held_unlisted(place, source)
    other = contract.SourceRegistration(unit_id=place["cell"], sources=[source], account=random_id("cellfeed"))
    mine = [
        contract.SourceRegistration(unit_id=place["commune"], sources=[listed], account=sub)
        for sub, listed in ((a, a_source), (b, b_source))
    ]
    await sync_registered_sources(contract.SyncSources(accounts=[*mine, other]), place["app"])
    retried = await retry(place, source, event["id"])
    assert (retried["outcome"], retried["field"]) == ("rejected", "source"), retried
    assert retried["refusal"]["code"] == "source_of_another_account", retried
    row = await db.fetchrow(
        "SELECT sender, sources_listed FROM meetings.rejection WHERE source = $1 AND event_id = $2", source, event["id"]
    )
    assert row is not None and (row["sender"], row["sources_listed"]) == (b, False)


async def test_a_rejection_that_came_without_a_list_is_replayed_by_the_registrys_rule(
    unit_of_two: dict[str, Any], db: Any
) -> None:
    """Replays of the kind: B's event refused for its data, sent without a list under a source no account registered,
    is accepted once corrected on an operator's replay, not refused as a source B never registered."""
    place = unit_of_two
    source = f"urn:test:{random_id('unlisted')}"
    event = ev.member(random_id("mem"), place["cell"], source=source, data={"status": "asleep"})
    refused = await unlisted(place, event)
    assert (refused["outcome"], refused["field"]) == ("rejected", "data.status"), refused
    corrected = {**event, "data": {**event["data"], "status": "official"}}
    rejection_id = await rejection_of(db, source, event["id"])
    replayed = await place["methods"]["replay_rejection"](rejection_id=rejection_id, event=corrected)
    assert replayed["outcome"] == "accepted", replayed
    assert await db.fetchval("SELECT cell_id FROM meetings.member WHERE id = $1", event["data"]["id"]) == place["cell"]
