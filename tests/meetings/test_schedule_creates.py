"""A secretary's schedule command creates a meeting and never overwrites one (a trial's second schedule under a known
id turned a thematic meeting into a regular one, dropped its topic and moved its date); an integration's
meeting.scheduled.v1 stays a snapshot, the latest winning. On fakes, then over the real database with two creates
at the same moment."""

import asyncio
from datetime import timedelta

from services.meetings import handlers
from shared.envelope import GATEWAY_SOURCE
from shared.refusals import RefusalCode
from tests.meetings import events as ev
from tests.meetings.test_rules import START, world
from tests.meetings.test_scoping import rpc_methods
from tests.support.ids import random_id


async def test_a_secretarys_schedule_under_a_known_id_is_refused_and_changes_nothing() -> None:
    store, ids = await world()
    meeting, start = random_id("mtg"), START + timedelta(days=2)  # the world's own meeting is at START
    first = ev.scheduled(meeting, ids["cell"], starts_at=start, kind="thematic", source=GATEWAY_SOURCE)
    again = ev.scheduled(
        meeting, ids["cell"], starts_at=start + timedelta(days=3), kind="regular", source=GATEWAY_SOURCE
    )
    created, refused = await handlers.ingest_batch([first, again], store.uow, route="test")
    assert created.outcome == "accepted"
    assert (refused.outcome, refused.field) == ("rejected", "data.meeting_id")
    assert refused.refusal is not None and refused.refusal.code is RefusalCode.MEETING_EXISTS
    assert refused.reason and "reschedule" in refused.reason
    stored = store.state.meetings[meeting]
    assert (stored["kind"], stored["starts_at"], stored.get("topic")) == ("thematic", start, first["data"]["topic"])


async def test_an_integrations_schedule_snapshot_still_replaces_the_earlier_one() -> None:
    store, ids = await world()
    meeting = random_id("mtg")
    first = ev.scheduled(meeting, ids["cell"], starts_at=START, kind="thematic")
    later = ev.scheduled(
        meeting, ids["cell"], starts_at=START + timedelta(days=3), time=ev.BASE_TIME + timedelta(hours=1)
    )
    results = await handlers.ingest_batch([first, later], store.uow, route="test")
    assert [result.outcome for result in results] == ["accepted", "accepted"]
    stored = store.state.meetings[meeting]
    assert (stored["kind"], stored["starts_at"]) == ("regular", START + timedelta(days=3))


async def test_two_creates_at_the_same_moment_schedule_one_meeting(meetings_pool, db) -> None:  # type: ignore[no-untyped-def]
    methods = rpc_methods(meetings_pool)
    commune, cell = random_id("demo-xa"), random_id("demo-cb")
    feed = [ev.unit(commune, kind="committee", name="Đảng ủy xã"), ev.unit(cell, parent_id=commune)]
    assert [r["outcome"] for r in (await methods["ingest"](events=feed, route="http", account="feed"))["results"]] == [
        "accepted",
        "accepted",
    ]
    meeting = f"{cell}-2026-12"
    start = ev.BASE_TIME + timedelta(days=330)
    creates = [
        ev.scheduled(meeting, cell, starts_at=start, kind="thematic", source=GATEWAY_SOURCE),
        ev.scheduled(meeting, cell, starts_at=start + timedelta(days=2), kind="regular", source=GATEWAY_SOURCE),
    ]
    answers = await asyncio.gather(
        *(methods["ingest"](events=[create], route="http", account="secretary") for create in creates)
    )
    results = [answer["results"][0] for answer in answers]
    assert sorted(result["outcome"] for result in results) == ["accepted", "rejected"]
    [refused] = [result for result in results if result["outcome"] == "rejected"]
    assert refused["field"] == "data.meeting_id" and refused["refusal"]["code"] == "meeting_exists"
    [won] = [create for create, result in zip(creates, results, strict=True) if result["outcome"] == "accepted"]
    kind = await db.fetchval("SELECT kind FROM meetings.meeting WHERE meeting_id = $1", meeting)
    assert kind == won["data"]["kind"]


async def test_the_same_schedule_sent_twice_at_once_is_a_duplicate_not_a_conflict(meetings_pool, db) -> None:  # type: ignore[no-untyped-def]
    """A form double-clicked is one event sent twice (its id derived from the form): one accepted, one duplicate."""
    methods = rpc_methods(meetings_pool)
    commune, cell = random_id("demo-xa"), random_id("demo-cb")
    feed = [ev.unit(commune, kind="committee", name="Đảng ủy xã"), ev.unit(cell, parent_id=commune)]
    await methods["ingest"](events=feed, route="http", account="feed")
    create = ev.scheduled(f"{cell}-2026-12", cell, starts_at=ev.BASE_TIME + timedelta(days=330), source=GATEWAY_SOURCE)
    answers = await asyncio.gather(
        *(methods["ingest"](events=[create], route="http", account="secretary") for _ in range(2))
    )
    assert sorted(answer["results"][0]["outcome"] for answer in answers) == ["accepted", "duplicate"]
