"""An upgrade fault: minutes and rosters stored before migrations 0026 and 0027 had no content key, so on an upgraded
system an adopted meeting's minutes or roster re-sent later (the handbook's periodic resend) were judged against no
key at all (shared.minutes). The start's backfill (services/meetings/content_keys.py) gives every stored version
lacking one its key from the stored data: the same text re-sent later leaves the adoption standing, another voids it.

Over the real broker and database; the pre-migration state is made by deleting the meeting's key rows after storing."""

from datetime import timedelta

import asyncpg
import pytest

from services.meetings import content_keys
from shared.rpc import RpcClient
from tests.meetings import events as ev
from tests.meetings.feed import Feed
from tests.meetings.test_adoption_voided_by_roster import ADOPTED_AT, roster, world
from tests.meetings.test_cancelled_stays_quiet import rpc
from tests.meetings.test_meeting_state_rules_both_routes import START, adoption, maybe_meeting, minutes, received, send
from tests.support.ids import random_id
from tests.support.running import eventually

__all__ = ["rpc", "world"]  # the fixtures

LATER = START + timedelta(hours=14)


@pytest.mark.parametrize("late", ["same_minutes", "same_roster", "other_minutes", "other_roster"])
async def test_a_meeting_stored_before_its_keys_keeps_its_adoption_over_the_same_text_resent(
    world: tuple[Feed, dict[str, str]],
    rpc: RpcClient,
    db: asyncpg.Connection,
    meetings_pool: asyncpg.Pool,
    late: str,
) -> None:
    bus, ids = world
    mtg = random_id("mtg")
    stored = [
        ev.scheduled(mtg, ids["cell"], starts_at=START, time=START - timedelta(days=5)),
        roster(ids, mtg, time=START + timedelta(hours=1)),
        minutes(ids, mtg, time=START + timedelta(hours=2)),
        adoption(mtg, time=ADOPTED_AT),
    ]
    for one in stored:
        await send(rpc, bus, "amqp", [one])
        await eventually(lambda one=one: received(db, one["id"]), timeout=60)
    for table in ("minutes_content", "roster_content"):  # as stored before migrations 0026 and 0027
        await db.execute(f"DELETE FROM meetings.{table} WHERE meeting_id = $1", mtg)
    first = await content_keys.backfill(meetings_pool)
    assert first["minutes_content"]["added"] >= 1 and first["roster_content"]["added"] >= 1
    keys = await db.fetch("SELECT * FROM meetings.minutes_content UNION ALL SELECT * FROM meetings.roster_content")
    again = await content_keys.backfill(meetings_pool)
    assert again == {table: {"read": 0, "added": 0, "unreadable": 0} for table in again}
    assert (
        await db.fetch("SELECT * FROM meetings.minutes_content UNION ALL SELECT * FROM meetings.roster_content") == keys
    )
    resent = {
        "same_minutes": minutes(ids, mtg, time=LATER),
        "same_roster": roster(ids, mtg, time=LATER, reverse=True),
        "other_minutes": minutes(ids, mtg, time=LATER, minutes_long=60),
        "other_roster": roster(ids, mtg, time=LATER, second="excused"),
    }[late]
    await send(rpc, bus, "amqp", [resent])
    await eventually(lambda: received(db, resent["id"]), timeout=60)
    meeting = await maybe_meeting(db, mtg)
    assert meeting is not None
    if late.startswith("same"):
        assert (meeting["status"], meeting["adoption_voided_at"]) == ("minutes_approved", None)
    else:
        assert (meeting["status"], meeting["adoption_voided_at"]) == ("minutes_submitted", ADOPTED_AT)


async def test_a_stored_version_found_unreadable_is_read_at_one_start_only(
    world: tuple[Feed, dict[str, str]],
    rpc: RpcClient,
    db: asyncpg.Connection,
    meetings_pool: asyncpg.Pool,
) -> None:
    """Minutes and a roster their contract no longer accepts (stored under an older one) get no key; the start's
    backfill read and refused each again at every start, one warning each time. It notes them (migration 0028): the
    next start reads none of them."""
    bus, ids = world
    mtg = random_id("mtg")
    stored = [
        ev.scheduled(mtg, ids["cell"], starts_at=START, time=START - timedelta(days=5)),
        roster(ids, mtg, time=START + timedelta(hours=1)),
        minutes(ids, mtg, time=START + timedelta(hours=2)),
    ]
    for one in stored:
        await send(rpc, bus, "amqp", [one])
        await eventually(lambda one=one: received(db, one["id"]), timeout=60)
    for table in ("minutes_content", "roster_content"):  # stored before migrations 0026 and 0027
        await db.execute(f"DELETE FROM meetings.{table} WHERE meeting_id = $1", mtg)
    # as an older contract let them be: a chair id with spaces, guests not a list
    await db.execute("UPDATE meetings.minutes SET chair_id = 'không hợp lệ' WHERE meeting_id = $1", mtg)
    await db.execute("UPDATE meetings.roster SET guests = '{\"name\": 1}'::jsonb WHERE meeting_id = $1", mtg)
    first = await content_keys.backfill(meetings_pool)
    assert first["minutes_content"]["unreadable"] >= 1 and first["roster_content"]["unreadable"] >= 1
    noted = await db.fetch(
        "SELECT content_table FROM meetings.content_key_unreadable WHERE meeting_id = $1 ORDER BY 1", mtg
    )
    assert [row["content_table"] for row in noted] == ["minutes_content", "roster_content"]
    again = await content_keys.backfill(meetings_pool)
    assert again == {table: {"read": 0, "added": 0, "unreadable": 0} for table in again}
    assert not await db.fetchval(
        "SELECT EXISTS (SELECT 1 FROM meetings.minutes_content WHERE meeting_id = $1"
        " UNION ALL SELECT 1 FROM meetings.roster_content WHERE meeting_id = $1)",
        mtg,
    )
