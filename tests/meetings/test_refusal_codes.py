"""A refusal or a hold carries its machine-readable code (shared.refusals) from the rule that raised it to the RPC
answer, so a reader words it by the code and never by parsing the English reason. On fakes, then over the real
database through meetings.rpc as the RPC queue runs it."""

from datetime import timedelta

import pytest

from services.meetings import handlers, queries
from services.meetings import rpc as meetings_rpc
from services.meetings.config import Settings
from services.meetings.context import meetings_context
from shared.contracts.meetings_rpc import GetHeldEvent, GetOpenRejection, HeldEventReply, IngestReply, RejectionReply
from shared.envelope import GATEWAY_SOURCE
from shared.refusals import Refusal, RefusalCode
from shared.rpc import RpcError
from tests.meetings import events as ev
from tests.meetings.rejection_cases import cases
from tests.meetings.test_rules import START, world
from tests.meetings.test_scoping import rpc_methods
from tests.support.ids import random_id


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("attendance of a cancelled meeting", RefusalCode.MEETING_CANCELLED),
        ("approval of a cancelled meeting", RefusalCode.MEETING_CANCELLED),
        ("reschedule after the cancellation", RefusalCode.MEETING_CANCELLED),
        ("attendance of a member of another cell", RefusalCode.MEMBER_NOT_IN_CELL),
        ("minutes chaired by someone outside the cell", RefusalCode.MEMBER_NOT_IN_CELL),
        ("cell without a parent", RefusalCode.UNIT_WITHOUT_PARENT),
        ("known cell moved to the root", RefusalCode.UNIT_WITHOUT_PARENT),
    ],
)
async def test_a_rejection_by_a_rule_carries_its_code(case: str, code: RefusalCode) -> None:
    store, ids = await world()
    raw, _field = cases(ids, start=START)[case]
    [result] = await handlers.ingest_batch([raw], store.uow, route="test")
    assert result.outcome == "rejected" and result.refusal is not None
    assert result.refusal.code is code
    if code is RefusalCode.MEMBER_NOT_IN_CELL:
        assert result.refusal.member_id == ids["stranger"]
    assert result.as_dict(0)["refusal"]["code"] == code.value


async def test_a_refusal_about_the_meetings_state_says_which_state() -> None:
    store, ids = await world()
    held, minuted = random_id("mtg"), random_id("mtg")
    feed = [
        ev.scheduled(held, ids["cell"], starts_at=START),
        ev.attendance(held, {ids["mem"]: "present"}),
        ev.minutes(held, chair_id=ids["mem"], started_at=START, time=ev.BASE_TIME + timedelta(days=1)),
        ev.scheduled(minuted, ids["cell"], starts_at=START),
        ev.minutes(minuted, chair_id=ids["mem"], started_at=START, time=ev.BASE_TIME + timedelta(days=1)),
    ]
    assert {r.outcome for r in await handlers.ingest_batch(feed, store.uow, route="test")} == {"accepted"}
    # the secretary's commands (the gateway's source): an integration's cancel and move are stored
    cancel = ev.raw_event("meeting.cancelled.v1", {"meeting_id": held, "reason": "Trùng lịch"}, source=GATEWAY_SOURCE)
    move = ev.raw_event(
        "meeting.rescheduled.v1",
        {"meeting_id": minuted, "starts_at": (START + timedelta(days=1)).isoformat()},
        time=ev.BASE_TIME + timedelta(days=2),
        source=GATEWAY_SOURCE,
    )
    cancelled, moved = await handlers.ingest_batch([cancel, move], store.uow, route="test")
    assert cancelled.refusal is not None and cancelled.refusal.code is RefusalCode.MEETING_ALREADY_HELD
    assert moved.refusal is not None and moved.refusal.code is RefusalCode.MEETING_MINUTES_RECORDED


