"""The scoring worker's patience: it waits for the fact consumer to settle, within a bound."""

import asyncio

from services.evaluation.activity import FactActivity
from shared.outbox import FetchPart

SCHEDULED, ATTENDANCE, MINUTES = "meeting.scheduled.v1", "attendance.recorded.v1", "minutes.submitted.v1"
FETCH = {SCHEDULED: 1, ATTENDANCE: 1, MINUTES: 1}
"""A relay fetch of three one-type batches, as meetings sends one transaction's facts."""


def part(number: int, kind: str, fetch: str = "f1", counts: dict[str, int] | None = None) -> FetchPart:
    """A message's place in a relay fetch, as shared.outbox.fetch_part reads it."""
    return FetchPart(fetch=fetch, number=number, kind=kind, counts=FETCH if counts is None else counts)


async def test_an_idle_consumer_lets_a_round_start_at_once() -> None:
    assert await FactActivity().wait_settled(settle=0.0, max_wait=5.0, bulk_wait=5.0) < 1.0


async def test_a_single_event_just_applied_is_scored_without_waiting_for_quiet_or_the_bound() -> None:
    activity = FactActivity()
    with activity.delivery(batch=False):
        pass
    # nothing in flight: neither the quiet period nor the bound (30 s each) is waited for
    assert await activity.wait_settled(settle=30.0, max_wait=30.0, bulk_wait=30.0) < 5.0


async def test_a_round_waiting_for_a_single_event_in_flight_starts_as_soon_as_it_ends() -> None:
    activity = FactActivity()
    with activity.delivery(batch=False):
        waiting = asyncio.create_task(activity.wait_settled(settle=30.0, max_wait=30.0, bulk_wait=30.0))
        await asyncio.sleep(0)  # let the round start waiting (a yield, not a delay)
        assert not waiting.done()  # a delivery in flight: its facts are about to be noted
    assert await asyncio.wait_for(waiting, 10.0) < 10.0  # woken when it ended, not after the 30 s bound


async def test_a_round_waits_for_a_single_event_in_flight_at_most_its_bound() -> None:
    activity = FactActivity()
    with activity.delivery(batch=False):
        waited = await activity.wait_settled(settle=0.01, max_wait=0.05, bulk_wait=30.0)
    assert 0.04 <= waited < 5.0  # the bound counts from the delivery's start, a moment before the round's


async def test_under_load_facts_that_arrived_while_the_previous_round_scored_do_not_wait_the_bound_again() -> None:
    activity = FactActivity()
    await activity.wait_settled(settle=0.0, max_wait=0.0, bulk_wait=0.0)  # the previous round began now
    with activity.delivery(batch=False):
        await asyncio.sleep(0.2)  # the consumer busy all the time the previous round scored: under load
    assert activity.busy_share() > 0.5
    with activity.delivery(batch=False):  # and still busy when the next round begins
        # the bound (0.2 s) has passed since the first of these deliveries began: the round starts at once instead
        # of waiting for quiet (30 s) or the bound again; a delivery in flight is left for the next round
        assert await activity.wait_settled(settle=30.0, max_wait=0.2, bulk_wait=30.0, busy_share=0.5) < 0.1
        # it began before that round did: the round after waits its bound from that round's start, no longer
        waited = await activity.wait_settled(settle=30.0, max_wait=0.2, bulk_wait=30.0, busy_share=0.5)
    assert 0.1 <= waited < 5.0


async def test_a_round_waits_while_a_batch_is_applied_and_starts_once_it_ended() -> None:
    activity = FactActivity()
    with activity.delivery(batch=True):
        waiting = asyncio.create_task(activity.wait_settled(settle=0.01, max_wait=0.0, bulk_wait=30.0))
        await asyncio.sleep(0)  # let the round start waiting (a yield, not a delay)
        assert not waiting.done()  # a batch in flight: the single-event bound (0 s) does not apply
    assert await waiting < 30.0


async def test_after_a_batch_a_round_waits_for_the_quiet_period_so_the_next_batch_folds_in() -> None:
    activity = FactActivity()
    with activity.delivery(batch=True):
        pass
    waited = await activity.wait_settled(settle=0.05, max_wait=0.0, bulk_wait=30.0)
    assert 0.04 <= waited < 5.0


async def test_under_load_a_single_events_round_waits_for_quiet_so_close_facts_fold_in() -> None:
    activity = FactActivity()
    await activity.wait_settled(settle=0.0, max_wait=0.0, bulk_wait=0.0)  # the previous round began now
    with activity.delivery(batch=False):
        await asyncio.sleep(0.05)  # the consumer busy all the time since: under load
    assert activity.busy_share() > 0.5
    waited = await activity.wait_settled(settle=0.05, max_wait=5.0, bulk_wait=5.0, busy_share=0.5)
    assert 0.04 <= waited < 5.0
    # lightly loaded again (idle since that round began): the next round starts at once
    await asyncio.sleep(0.1)
    assert activity.busy_share() < 0.5
    assert await activity.wait_settled(settle=30.0, max_wait=30.0, bulk_wait=30.0, busy_share=0.5) < 5.0


