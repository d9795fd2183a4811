"""A secretary's roster is judged against the minutes as the minutes are against the roster, whichever comes second.

A user trial saved and approved minutes, then saved a roster marking the chair, the recorder and 8 others
"absent": it was accepted, so the adopted minutes named an absent chair and 12 votes with 4 present, and the
attendance score changed after adoption. Once the minutes are adopted a secretary's roster is refused as the
minutes are (`minutes_adopted`; the same roster again is a no-op); before that, a roster that would make the recorded
minutes inconsistent is refused naming the roster line (or the roster), its reason saying every problem at once. An
integration's roster (a check-in device's) is a snapshot stored whatever arrived before it (CONTRACT.md: the state
converges whatever the arrival order), as its minutes are.
"""

from datetime import datetime, timedelta
from typing import Any

from services.meetings import handlers
from shared.envelope import GATEWAY_SOURCE, now
from shared.refusals import RefusalCode
from tests.meetings import events as ev
from tests.meetings.test_votes_and_roster_facts import accept, cell_of_three, judged, resolution


def roster(meeting: str, statuses: dict[str, str], *, time: datetime, source: str = GATEWAY_SOURCE) -> dict[str, Any]:
    """attendance.recorded.v1 of `statuses` (member to status), an excused line with its reason."""
    return ev.attendance(meeting, statuses, source=source, time=time)


async def test_a_secretarys_roster_after_the_minutes_are_adopted_is_refused_and_the_same_one_is_a_no_op(
    uow_factory: Any,
) -> None:
    sent = now().replace(microsecond=0)
    start = sent - timedelta(hours=3)
    members, meeting = await cell_of_three(uow_factory, starts_at=start)
    present = {member: "present" for member in members}
    minutes = ev.minutes(
        meeting,
        chair_id=members[0],
        started_at=start,
        source=GATEWAY_SOURCE,
        time=sent - timedelta(minutes=40),
        data={"resolutions": [resolution(3)]},
    )
    adopted = ev.raw_event(
        "minutes.approved.v1",
        {"meeting_id": meeting, "approved_at": (start + timedelta(hours=2)).isoformat(), "votes_for": 3},
        source=GATEWAY_SOURCE,
        time=sent - timedelta(minutes=30),
    )
    await accept(uow_factory, [roster(meeting, present, time=sent - timedelta(minutes=50)), minutes, adopted])
    changed = dict(present) | {members[2]: "excused"}
    results = await handlers.ingest_batch(
        [
            roster(meeting, changed, time=sent),  # an excused member now: a change of the adopted record
            roster(meeting, dict(reversed(present.items())), time=sent + timedelta(seconds=1)),  # the same, resent
        ],
        uow_factory,
        route="http",
    )
    assert judged(results) == [
        ("rejected", "data.meeting_id", RefusalCode.MINUTES_ADOPTED.value),
        ("accepted", None, None),
    ]
    assert results[0].reason is not None and "roster" in results[0].reason
    async with uow_factory() as uow:
        assert await uow.meetings.roster_statuses(meeting) == present
        state = await uow.meetings.get_state(meeting)
    assert state is not None and state.roster_version is not None
    assert state.roster_version[0] == sent - timedelta(minutes=50)  # not rewritten by the no-op
    # a check-in device's roster is a snapshot, the latest winning whatever arrived first (CONTRACT.md)
    await accept(uow_factory, [roster(meeting, changed, time=sent + timedelta(seconds=2), source=ev.SOURCE)])
    async with uow_factory() as uow:
        assert await uow.meetings.roster_statuses(meeting) == changed


async def test_a_secretarys_roster_contradicting_the_recorded_minutes_is_refused_naming_every_problem(
    uow_factory: Any,
) -> None:
    sent = now().replace(microsecond=0)
    start = sent - timedelta(hours=3)
    members, meeting = await cell_of_three(uow_factory, starts_at=start)
    chair, recorder, speaker = members
    minutes = ev.minutes(
        meeting,
        chair_id=chair,
        started_at=start,
        speakers=[chair, speaker],
        source=GATEWAY_SOURCE,
        time=sent - timedelta(minutes=40),
        data={"recorder_id": recorder, "resolutions": [resolution(2), resolution(1, 1, 1)]},
    )
    await accept(uow_factory, [minutes])  # no roster yet: the votes cannot be judged
    results = await handlers.ingest_batch(
        [
            roster(meeting, {chair: "absent", recorder: "excused", speaker: "present"}, time=sent),
            roster(meeting, {chair: "present", recorder: "present", speaker: "exempt"}, time=sent),
            roster(meeting, {chair: "present", recorder: "present", speaker: "present"}, time=sent),
        ],
        uow_factory,
        route="http",
    )
    code = RefusalCode.ABSENT_AT_MEETING.value
    assert judged(results) == [
        ("rejected", "data.records.0.status", code),
        ("rejected", "data.records.2.status", code),
        ("accepted", None, None),
    ]
    said = results[0].reason
    assert said is not None
    assert f"member {chair} is the minutes' chair but absent" in said, said
    assert f"member {recorder} is the minutes' recorder but excused" in said, said
    assert "resolution 0 of the minutes has 2 votes and this roster lists 1 members present" in said, said
    assert "resolution 1 of the minutes has 3 votes" in said, said
    assert results[0].refusal is not None and results[0].refusal.member_id == chair
    # an integration's roster is stored whatever minutes arrived before it (its outcome must not depend on the order)
    await accept(uow_factory, [roster(meeting, {chair: "absent"}, time=sent + timedelta(seconds=1), source=ev.SOURCE)])