async def test_a_meeting_with_a_roster_and_no_minutes_is_scheduled_and_may_be_cancelled(  # type: ignore[no-untyped-def]
    meetings_pool,
) -> None:
    """The user trial: a roster without minutes read `held` ("Đã họp") and a secretary's cancel was refused as
    "already held", while DOMAIN.md holds a meeting held only once it has minutes. It reads `scheduled` until its
    minutes arrive and the secretary may cancel it; once minutes are in it is held and the cancel is refused."""
    methods = rpc_methods(meetings_pool)
    commune, cell, member = random_id("demo-xa"), random_id("demo-cb"), random_id("demo-dv")
    roster_only, minuted = f"{cell}-2026-02", f"{cell}-2026-03"
    start = ev.BASE_TIME + timedelta(days=40)  # past: a secretary's commands about it are judged on its state only
    feed = [
        ev.unit(commune, kind="committee", name="Đảng ủy xã"),
        ev.unit(cell, parent_id=commune, name="Chi bộ thôn 1"),
        ev.member(member, cell),
        ev.scheduled(roster_only, cell, starts_at=start, kind="regular"),
        ev.attendance(roster_only, {member: "present"}),
        ev.scheduled(minuted, cell, starts_at=start + timedelta(days=28), kind="regular"),
        ev.attendance(minuted, {member: "present"}),
        ev.minutes(minuted, chair_id=member, started_at=start + timedelta(days=28)),
    ]
    reply = await methods["ingest"](events=feed, route="http", account="feed")
    assert [result["outcome"] for result in reply["results"]] == ["accepted"] * len(feed)

    async def status(meeting_id: str) -> str:
        async with meetings_pool.acquire() as conn:
            found = await queries.get_meeting(conn, meeting_id)
            listed = await queries.list_meetings(conn, cell_id=cell, period=None, limit=10, offset=0)
        assert found is not None and found["attendance"] is not None  # the roster is there all the same
        [summary] = [item for item in listed["items"] if item["meeting_id"] == meeting_id]
        assert summary["status"] == found["status"]
        return str(found["status"])

    assert await status(roster_only) == "scheduled"
    assert await status(minuted) == "minutes_submitted"

    def cancel(meeting_id: str) -> dict[str, object]:
        return ev.raw_event(
            "meeting.cancelled.v1", {"meeting_id": meeting_id, "reason": "Trùng lịch"}, source=GATEWAY_SOURCE
        )

    [refused] = (await methods["ingest"](events=[cancel(minuted)], route="http", account="secretary"))["results"]
    assert refused["outcome"] == "rejected" and refused["refusal"]["code"] == RefusalCode.MEETING_ALREADY_HELD.value
    [cancelled] = (await methods["ingest"](events=[cancel(roster_only)], route="http", account="secretary"))["results"]
    assert cancelled["outcome"] == "accepted", cancelled
    assert await status(roster_only) == "cancelled"


async def test_a_hold_on_an_unknown_member_carries_its_code_and_the_member() -> None:
    store, ids = await world()
    nobody = random_id("mem")
    [result] = await handlers.ingest_batch(
        [ev.attendance(ids["mtg"], {ids["mem"]: "present", nobody: "present"})], store.uow, route="test"
    )
    assert (result.outcome, result.waiting_for) == ("held", f"member:{nobody}")
    assert result.refusal is not None
    assert (result.refusal.code, result.refusal.member_id) == (RefusalCode.MEMBER_UNKNOWN, nobody)


