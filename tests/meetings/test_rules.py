"""The ingest rules on fakes (tests/meetings/fakes.py): every rejection reason, holds, cancellation rules.

The same handlers as in production run against FakeUnitOfWork, so these need no PostgreSQL; the
repositories' SQL is covered by the integration tests (order independence, bulk load, end to end).
"""

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from services.meetings import handlers
from services.meetings.domain import Version
from shared.contracts import meetings as contract
from shared.envelope import GATEWAY_SOURCE
from tests.meetings import events as ev
from tests.meetings.fakes import FakeStore, FakeUnitOfWork
from tests.meetings.rejection_cases import CASE_NAMES, WORLD_IDS, cases, world_events
from tests.support.ids import random_id

START = ev.BASE_TIME + timedelta(days=10)


async def world() -> tuple[FakeStore, dict[str, str]]:
    """A fresh store holding the rejection cases' world, every event of it accepted."""
    store, ids = FakeStore(), {name: random_id(name) for name in WORLD_IDS}
    results = await handlers.ingest_batch(world_events(ids, start=START), store.uow, route="test")
    assert {result.outcome for result in results} == {"accepted"}
    return store, ids


@pytest.mark.parametrize("case", CASE_NAMES)
async def test_rejects_with_a_reason_naming_the_field(case: str) -> None:
    store, ids = await world()
    raw, field = cases(ids, start=START)[case]
    [result] = await handlers.ingest_batch([raw], store.uow, route="test")
    assert (result.outcome, result.field) == ("rejected", field)
    stored = store.rejection_of(raw["id"])
    assert stored is not None and stored["field"] == field and stored["status"] == "open"
    assert json.loads(stored["raw"])["id"] == raw["id"]
    [published] = [e for e in store.published("ingest.rejected.v1") if e.data["event_id"] == raw["id"]]
    assert published.data["field"] == field and published.data["reason"] == stored["reason"]
    assert published.source == "urn:chibo:meetings"


async def test_a_secretary_cannot_cancel_a_meeting_held_but_may_one_with_a_roster_only() -> None:
    """The secretary's web form (the gateway's source) is refused for a held meeting (minutes recorded), naming the
    meeting: a person is told it was held. A roster alone does not make it held (DOMAIN.md), so that one may be
    cancelled until its minutes arrive."""
    store, ids = await world()
    held, roster_only = random_id("mtg"), random_id("mtg")
    await handlers.ingest_batch(
        [
            ev.scheduled(held, ids["cell"], starts_at=START),
            ev.attendance(held, {ids["mem"]: "present"}),
            ev.minutes(held, chair_id=ids["mem"], started_at=START),
            ev.scheduled(roster_only, ids["cell"], starts_at=START),
            ev.attendance(roster_only, {ids["mem"]: "present"}),
        ],
        store.uow,
        route="test",
    )

    def cancel(mtg: str) -> dict[str, object]:
        return ev.raw_event("meeting.cancelled.v1", {"meeting_id": mtg, "reason": "Trùng lịch"}, source=GATEWAY_SOURCE)

    [result] = await handlers.ingest_batch([cancel(held)], store.uow, route="test")
    assert (result.outcome, result.field) == ("rejected", "data.meeting_id")
    assert store.state.meetings[held].get("cancel_version") is None
    [result] = await handlers.ingest_batch([cancel(roster_only)], store.uow, route="test")
    assert result.outcome == "accepted"
    assert store.state.meetings[roster_only].get("cancel_version") is not None


async def test_an_integrations_cancellation_of_a_held_meeting_takes_its_roster_out_of_the_histories() -> None:
    """An integration's cancellation after the roster is stored (facts arrive in any order); the member absent at
    the meeting is announced again without that absence, as a roster arriving after the cancellation leaves them."""
    store, ids = await world()
    mtg = random_id("mtg")
    roster = [
        ev.scheduled(mtg, ids["cell"], starts_at=START),
        ev.attendance(mtg, {ids["mem"]: "absent"}),
        ev.minutes(mtg, chair_id=ids["mem"], started_at=START),
    ]
    assert {r.outcome for r in await handlers.ingest_batch(roster, store.uow, route="test")} == {"accepted"}
    [absent] = [e for e in store.published("member.attendance.updated.v1") if e.data["member_id"] == ids["mem"]]
    assert absent.data["consecutive_absences"] == 1
    cancel = ev.raw_event("meeting.cancelled.v1", {"meeting_id": mtg, "reason": "Trùng lịch"})
    [result] = await handlers.ingest_batch([cancel], store.uow, route="test")
    assert result.outcome == "accepted"
    assert store.state.meetings[mtg]["cancel_reason"] == "Trùng lịch"
    announced = [e for e in store.published("member.attendance.updated.v1") if e.data["member_id"] == ids["mem"]]
    assert [e.data["consecutive_absences"] for e in announced] == [1, 0]
    assert announced[-1].data["meeting_id"] == mtg
    [republished] = [e for e in store.published("meeting.cancelled.v1") if e.data["meeting_id"] == mtg]
    assert republished.subject == mtg


