"""Adopting minutes freezes them and the roster they hold, so an adoption waits for a roster.

A new user's trial adopted the minutes of a meeting with no attendance recorded (the vote boxes empty); the roster
sent next was refused as `minutes_adopted`, so the meeting kept 0 on attendance, speakers and minutes_complete for
good, and the adopted minutes said "summoned 0, present 0" under a resolution of 3 votes. DOMAIN.md "Meetings":
minutes hold the members summoned, present and absent. A secretary's adoption before any roster is now refused
(`roster_not_recorded`, naming `data.meeting_id`); an integration's waits for the roster (CONTRACT.md: order is not
guaranteed, a fact about something not yet known is held), ending in the same state whichever comes first. Minutes
adopted before this rule with no roster take their first roster.
"""

from datetime import timedelta
from typing import Any

from services.meetings import queries
from shared.contracts import meetings as contract
from shared.envelope import now
from tests.meetings import events as ev
from tests.meetings.test_assessor_person import commune, from_commune, outcome
from tests.meetings.test_person_references import as_secretary, refused

__all__ = ["commune"]  # the fixture, shared with test_assessor_person


def minutes(tree: dict[str, Any]) -> dict[str, Any]:
    """minutes.submitted.v1 of the meeting (began two hours ago), chaired by its one member, timed a minute ago: an
    adoption (timed now) adopts the minutes issued before it (domain.adoption_in_force), whichever arrives first."""
    ids = tree["ids"]
    return ev.minutes(
        ids["mtg"], chair_id=ids["m1"], started_at=now() - timedelta(hours=2), time=now() - timedelta(minutes=1)
    )


def adoption(tree: dict[str, Any], **votes: int) -> dict[str, Any]:
    """minutes.approved.v1 of the meeting, adopted now with `votes` (votes_for, votes_against) when given."""
    data = {"meeting_id": tree["ids"]["mtg"], "approved_at": now().isoformat(), **votes}
    return ev.raw_event("minutes.approved.v1", data, time=now())


def roster(tree: dict[str, Any], status: str = "present") -> dict[str, Any]:
    """The meeting's full roster: its one member with `status`, timed now."""
    return ev.attendance(tree["ids"]["mtg"], {tree["ids"]["m1"]: status}, time=now())


async def stored(tree: dict[str, Any]) -> tuple[bool, bool]:
    """(adopted, roster recorded) of the meeting as stored."""
    async with tree["pool"].acquire() as conn:
        meeting = await queries.get_meeting(conn, tree["ids"]["mtg"])
    assert meeting is not None
    return meeting["approved_at"] is not None, meeting["attendance"] is not None


async def test_a_secretarys_adoption_before_any_roster_is_refused_naming_the_meeting(commune: dict[str, Any]) -> None:
    ids = commune["ids"]
    [sent] = await as_secretary(commune, minutes(commune))
    assert outcome(sent)[0] == "accepted", sent
    [result] = await as_secretary(commune, adoption(commune))
    reason = (
        f"data.meeting_id: meeting {ids['mtg']} has no attendance recorded yet; the roster is recorded before the cell"
        " adopts the minutes, which hold it"
    )
    assert refused(result) == ("rejected", "data.meeting_id", reason, {"code": "roster_not_recorded"})
    assert await stored(commune) == (False, False)
    # the way on: the roster, then the adoption
    [recorded] = await as_secretary(commune, roster(commune))
    assert outcome(recorded)[0] == "accepted", recorded
    [adopted] = await as_secretary(commune, adoption(commune, votes_for=1, votes_against=0))
    assert outcome(adopted)[0] == "accepted", adopted
    assert await stored(commune) == (True, True)


async def test_an_integrations_adoption_before_the_roster_waits_for_it(commune: dict[str, Any]) -> None:
    ids = commune["ids"]
    [sent] = await from_commune(commune, minutes(commune))
    assert outcome(sent)[0] == "accepted", sent
    [held] = await from_commune(commune, adoption(commune))
    assert outcome(held) == ("held", "data.meeting_id", None, f"roster:{ids['mtg']}")
    assert await stored(commune) == (False, False)
    [recorded] = await from_commune(commune, roster(commune))
    assert outcome(recorded)[0] == "accepted", recorded
    # the held adoption is applied as the roster arrives: the state of the other order
    assert await stored(commune) == (True, True)


async def _adopted_without_roster(tree: dict[str, Any], uow_factory: Any, *, votes_for: int) -> None:
    """The meeting's minutes recorded and adopted with `votes_for` while no roster is known, as stored before
    adoption waited for a roster (written past the applier, which now refuses it)."""
    [sent] = await from_commune(tree, minutes(tree))
    assert outcome(sent)[0] == "accepted", sent
    data = contract.MinutesApproved.model_validate(
        {"meeting_id": tree["ids"]["mtg"], "approved_at": now().isoformat(), "votes_for": votes_for}
    )
    async with uow_factory() as uow:
        assert await uow.meetings.approve(data, version=(now(), 0, "legacy-adoption"))
        await uow.commit()
    assert await stored(tree) == (True, False)


async def test_minutes_adopted_without_a_roster_take_their_first_roster(
    commune: dict[str, Any], uow_factory: Any
) -> None:
    await _adopted_without_roster(commune, uow_factory, votes_for=1)
    [recorded] = await as_secretary(commune, roster(commune))
    assert outcome(recorded)[0] == "accepted", recorded
    assert await stored(commune) == (True, True)
    # once recorded, it is the adopted roster: no change any more
    [changed] = await as_secretary(commune, roster(commune, "excused"))
    assert outcome(changed)[:3] == ("rejected", "data.meeting_id", "minutes_adopted"), changed


async def test_the_first_roster_of_adopted_minutes_holds_their_votes(commune: dict[str, Any], uow_factory: Any) -> None:
    await _adopted_without_roster(commune, uow_factory, votes_for=3)
    [result] = await as_secretary(commune, roster(commune))
    reason = "data.records: the minutes were adopted by 3 votes and this roster lists 1 members present"
    assert refused(result) == ("rejected", "data.records", reason, {"code": "votes_over_present"})
    assert await stored(commune) == (True, False)