async def test_meetings_rpc_answers_a_cancelled_meetings_command_with_its_code(  # type: ignore[no-untyped-def]
    meetings_pool, db
) -> None:
    methods = rpc_methods(meetings_pool)
    commune, cell, member = random_id("demo-xa"), random_id("demo-cb"), random_id("demo-dv")
    meeting = f"{cell}-2026-12"
    start = ev.BASE_TIME + timedelta(days=330)
    feed = [
        ev.unit(commune, kind="committee", name="Đảng ủy xã"),
        ev.unit(cell, parent_id=commune, name="Chi bộ thôn 1"),
        ev.member(member, cell),
        ev.scheduled(meeting, cell, starts_at=start, kind="regular"),
        ev.raw_event("meeting.cancelled.v1", {"meeting_id": meeting, "reason": "Mưa bão"}),
    ]
    reply = await methods["ingest"](events=feed, route="http", account="feed")
    assert [result["outcome"] for result in reply["results"]] == ["accepted"] * 5
    roster = ev.attendance(meeting, {member: "present"}, source=GATEWAY_SOURCE)  # the secretary's web form
    answered = await methods["ingest"](events=[roster], route="http", account="secretary")
    # the wire form, read as the gateway reads it: the code is typed, the English reason is still there for logs
    [result] = IngestReply.model_validate(answered).results
    assert result.outcome == "rejected" and result.field == "data.meeting_id"
    assert result.refusal is not None and result.refusal.code is RefusalCode.MEETING_CANCELLED
    assert result.reason and "is cancelled" in result.reason

    assert await db.fetchval("SELECT reason FROM meetings.rejection WHERE event_id = $1", roster["id"]) == result.reason
    async with meetings_pool.acquire() as conn:  # the stored rejection keeps the code (answered on the form: closed)
        listed = await queries.list_rejections(
            conn, limit=50, offset=0, type="attendance.recorded.v1", status="dismissed"
        )
    [stored] = [RejectionReply.model_validate(item) for item in listed["items"] if item["event_id"] == roster["id"]]
    assert stored.refusal is not None and stored.refusal.code is RefusalCode.MEETING_CANCELLED

    broken = ev.raw_event("meeting.cancelled.v1", {"meeting_id": random_id("mtg")})  # no reason: rejected
    await methods["ingest"](events=[broken], route="http", account="x")
    broken_id = await db.fetchval("SELECT rejection_id FROM meetings.rejection WHERE event_id = $1", broken["id"])
    fixed = {**broken, "data": {"meeting_id": broken["data"]["meeting_id"], "reason": "Trùng lịch"}}
    outcome = (await methods["replay_rejection"](rejection_id=broken_id, event=fixed))["outcome"]
    assert outcome in ("accepted", "held")
    with pytest.raises(RpcError) as again:
        await methods["replay_rejection"](rejection_id=broken_id)
    refusal = again.value.refusal
    assert again.value.code == "conflict" and refusal is not None
    # the refusal says what the replay did and when; `accepted_at` only of an event it accepted
    assert refusal.code is RefusalCode.ALREADY_REPLAYED and refusal.replayed_at is not None
    assert refusal.outcome == outcome and (refusal.accepted_at is not None) == (outcome == "accepted")


async def test_a_held_event_keeps_its_code_for_the_held_list(meetings_pool, db) -> None:  # type: ignore[no-untyped-def]
    """The held list (meetings.rpc list_held_events) says why each event waits by code, as the command's answer did."""
    methods = rpc_methods(meetings_pool)
    commune, cell, nobody = random_id("demo-xa"), random_id("demo-cb"), random_id("demo-dv")
    meeting = f"{cell}-2026-12"
    feed = [
        ev.unit(commune, kind="committee", name="Đảng ủy xã"),
        ev.unit(cell, parent_id=commune, name="Chi bộ thôn 1"),
        ev.scheduled(meeting, cell, starts_at=ev.BASE_TIME + timedelta(days=330), kind="regular"),
    ]
    await methods["ingest"](events=feed, route="http", account="feed")
    roster = ev.attendance(meeting, {nobody: "present"})
    [result] = (await methods["ingest"](events=[roster], route="http", account="secretary"))["results"]
    assert result["outcome"] == "held"
    assert (result["refusal"]["code"], result["refusal"]["member_id"]) == ("member_unknown", nobody)
    row = await db.fetchrow(
        "SELECT source, event_id, type, waiting_for, reason, field, route, held_at, NULL AS data_preview,"
        " refusal::text AS refusal FROM meetings.held_event WHERE event_id = $1",
        roster["id"],
    )
    held = HeldEventReply.model_validate(queries._with_refusal(row))
    assert held.refusal is not None
    assert (held.refusal.code, held.refusal.member_id) == (RefusalCode.MEMBER_UNKNOWN, nobody)