def _announced(store: FakeStore, member_id: str) -> list[tuple[int, int, int, str]]:
    """The figures announced for a member (runs of absences and excused ones, unexcused months) and the meeting
    each names, in order."""
    return [
        (
            e.data["consecutive_absences"],
            e.data["consecutive_excused_absences"],
            e.data["unexcused_months_last_year"],
            e.data["meeting_id"],
        )
        for e in store.published("member.attendance.updated.v1")
        if e.data["member_id"] == member_id
    ]


async def test_rosters_of_meetings_without_minutes_count_in_no_member_history() -> None:
    """The fresh-user trial: a member excused at two held meetings, then at two extraordinary meetings that got a
    notice and a roster only (no minutes), has an excused run of 2, not 4 (DOMAIN.md: held = minutes, not
    cancelled); the second minutes make their meeting held and its roster counts from then on."""
    store, ids = await world()
    member = ids["mem"]
    held = [random_id("held"), random_id("held")]
    unheld = [random_id("extra"), random_id("extra")]
    events: list[dict[str, Any]] = []
    for index, mtg in enumerate(held + unheld):
        starts_at = START + timedelta(days=7 * index)
        kind = "extraordinary" if mtg in unheld else "regular"
        events += [ev.scheduled(mtg, ids["cell"], starts_at=starts_at, kind=kind)]
        events += [ev.attendance(mtg, {member: "excused"})]
        if mtg in held:
            events += [ev.minutes(mtg, chair_id=member, started_at=starts_at)]
    assert {r.outcome for r in await handlers.ingest_batch(events, store.uow, route="test")} == {"accepted"}
    assert _announced(store, member)[-1][:3] == (2, 2, 0)
    assert max(figures[1] for figures in _announced(store, member)) == 2  # 3 or 4 were never announced
    # the first extraordinary meeting's minutes arrive: it is held, and its roster counts (its members announced)
    late = ev.minutes(unheld[0], chair_id=member, started_at=START + timedelta(days=14))
    [result] = await handlers.ingest_batch([late], store.uow, route="test")
    assert result.outcome == "accepted"
    assert _announced(store, member)[-1] == (3, 3, 0, unheld[0])
    # other minutes of a meeting already held change no history
    again = ev.minutes(unheld[0], chair_id=member, started_at=START + timedelta(days=14, minutes=5))
    before = len(_announced(store, member))
    assert [r.outcome for r in await handlers.ingest_batch([again], store.uow, route="test")] == ["accepted"]
    assert len(_announced(store, member)) == before


async def test_cancelling_a_meeting_without_minutes_announces_no_history() -> None:
    """A roster alone never counted, so calling its meeting off moves no figure and locks no member."""
    store, ids = await world()
    mtg = random_id("mtg")
    roster = [ev.scheduled(mtg, ids["cell"], starts_at=START), ev.attendance(mtg, {ids["mem"]: "absent"})]
    assert {r.outcome for r in await handlers.ingest_batch(roster, store.uow, route="test")} == {"accepted"}
    before = _announced(store, ids["mem"])
    assert all(figures[:3] == (0, 0, 0) for figures in before)
    cancel = ev.raw_event("meeting.cancelled.v1", {"meeting_id": mtg, "reason": "Trùng lịch"})
    assert [r.outcome for r in await handlers.ingest_batch([cancel], store.uow, route="test")] == ["accepted"]
    assert _announced(store, ids["mem"]) == before


async def test_minutes_of_a_cancelled_meeting_announce_no_history() -> None:
    """An integration's minutes of a cancelled meeting are kept, but the meeting is not held: its roster still
    counts for nothing."""
    store, ids = await world()
    mtg = random_id("mtg")
    events = [
        ev.scheduled(mtg, ids["cell"], starts_at=START),
        ev.attendance(mtg, {ids["mem"]: "absent"}),
        ev.raw_event("meeting.cancelled.v1", {"meeting_id": mtg, "reason": "Trùng lịch"}),
        ev.minutes(mtg, chair_id=ids["mem"], started_at=START),
    ]
    assert {r.outcome for r in await handlers.ingest_batch(events, store.uow, route="test")} == {"accepted"}
    assert mtg in store.state.minutes
    assert all(figures[:3] == (0, 0, 0) for figures in _announced(store, ids["mem"]))


async def test_a_rejected_event_leaves_the_inbox_so_a_corrected_copy_is_judged_again() -> None:
    store, ids = await world()
    raw = ev.raw_event("meeting.cancelled.v1", {"meeting_id": ids["mtg"]})
    [first] = await handlers.ingest_batch([raw], store.uow, route="test")
    corrected = raw | {"data": {"meeting_id": ids["mtg"], "reason": "Trùng lịch"}}
    [second] = await handlers.ingest_batch([corrected], store.uow, route="test")
    assert (first.outcome, second.outcome) == ("rejected", "accepted")
    assert store.state.meetings[ids["mtg"]]["cancel_reason"] == "Trùng lịch"


