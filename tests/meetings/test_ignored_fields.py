"""Keys of an event's data that its type does not read are named in its answer (a trial's `committe_prepared`, a
misspelling, was dropped without a word), and the event is still taken: a newer sender's extra detail is no error."""

from datetime import timedelta

from services.meetings import handlers
from tests.meetings import events as ev
from tests.meetings.fakes import FakeStore
from tests.meetings.rejection_cases import WORLD_IDS, world_events
from tests.support.ids import random_id

START = ev.BASE_TIME + timedelta(days=10)


async def test_a_misspelt_field_is_named_and_the_event_taken_without_it() -> None:
    store, ids = FakeStore(), {name: random_id(name) for name in WORLD_IDS}
    await handlers.ingest_batch(world_events(ids, start=START), store.uow, route="test")
    mtg = random_id("mtg")
    scheduled = ev.scheduled(mtg, ids["cell"], starts_at=START, data={"committe_prepared": True})
    minutes = ev.minutes(ids["mtg"], chair_id=ids["mem"], started_at=START)
    minutes["data"]["tasks"] = [
        {"task_id": "t1", "assignee_id": ids["mem"], "description": "Vận động", "due_on": "2026-12-31", "hạn": "x"}
    ]
    clean = ev.member(random_id("mem"), ids["cell"])
    bad = ev.raw_event("meeting.cancelled.v1", {"meeting_id": ids["mtg"], "lý_do": "x"})  # no `reason`: rejected
    results = await handlers.ingest_batch([scheduled, minutes, clean, bad], store.uow, route="test")
    answers = [result.as_dict(index) for index, result in enumerate(results)]
    assert [answer["outcome"] for answer in answers] == ["accepted", "accepted", "accepted", "rejected"]
    assert answers[0]["ignored_fields"] == ["data.committe_prepared"]
    assert answers[1]["ignored_fields"] == ["data.tasks.0.hạn"]
    assert "ignored_fields" not in answers[2]  # nothing to say
    assert "ignored_fields" not in answers[3] and answers[3]["field"] == "data.reason"  # the rejection says why
    # a resend is a duplicate, and still says what it did not read
    [again] = await handlers.ingest_batch([scheduled], store.uow, route="test")
    assert (again.outcome, again.ignored_fields) == ("duplicate", ("data.committe_prepared",))
