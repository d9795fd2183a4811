"""An integration's adoption of the minutes without votes (CONTRACT.md: minutes.approved.v1 `votes_for`? and
`votes_against`? optional) scored full on `closing.minutes_and_tasks`, while a secretary's adoption needs its votes for
(h378). DOMAIN.md "Meetings" has the minutes read and adopted by the cell's vote: an adoption whose votes are unknown
shows no vote, so the item scores 0 and says the vote was not recorded; the same adoption with votes scores full. An
adoption stored before evaluation kept the votes (migration 0039: votes_carried false) counts as it did.

Over a private evaluation database, the real repository and scoring.
"""

from datetime import date, timedelta
from typing import Any

from services.evaluation.bootstrap import prepare
from services.evaluation.handlers.scores import score_touched
from tests.evaluation.private_db import private_pool
from tests.evaluation.stream import at, fact, ward_with_cell
from tests.evaluation.test_adoption_voided import item, with_task
from tests.evaluation.test_cell_existence import Clock, apply, held

START = at(11, 5)
ADOPTED = START + timedelta(hours=2)


def adoption(meeting_id: str, **votes: int) -> dict[str, Any]:
    """The cell's adoption of the minutes as an integration sends it, with the votes given (none: none)."""
    data = {"meeting_id": meeting_id, "approved_at": ADOPTED.isoformat(), **votes}
    return fact("minutes.approved.v1", data, time=ADOPTED + timedelta(minutes=1))


async def test_an_adoption_without_votes_leaves_the_vote_unmet_and_one_with_votes_scores_full(
    database_url: str,
) -> None:
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=Clock(date(2026, 11, 20)))
        cell = "cell-v"
        meetings = {"mtg-unvoted": {}, "mtg-voted": {"votes_for": 3, "votes_against": 0}, "mtg-for": {"votes_for": 2}}
        events = ward_with_cell(cell, time=at(1, 1))
        for meeting_id in meetings:
            events += with_task(held(cell, meeting_id, START), cell)
        await apply(factory, events + [adoption(meeting_id, **votes) for meeting_id, votes in meetings.items()])

        unvoted = await item(pool, "mtg-unvoted")
        assert unvoted["points"] == 0, unvoted
        assert [part["code"] for part in unvoted["parts"]] == ["minutes_adopted_unvoted"], unvoted
        assert unvoted["reason"] == "minutes adopted with no vote recorded"
        for meeting_id in ("mtg-voted", "mtg-for"):
            voted = await item(pool, meeting_id)
            assert voted["points"] == voted["max"] == 2, voted
            assert voted["reason"] == "minutes approved and 1 task(s) assigned"
        stored = await pool.fetch("SELECT meeting_id, votes_for, votes_against, votes_carried FROM approval")
        assert {row["meeting_id"]: tuple(row)[1:] for row in stored} == {
            "mtg-unvoted": (None, None, True),
            "mtg-voted": (3, 0, True),
            "mtg-for": (2, None, True),
        }

        # a newer adoption giving the votes makes the item met
        later = adoption("mtg-unvoted", votes_for=3, votes_against=0)
        later["time"] = (ADOPTED + timedelta(hours=1)).isoformat()
        await apply(factory, [later])
        assert (await item(pool, "mtg-unvoted"))["points"] == 2


async def test_an_adoption_stored_before_its_votes_were_kept_counts_as_it_did(database_url: str) -> None:
    """Migration 0039's rows: an adoption stored without the votes columns (votes_carried false: not known, not
    absent) keeps the item full, as scored before the release, until a newer adoption says its votes."""
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=Clock(date(2026, 11, 20)))
        cell = "cell-w"
        await apply(factory, ward_with_cell(cell, time=at(1, 1)) + with_task(held(cell, "mtg-old", START), cell))
        # the row as an earlier release wrote it: only the moment and the stamp (the columns 0039 adds defaulted)
        await pool.execute(
            "INSERT INTO approval (meeting_id, approved_at, fact_time, fact_id) VALUES ($1, $2, $3, 'old-adoption')",
            "mtg-old",
            ADOPTED,
            ADOPTED + timedelta(minutes=1),
        )
        async with factory() as uow:
            uow.touched.touch(cell, only={"mtg-old"})
            await score_touched(uow)
            await uow.commit()
        assert (await item(pool, "mtg-old"))["points"] == 2

        newer = adoption("mtg-old")  # a newer adoption, without votes this time
        newer["time"] = (ADOPTED + timedelta(hours=1)).isoformat()
        await apply(factory, [newer])
        said = await item(pool, "mtg-old")
        assert (said["points"], said["reason"]) == (0, "minutes adopted with no vote recorded")
