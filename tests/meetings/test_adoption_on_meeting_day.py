"""Adopted minutes never contradict the meeting's start: a secretary's adoption waits until they agree.

A user's trial saved a held meeting's minutes for its day, corrected its held time to the day before ("Sửa thời điểm
đã diễn ra", taken: README, then the minutes are saved again dated that day), and adopted the minutes 9–0: taken, so
the meeting started on 04/12 while its adopted minutes ran on 05/12, and adoption froze both for good. The rule the
minutes form applies (minutes dated the meeting's own day) now holds whichever comes second: a secretary's adoption
of minutes on another local day than the meeting's start is refused (`minutes_off_meeting_day`, naming
`data.meeting_id`), whether the correction came after the minutes or the minutes were stored so before; once the
minutes are saved again dated the meeting's day, the adoption goes through. DOMAIN.md "How to read it, exactly": the
start and the minutes' times are separate facts, so the correction does not rewrite the minutes.
"""

from datetime import timedelta
from typing import Any

from shared.envelope import now
from tests.meetings import events as ev
from tests.meetings.test_adoption_needs_roster import adoption, minutes, roster, stored
from tests.meetings.test_assessor_person import commune, outcome
from tests.meetings.test_person_references import as_secretary, refused

__all__ = ["commune"]  # the fixture, shared with test_assessor_person


def corrected(tree: dict[str, Any], hours_back: int) -> dict[str, Any]:
    """The secretary's correction of when the meeting took place: `hours_back` hours ago (meeting.rescheduled.v1)."""
    starts_at = now() - timedelta(hours=hours_back)
    data = {"meeting_id": tree["ids"]["mtg"], "starts_at": starts_at.isoformat()}
    return ev.raw_event("meeting.rescheduled.v1", data)


async def test_a_secretarys_adoption_of_minutes_on_another_day_than_the_corrected_start_is_refused(
    commune: dict[str, Any],
) -> None:
    ids = commune["ids"]
    # the meeting began two hours ago: its roster and minutes of that day, then its start corrected a day back
    for event in (roster(commune), minutes(commune), corrected(commune, 26)):
        [sent] = await as_secretary(commune, event)
        assert outcome(sent)[0] == "accepted", sent
    [result] = await as_secretary(commune, adoption(commune, votes_for=1, votes_against=0))
    assert refused(result)[:2] == ("rejected", "data.meeting_id"), result
    assert refused(result)[3] == {"code": "minutes_off_meeting_day"}, result
    assert f"the minutes of meeting {ids['mtg']} are dated" in (refused(result)[2] or ""), result
    assert await stored(commune) == (False, True)

    # the minutes saved again on the meeting's corrected day: adopted
    again = ev.minutes(ids["mtg"], chair_id=ids["m1"], started_at=now() - timedelta(hours=26))
    [sent] = await as_secretary(commune, again)
    assert outcome(sent)[0] == "accepted", sent
    [adopted] = await as_secretary(commune, adoption(commune, votes_for=1, votes_against=0))
    assert outcome(adopted)[0] == "accepted", adopted
    assert await stored(commune) == (True, True)


async def test_minutes_stored_on_another_day_before_the_rule_are_not_adopted_until_they_agree(
    commune: dict[str, Any],
) -> None:
    ids = commune["ids"]
    # minutes a day after the start, as the API's week of leeway stored them (and a correction before this rule)
    late = ev.minutes(ids["mtg"], chair_id=ids["m1"], started_at=now() - timedelta(hours=2))
    for event in (roster(commune), corrected(commune, 30), late):
        [sent] = await as_secretary(commune, event)
        assert outcome(sent)[0] == "accepted", sent
    [result] = await as_secretary(commune, adoption(commune, votes_for=1, votes_against=0))
    assert refused(result)[:2] == ("rejected", "data.meeting_id"), result
    assert refused(result)[3] == {"code": "minutes_off_meeting_day"}, result
    assert await stored(commune) == (False, True)
    # the start corrected to the minutes' day instead: adopted
    [sent] = await as_secretary(commune, corrected(commune, 2))
    assert outcome(sent)[0] == "accepted", sent
    [adopted] = await as_secretary(commune, adoption(commune, votes_for=1, votes_against=0))
    assert outcome(adopted)[0] == "accepted", adopted
    assert await stored(commune) == (True, True)