async def test_a_failing_event_rolls_its_chunk_back_and_the_events_before_it_are_kept() -> None:
    store, ids = await world()
    good = ev.scheduled(random_id("mtg"), ids["cell"], starts_at=START)
    broken = ev.scheduled(random_id("mtg"), ids["cell"], starts_at=START)
    calls = {"n": 0}
    original = store.uow

    def flaky_uow() -> FakeUnitOfWork:
        uow = original()
        schedule = uow.meetings.schedule

        async def failing_schedule(data: contract.MeetingScheduled, *, version: Version, notified_at: datetime) -> bool:
            if data.meeting_id == broken["data"]["meeting_id"]:
                calls["n"] += 1
                raise ConnectionError("database went away")
            return await schedule(data, version=version, notified_at=notified_at)

        uow.meetings.schedule = failing_schedule  # type: ignore[method-assign]
        return uow

    with pytest.raises(ConnectionError):
        await handlers.ingest_batch([good, broken], flaky_uow, route="test")
    assert good["data"]["meeting_id"] in store.state.meetings  # judged again alone and committed
    assert broken["data"]["meeting_id"] not in store.state.meetings
    assert calls["n"] == 2  # once in the chunk, once alone


async def test_a_monitor_of_a_committee_two_levels_up_is_applied_whatever_the_order() -> None:
    """A province committee member follows a commune's cell: sent before the commune (so before the cell, held for
    it), the assignment is not rejected as "not above the cell" but applied once the commune and the cell arrive."""
    store = FakeStore()
    province, commune, cell = random_id("tinh"), random_id("xa"), random_id("cb")
    monitor = ev.raw_event(
        "monitor.assigned.v1",
        {"person_id": random_id("uv"), "full_name": "Lê Thị Hoa", "committee_id": province, "cell_id": cell},
    )
    first = [ev.unit(province, kind="committee", name="Tỉnh ủy"), ev.unit(cell, parent_id=commune), monitor]
    assert [r.outcome for r in await handlers.ingest_batch(first, store.uow, route="test")] == [
        "accepted",
        "held",
        "held",
    ]
    commune_event = ev.unit(commune, kind="committee", name="Đảng ủy xã", parent_id=province)
    assert [r.outcome for r in await handlers.ingest_batch([commune_event], store.uow, route="test")] == ["accepted"]
    again = await handlers.ingest_batch([monitor], store.uow, route="test")
    assert [result.outcome for result in again] == ["duplicate"]  # applied when the cell was released
    assert not store.rejection_of(monitor["id"])


@pytest.mark.parametrize("late", ["meeting.cancelled.v1", "meeting.rescheduled.v1"])
async def test_minutes_and_a_later_cancellation_or_move_end_alike_in_either_order(late: str) -> None:
    """An integration's roster and minutes and a cancellation issued after them (or a move issued before the meeting
    ended, arriving late), the same events sent in the two orders to two stores: every event is accepted and the
    stored meeting is the same (the old rules refused whichever of the two came second, so the end state hung on the
    arrival order). A move issued after the meeting ended is refused: test_move_after_minutes.py."""
    ids, mtg = {name: random_id(name) for name in WORLD_IDS}, random_id("mtg")
    record = [
        ev.scheduled(mtg, ids["cell"], starts_at=START),
        ev.attendance(mtg, {ids["mem"]: "absent"}, time=ev.BASE_TIME + timedelta(days=11)),
        ev.minutes(mtg, chair_id=ids["mem"], started_at=START, time=ev.BASE_TIME + timedelta(days=11, hours=1)),
    ]
    data = (
        {"meeting_id": mtg, "reason": "Mất điện"}
        if late == "meeting.cancelled.v1"
        else {"meeting_id": mtg, "starts_at": (START - timedelta(hours=1)).isoformat()}
    )
    issued = timedelta(days=12) if late == "meeting.cancelled.v1" else timedelta(days=9)
    after = ev.raw_event(late, data, time=ev.BASE_TIME + issued)
    states = []
    for feed in ([*record, after], [record[0], after, *record[1:]]):
        store = FakeStore()
        assert {r.outcome for r in await handlers.ingest_batch(world_events(ids, start=START), store.uow, route="t")}
        results = [(await handlers.ingest_batch([raw], store.uow, route="test"))[0] for raw in feed]
        assert [r.outcome for r in results] == ["accepted"] * 4
        meeting = store.state.meetings[mtg]
        async with store.uow() as uow:
            state = await uow.meetings.get_state(mtg)
        assert state is not None and state.has_minutes and state.has_roster
        states.append((meeting.get("cancel_reason"), meeting["starts_at"], state))
    assert states[0] == states[1]
    if late == "meeting.cancelled.v1":
        assert states[0][0] == "Mất điện"
    else:
        assert states[0][1] == START - timedelta(hours=1)
