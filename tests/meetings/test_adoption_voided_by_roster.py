"""A roster issued after the cell adopted the minutes was refused on the secretary's route
(domain.check_adopted_roster_unchanged) but stored silently from an integration (POST /v1/events, chibo.ingest, a
batch), the meeting still saying "adopted" over a roster nobody adopted. The roster is part of the adopted record
(DOMAIN.md "Meetings": the minutes hold the members present and absent with reasons), so such a roster saying
otherwise voids the adoption as later minutes do (domain.adoption_in_force, shared.minutes), in either arrival order,
and the page says what voided it (`adoption_voided_by`); the same roster sent again (its lines in another order) or an
older roster that does not replace the stored one leaves it standing.

Over the real broker and database, by the three routes of test_meeting_state_rules_both_routes.
"""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from shared.rpc import RpcClient
from tests.meetings import events as ev
from tests.meetings.feed import Feed, feed
from tests.meetings.test_cancelled_stays_quiet import rpc
from tests.meetings.test_meeting_state_rules_both_routes import (
    ROUTES,
    START,
    adoption,
    maybe_meeting,
    minutes,
    received,
    send,
)
from tests.support.ids import random_id
from tests.support.running import eventually

__all__ = ["rpc"]  # the fixture, shared with test_cancelled_stays_quiet

ADOPTED_AT = START + timedelta(hours=2, minutes=1)


@pytest.fixture(scope="module")
async def world(rpc: RpcClient, amqp_url: str) -> AsyncIterator[tuple[Feed, dict[str, str]]]:
    """A committee, a cell and its two members."""
    ids = {"committee": random_id("xa"), "cell": random_id("cb"), "mem": random_id("dv"), "mem2": random_id("dv")}
    async with feed(amqp_url) as bus:
        world = [
            ev.unit(ids["committee"], kind="committee", name="Đảng ủy xã"),
            ev.unit(ids["cell"], parent_id=ids["committee"]),
            ev.member(ids["mem"], ids["cell"]),
            ev.member(ids["mem2"], ids["cell"]),
        ]
        await send(rpc, bus, "http", world)
        yield bus, ids


def roster(ids: dict[str, str], mtg: str, *, time: Any, second: str = "present", reverse: bool = False) -> dict:
    """The meeting's roster: the chair present, the second member `second` (another status is another roster);
    `reverse` lists them in the other order (the same roster)."""
    records = {ids["mem"]: "present", ids["mem2"]: second}
    return ev.attendance(mtg, dict(reversed(records.items())) if reverse else records, time=time)


async def outcome(
    rpc: RpcClient, bus: Feed, db: asyncpg.Connection, route: str, ids: dict[str, str], late: list[dict]
) -> tuple[Any, ...]:
    """(status, approved_at, adoption_voided_at, adoption_voided_by) of a meeting held with the first roster and
    minutes, once `late` (sent one at a time, in that order) are all processed."""
    mtg = late[0]["data"]["meeting_id"]
    await send(
        rpc,
        bus,
        route,
        [
            ev.scheduled(mtg, ids["cell"], starts_at=START, time=START - timedelta(days=5)),
            roster(ids, mtg, time=START + timedelta(hours=1)),
            minutes(ids, mtg, time=START + timedelta(hours=2)),
        ],
    )
    for one in late:  # one at a time, so each arrival order is the one received
        await send(rpc, bus, route, [one])
        await eventually(lambda one=one: received(db, one["id"]), timeout=60)
    stored = await maybe_meeting(db, mtg)
    assert stored is not None
    return stored["status"], stored["approved_at"], stored["adoption_voided_at"], stored.get("adoption_voided_by")


@pytest.mark.parametrize("route", ROUTES)
async def test_another_roster_issued_after_the_adoption_voids_it_in_either_order(
    world: tuple[Feed, dict[str, str]], rpc: RpcClient, db: asyncpg.Connection, route: str
) -> None:
    bus, ids = world
    seen = {}
    for order in ("adoption_first", "roster_first"):
        mtg = random_id("mtg")
        changed = roster(ids, mtg, time=START + timedelta(hours=14), second="excused")
        approval = adoption(mtg, time=ADOPTED_AT)
        seen[order] = await outcome(
            rpc, bus, db, route, ids, [approval, changed] if order == "adoption_first" else [changed, approval]
        )
    assert seen == {order: ("minutes_submitted", None, ADOPTED_AT, "roster") for order in seen}
    # a newer adoption adopts the roster in force
    newer = adoption(mtg, time=START + timedelta(hours=15))
    await send(rpc, bus, route, [newer])
    await eventually(lambda: received(db, newer["id"]), timeout=60)
    stored = await maybe_meeting(db, mtg)
    assert stored is not None and stored["status"] == "minutes_approved"
    assert stored.get("adoption_voided_by") is None


@pytest.mark.parametrize("route", ROUTES)
async def test_the_same_roster_resent_or_an_older_one_leaves_the_adoption_standing_in_any_order(
    world: tuple[Feed, dict[str, str]], rpc: RpcClient, db: asyncpg.Connection, route: str
) -> None:
    bus, ids = world
    seen = {}
    for late in ("resent_after", "resent_before", "older_after", "older_before"):
        mtg = random_id("mtg")
        if late.startswith("resent"):
            other = roster(ids, mtg, time=START + timedelta(hours=14), reverse=True)
        else:  # issued before the stored roster: it does not replace it
            other = roster(ids, mtg, time=START + timedelta(minutes=30), second="absent")
        approval = adoption(mtg, time=ADOPTED_AT)
        seen[late] = await outcome(
            rpc, bus, db, route, ids, [approval, other] if late.endswith("after") else [other, approval]
        )
    assert seen == {late: ("minutes_approved", ADOPTED_AT, None, None) for late in seen}