async def test_a_round_does_not_start_between_two_messages_of_one_relay_fetch() -> None:
    activity = FactActivity()
    fetch = {SCHEDULED: 1, MINUTES: 1}
    with activity.delivery(batch=False, part=part(0, SCHEDULED, counts=fetch), several=True):  # minutes follow
        pass
    waiting = asyncio.create_task(activity.wait_settled(settle=0.0, max_wait=0.0, bulk_wait=30.0))
    await asyncio.sleep(0.05)
    assert not waiting.done()  # announced: neither idle (lightly loaded) nor the single-event bound (0 s) start it
    with activity.delivery(batch=False, part=part(1, MINUTES, counts=fetch), several=True):  # the fetch's last
        pass
    assert await asyncio.wait_for(waiting, 10.0) < 10.0  # woken once it ended, not after the 30 s bound
    assert activity.noted_before is None  # settled: every noted cell is claimed


async def test_a_round_cut_short_while_batches_are_in_flight_leaves_the_cells_noted_since_the_last_round() -> None:
    activity = FactActivity()
    await activity.wait_settled(settle=0.0, max_wait=0.0, bulk_wait=0.0)  # the previous round stopped waiting
    await asyncio.sleep(0.05)
    with activity.delivery(batch=False, part=part(0, SCHEDULED), several=True):
        await activity.wait_settled(settle=0.0, max_wait=0.0, bulk_wait=0.01)  # its bound over, a batch in flight
    assert activity.noted_before is not None and 0.05 <= activity.noted_before < 5.0
    with activity.delivery(batch=False):  # a single event in flight keeps its latency bound: every cell claimed
        await activity.wait_settled(settle=0.0, max_wait=0.0, bulk_wait=0.0)
    assert activity.noted_before is None


async def test_an_announced_message_that_began_before_its_announcer_ended_is_not_waited_for() -> None:
    # deliveries run concurrently: the fetch's later messages began (and ended) while its first was still applied
    activity = FactActivity()
    with activity.delivery(batch=False, part=part(0, SCHEDULED), several=True):
        with activity.delivery(batch=False, part=part(2, MINUTES), several=True):
            pass
        with activity.delivery(batch=False, part=part(1, ATTENDANCE), several=True):
            pass
    assert not activity.expecting  # all three began: nothing of the fetch is on its way
    # the round starts at once, not after the whole bulk bound (30 s) with nothing in flight
    assert await asyncio.wait_for(activity.wait_settled(settle=0.0, max_wait=0.0, bulk_wait=30.0), 10.0) < 5.0
    assert activity.noted_before is None


async def test_other_deliveries_in_between_do_not_end_the_wait_for_a_fetchs_announced_messages() -> None:
    activity = FactActivity()
    with activity.delivery(batch=False, part=part(0, SCHEDULED), several=True):
        pass
    # a single event, and a message of another fetch, begin and end before the fetch's attendance and minutes
    with activity.delivery(batch=False):
        pass
    other = {ATTENDANCE: 1, MINUTES: 1}
    with activity.delivery(batch=False, part=part(0, ATTENDANCE, "f2", other), several=True):
        pass
    with activity.delivery(batch=False, part=part(1, MINUTES, "f2", other), several=True):
        pass
    assert activity.expecting  # the fetch's attendance and minutes are still coming
    waiting = asyncio.create_task(activity.wait_settled(settle=0.0, max_wait=0.0, bulk_wait=30.0))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    with activity.delivery(batch=False, part=part(2, MINUTES), several=True):
        pass
    await asyncio.sleep(0.05)
    assert not waiting.done()  # the attendance batch is still announced
    with activity.delivery(batch=False, part=part(1, ATTENDANCE), several=True):
        pass
    assert await asyncio.wait_for(waiting, 10.0) < 10.0
    assert activity.noted_before is None


async def test_a_fetch_waited_for_past_the_bound_is_given_up_until_more_of_it_arrives() -> None:
    activity = FactActivity()
    with activity.delivery(batch=False, part=part(0, SCHEDULED), several=True):
        pass
    assert 0.04 <= await activity.wait_settled(settle=0.0, max_wait=0.0, bulk_wait=0.05) < 5.0
    assert not activity.expecting  # its two other messages lost or elsewhere: the next round does not wait again
    with activity.delivery(batch=False, part=part(0, SCHEDULED), several=True):  # redelivered: nothing new
        pass
    assert not activity.expecting
    with activity.delivery(batch=False, part=part(1, ATTENDANCE), several=True):  # more of it: minutes awaited
        pass
    assert activity.expecting


async def test_counts_are_per_type_and_distinct_messages() -> None:
    activity = FactActivity()
    counts = {ATTENDANCE: 2, MINUTES: 1}  # attendance in two messages (a batch cut at its size bound)
    with activity.delivery(batch=False, part=part(0, ATTENDANCE, counts=counts), several=True):
        pass
    with activity.delivery(batch=False, part=part(0, ATTENDANCE, counts=counts), several=True):  # redelivered
        pass
    with activity.delivery(batch=False, part=part(2, MINUTES, counts=counts), several=True):
        pass
    assert activity.expecting  # the second attendance message has not begun
    with activity.delivery(batch=False, part=part(1, ATTENDANCE, counts=counts), several=True):
        assert not activity.expecting


def test_batches_flow_while_one_is_applied_and_for_the_quiet_period_after_the_last() -> None:
    activity = FactActivity()
    assert not activity.batches_flowing(quiet=60.0)  # none seen yet: nothing to hold periods for
    with activity.delivery(batch=False):  # a single event is no backfill
        pass
    assert not activity.batches_flowing(quiet=60.0)
    with activity.delivery(batch=False, several=True):  # a batch message of any size
        assert activity.batches_flowing(quiet=0.0)
    assert activity.batches_flowing(quiet=60.0)
    assert not activity.batches_flowing(quiet=0.0)  # the quiet period over: the batches stopped
