"""A held event ("tạm giữ") is judged again as a replay is when it is released or retried: by the sources its sending
account holds now, never by a source registered to (or moved to) another account while it waited (real PostgreSQL,
meetings' RPC methods as the gateway calls them)."""

import json
from typing import Any

from services.meetings import rpc as meetings_rpc
from shared.contracts import meetings_rpc as contract
from tests.meetings import events as ev
from tests.meetings.test_replay_judged_as_its_sender import place, send, sync, unit_of_two
from tests.support.ids import random_id

__all__ = ["place", "unit_of_two"]  # the fixtures (unit_of_two builds on place), used by name


async def retry(place: dict[str, Any], source: str, event_id: str) -> dict[str, Any]:
    """An operator's "judge again now" of a held event (POST /v1/held/.../retry)."""
    request = contract.RetryHeldEvent(source=source, event_id=event_id)
    return await meetings_rpc.retry_held_event(request, place["app"])


async def held_member(place: dict[str, Any], who: str) -> tuple[dict[str, Any], str]:
    """`who`'s member event under its own source, held waiting for a cell of the commune not yet known."""
    cell = random_id("cell")
    source = place[who][1]
    event = ev.member(random_id("mem"), cell, source=source)
    held = await send(place, who, event, [source])
    assert (held["outcome"], held["waiting_for"]) == ("held", f"unit:{cell}"), held
    return event, cell


async def refused_as_unregistered(db: Any, event: dict[str, Any], sender: str, *, replayed: bool = False) -> None:
    """`event` is not applied, no longer held, and stored refused source_not_registered naming `source`, as sent by
    `sender`, for an operator to see (`replayed`: as its rejection's last replay's refusal, beside its first)."""
    member_id = event["data"]["id"]
    assert await db.fetchval("SELECT count(*) FROM meetings.member WHERE id = $1", member_id) == 0
    assert (
        await db.fetchval(
            "SELECT count(*) FROM meetings.held_event WHERE source = $1 AND event_id = $2", event["source"], event["id"]
        )
        == 0
    )
    row = await db.fetchrow(
        f"SELECT {'last_replay_field' if replayed else 'field'} AS field,"
        f" {'last_replay_refusal' if replayed else 'refusal'} AS refusal, sender, status"
        " FROM meetings.rejection WHERE source = $1 AND event_id = $2",
        event["source"],
        event["id"],
    )
    assert row is not None
    assert (row["field"], json.loads(row["refusal"])["code"], row["sender"], row["status"]) == (
        "source",
        "source_not_registered",
        sender,
        "open",
    )


async def test_a_held_event_retried_after_its_source_moved_to_another_account_is_refused(
    unit_of_two: dict[str, Any], db: Any
) -> None:
    """B's member event waited for its cell; B's source was then registered to A. An operator's retry judged it as
    B's under what is now A's source (held again, to be applied once the cell came). It is refused
    source_not_registered naming `source`, before what it waits for, as a new event's source is judged first."""
    place = unit_of_two
    (a, a_source), (b, b_source) = place["a"], place["b"]
    event, _ = await held_member(place, "b")
    await sync(place, {a: [a_source, b_source], b: []})
    retried = await retry(place, event["source"], event["id"])
    assert (retried["outcome"], retried["field"]) == ("rejected", "source"), retried
    assert retried["refusal"]["code"] == "source_not_registered", retried
    await refused_as_unregistered(db, event, b)


async def test_a_held_event_released_by_its_referent_is_judged_by_its_senders_sources_now(
    unit_of_two: dict[str, Any], db: Any
) -> None:
    """The whole kind: a held event released when what it waited for arrives (not an operator's retry) is judged so
    too; while its sender still holds the source it is applied as before."""
    place = unit_of_two
    (a, a_source), (b, b_source) = place["a"], place["b"]
    kept, kept_cell = await held_member(place, "b")
    moved, moved_cell = await held_member(place, "a")
    await sync(place, {a: [], b: [b_source, a_source]})  # A's source is B's now
    for cell in (kept_cell, moved_cell):
        made = await send(place, "b", ev.unit(cell, parent_id=place["commune"], source=b_source), [b_source])
        assert made["outcome"] == "accepted", made
    assert await db.fetchval("SELECT cell_id FROM meetings.member WHERE id = $1", kept["data"]["id"]) == kept_cell
    await refused_as_unregistered(db, moved, a)


async def test_a_replay_held_keeps_its_sender_for_its_release(unit_of_two: dict[str, Any], db: Any) -> None:
    """An operator's corrected replay of B's refused event, held for its cell, was parked with no account: once B's
    source was A's, the cell's arrival applied it. The hold keeps B, and its release is refused as B's."""
    place = unit_of_two
    (a, a_source), (b, b_source) = place["a"], place["b"]
    cell = random_id("cell")
    event = ev.member(random_id("mem"), cell, source=b_source, data={"status": "asleep"})
    refused = await send(place, "b", event, [b_source])
    assert (refused["outcome"], refused["field"]) == ("rejected", "data.status"), refused
    rejection_id = await db.fetchval(
        "SELECT rejection_id FROM meetings.rejection WHERE source = $1 AND event_id = $2", b_source, event["id"]
    )
    corrected = {**event, "data": {**event["data"], "status": "official"}}
    held = await place["methods"]["replay_rejection"](rejection_id=rejection_id, event=corrected)
    assert held["outcome"] == "held", held
    await sync(place, {a: [a_source, b_source], b: []})
    made = await send(place, "a", ev.unit(cell, parent_id=place["commune"], source=a_source), [a_source, b_source])
    assert made["outcome"] == "accepted", made
    await refused_as_unregistered(db, event, b, replayed=True)
