"""'Has a committee' is judged as of each meeting's start, from the member snapshots' times."""

import json
from datetime import date, datetime

import pytest

from services.evaluation.domain.facts import MemberRemoval, MemberSnapshot, has_committee_at
from services.evaluation.handlers import FACT_HANDLERS, register_shipped, score_touched, shipped_frameworks
from shared.contracts.registry import read_event
from shared.envelope import parse_envelope
from tests.evaluation.fakes import FakeUnitOfWork
from tests.evaluation.stream import at, fact, regular_meeting


def snapshot(time: datetime, role: str, cell: str = "c1", member: str = "k1", event_id: str = "e") -> MemberSnapshot:
    return MemberSnapshot(member_id=member, time=time, event_id=event_id, cell_id=cell, role=role)


def test_the_snapshot_in_force_at_the_start_decides() -> None:
    history = [snapshot(at(1, 1), "member", event_id="a"), snapshot(at(4, 1), "committee_member", event_id="b")]
    assert has_committee_at(cell_id="c1", moment=at(3, 5), snapshots=history, removals={}) is False
    assert has_committee_at(cell_id="c1", moment=at(4, 1), snapshots=history, removals={}) is True


def test_before_the_first_snapshot_the_earliest_one_is_assumed() -> None:
    history = [snapshot(at(6, 1), "committee_member", event_id="a"), snapshot(at(8, 1), "member", event_id="b")]
    assert has_committee_at(cell_id="c1", moment=at(2, 5), snapshots=history, removals={}) is True
    assert has_committee_at(cell_id="c1", moment=at(9, 5), snapshots=history, removals={}) is False


def test_a_move_to_another_cell_ends_the_committee_role_there() -> None:
    history = [
        snapshot(at(1, 1), "committee_member", event_id="a"),
        snapshot(at(5, 1), "committee_member", "c2", event_id="b"),
    ]
    assert has_committee_at(cell_id="c1", moment=at(4, 5), snapshots=history, removals={}) is True
    assert has_committee_at(cell_id="c1", moment=at(6, 5), snapshots=history, removals={}) is False
    assert has_committee_at(cell_id="c2", moment=at(6, 5), snapshots=history, removals={}) is True


def test_a_removal_counts_from_its_effective_date() -> None:
    history = [snapshot(at(1, 1), "committee_member", event_id="a")]
    removal = {"k1": MemberRemoval(member_id="k1", effective_on=date(2026, 5, 1), time=at(5, 2), event_id="r")}
    assert has_committee_at(cell_id="c1", moment=at(4, 30), snapshots=history, removals=removal) is True
    assert has_committee_at(cell_id="c1", moment=at(5, 1), snapshots=history, removals=removal) is False
    readmitted = [*history, snapshot(at(7, 1), "committee_member", event_id="c")]
    assert has_committee_at(cell_id="c1", moment=at(7, 5), snapshots=readmitted, removals=removal) is True


@pytest.fixture
async def uow() -> FakeUnitOfWork:
    """A fake unit of work with the shipped frameworks registered."""
    unit = FakeUnitOfWork()
    await register_shipped(unit, shipped_frameworks())
    return unit


async def apply(uow: FakeUnitOfWork, raw: dict) -> None:
    """Handle one fact as the consumer would."""
    event = read_event(parse_envelope(json.dumps(raw)))
    await FACT_HANDLERS[event.type](event, uow)
    await score_touched(uow)


def member(role: str, *, time: datetime, member_id: str = "k1") -> dict:
    data = {"id": member_id, "full_name": "Nguyễn Văn Kiên", "cell_id": "c1", "status": "official", "role": role}
    return fact("member.upserted.v1", data, time=time)


def committee_points(uow: FakeUnitOfWork, meeting_id: str) -> tuple[float, str]:
    line = next(c for c in uow.results.scores[meeting_id]["criteria"] if c["code"] == "preparation.committee_met")
    return line["points"], line["reason"]


async def test_a_committee_elected_in_april_does_not_count_against_march(uow: FakeUnitOfWork) -> None:
    for raw in (regular_meeting("m3", 3), regular_meeting("m5", 5), regular_meeting("m7", 7)):
        await apply(uow, raw)
    assert committee_points(uow, "m3")[0] == 2 and committee_points(uow, "m5")[0] == 2

    # The election arrives late; March keeps its full points, May and July lose them.
    await apply(uow, member("member", time=at(1, 1)))
    uow.emitted.clear()
    await apply(uow, member("committee_member", time=at(4, 1)))
    assert committee_points(uow, "m3") == (2, "the cell has no committee")
    assert committee_points(uow, "m5")[0] == 0 and committee_points(uow, "m7")[0] == 0
    rescored = {e.data["meeting_id"] for e in uow.emitted if e.type == "score.meeting.updated.v1"}
    assert rescored == {"m5", "m7"}

    # Leaving the party from 1 June gives July's meeting its points back, not May's.
    uow.emitted.clear()
    removed = {"id": "k1", "reason": "transferred", "effective_on": "2026-06-01"}
    await apply(uow, fact("member.removed.v1", removed, time=at(6, 2)))
    assert committee_points(uow, "m5")[0] == 0 and committee_points(uow, "m7")[0] == 2
    assert {e.data["meeting_id"] for e in uow.emitted if e.type == "score.meeting.updated.v1"} == {"m7"}

    # The same role stated again (then redelivered) changes nothing and publishes nothing.
    uow.emitted.clear()
    await apply(uow, member("committee_member", time=at(4, 1)) | {"id": "dup"})
    await apply(uow, member("committee_member", time=at(4, 1)) | {"id": "dup"})
    assert committee_points(uow, "m5")[0] == 0
    assert uow.emitted == []


async def test_an_ordinary_member_touches_nothing_until_elected_and_a_former_one_still_counts(
    uow: FakeUnitOfWork,
) -> None:
    for raw in (regular_meeting("m3", 3), regular_meeting("m5", 5)):
        await apply(uow, raw)
    uow.emitted.clear()
    await apply(uow, member("member", time=at(1, 1), member_id="k2"))
    removed = {"id": "k2", "reason": "transferred", "effective_on": "2026-02-01"}
    await apply(uow, fact("member.removed.v1", removed, time=at(2, 2)))
    assert uow.emitted == [] and "k2" in uow.facts.removals  # stored, nothing to rescore

    await apply(uow, member("committee_member", time=at(4, 1), member_id="k3"))
    uow.emitted.clear()
    # back to an ordinary member from 20 April: a former committee member still changes later meetings
    await apply(uow, member("member", time=at(4, 20), member_id="k3"))
    assert committee_points(uow, "m5") == (2, "the cell has no committee")
    assert {e.data["meeting_id"] for e in uow.emitted if e.type == "score.meeting.updated.v1"} == {"m5"}