async def test_a_held_event_sent_again_is_still_held_and_its_hold_can_be_read_back(  # type: ignore[no-untyped-def]
    meetings_pool,
) -> None:
    """A command sent again while its first copy is held is answered `held` again, with the first answer's why and
    what for (trial 43: it was `duplicate`, with no `waiting_for`); get_held_event gives the gateway the same; once the
    referent arrives and the event applies, it is held no more (not_found)."""
    app = meetings_context(Settings(), meetings_pool)
    methods = rpc_methods(meetings_pool)
    commune, cell, newcomer = random_id("demo-xa"), random_id("demo-cb"), random_id("demo-dv")
    meeting = f"{cell}-2026-12"
    feed = [
        ev.unit(commune, kind="committee", name="Đảng ủy xã"),
        ev.unit(cell, parent_id=commune, name="Chi bộ thôn 1"),
        ev.scheduled(meeting, cell, starts_at=ev.BASE_TIME + timedelta(days=330), kind="regular"),
    ]
    await methods["ingest"](events=feed, route="http", account="feed")
    roster = ev.attendance(meeting, {newcomer: "present"})
    [first] = (await methods["ingest"](events=[roster], route="http", account="secretary"))["results"]
    [again] = (await methods["ingest"](events=[roster], route="http", account="secretary"))["results"]
    assert (first["outcome"], again["outcome"]) == ("held", "held")
    assert again == first

    asked = GetHeldEvent(source=roster["source"], event_id=roster["id"])
    held = await meetings_rpc.get_held_event(asked, app)
    said = ("waiting_for", "reason", "field")
    assert [held[key] for key in said] == [first[key] for key in said]
    assert Refusal.model_validate(held["refusal"]) == Refusal.model_validate(first["refusal"])
    assert held["type"] == "attendance.recorded.v1"

    await methods["ingest"](events=[ev.member(newcomer, cell)], route="http", account="feed")
    with pytest.raises(RpcError) as applied:
        await meetings_rpc.get_held_event(asked, app)
    assert (applied.value.code, applied.value.field) == ("not_found", "event_id")


async def test_a_hold_that_runs_out_is_an_open_rejection_coded_hold_expired_naming_the_member(  # type: ignore[no-untyped-def]
    meetings_pool,
) -> None:
    """When the hold time runs out, the rejection carries HOLD_EXPIRED and the member the hold waited for, and
    get_open_rejection gives it to the gateway (a web form sent again says why it was not recorded); none before."""
    app = meetings_context(Settings(), meetings_pool)
    methods = rpc_methods(meetings_pool)
    commune, cell, newcomer = random_id("demo-xa"), random_id("demo-cb"), random_id("demo-dv")
    meeting = f"{cell}-2026-12"
    feed = [
        ev.unit(commune, kind="committee", name="Đảng ủy xã"),
        ev.unit(cell, parent_id=commune, name="Chi bộ thôn 1"),
        ev.scheduled(meeting, cell, starts_at=ev.BASE_TIME + timedelta(days=330), kind="regular"),
    ]
    await methods["ingest"](events=feed, route="http", account="feed")
    roster = ev.attendance(meeting, {newcomer: "present"})
    [first] = (await methods["ingest"](events=[roster], route="http", account="secretary"))["results"]
    assert first["outcome"] == "held"
    asked = GetOpenRejection(source=roster["source"], event_id=roster["id"])
    with pytest.raises(RpcError) as none_yet:
        await meetings_rpc.get_open_rejection(asked, app)
    assert (none_yet.value.code, none_yet.value.field) == ("not_found", "event_id")

    async with app.uow_factory() as uow:
        assert await handlers.expire_holds(uow, timeout=timedelta(seconds=0)) >= 1
        await uow.commit()
    rejection = RejectionReply.model_validate(await meetings_rpc.get_open_rejection(asked, app))
    assert rejection.status == "open" and rejection.refusal is not None
    assert (rejection.refusal.code, rejection.refusal.member_id) == (RefusalCode.HOLD_EXPIRED, newcomer)
