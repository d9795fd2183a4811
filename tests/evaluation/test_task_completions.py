"""Task completions in PostgreSQL are kept per (meeting, task): two meetings' "k1" are two tasks (a trial's scores
moved by tens of points when one meeting's completion overwrote another's)."""

from datetime import date, datetime, timedelta

from services.evaluation.repository.facts import FactStamp, PgFactRepository
from shared.periods import VIETNAM_TZ
from tests.evaluation.private_db import private_pool
from tests.support.ids import random_id

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=VIETNAM_TZ)


async def test_two_meetings_tasks_of_one_name_keep_their_own_completions(database_url: str) -> None:
    october, november, cell = random_id("mtg-oct"), random_id("mtg-nov"), random_id("cell")
    async with private_pool(database_url) as pool, pool.acquire() as conn:
        facts = PgFactRepository(conn)
        for meeting_id, starts_at in ((october, T0 - timedelta(days=36)), (november, T0)):
            meeting = {"meeting_id": meeting_id, "cell_id": cell, "kind": "regular", "starts_at": starts_at}
            await facts.upsert_meeting(meeting={**meeting, "notified_at": None}, stamp=FactStamp(T0, meeting_id))
        first = await facts.complete_tasks([("k1", october, date(2026, 10, 20), FactStamp(T0, "e1"))])
        assert first == {(october, "k1")}
        # a later completion of November's k1, in a batch with an older copy of October's: both kept apart
        later = FactStamp(T0 + timedelta(days=1), "e2")
        changed = await facts.complete_tasks(
            [("k1", november, date(2026, 11, 25), later), ("k1", october, date(2026, 10, 1), FactStamp(T0, "e0"))]
        )
        assert changed == {(november, "k1")}
        assert await facts.complete_task(task_id="k1", meeting_id=october, completed_on=date(2026, 10, 21), stamp=later)
        # what scoring reads: each meeting with its own tasks' completions
        meetings = (await facts.cells_meetings([cell]))[cell]
    found = {meeting.meeting_id: meeting.completions for meeting in meetings}
    assert found == {october: {"k1": date(2026, 10, 21)}, november: {"k1": date(2026, 11, 25)}}
