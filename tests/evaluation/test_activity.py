"""The scoring worker's patience: it waits for the fact consumer to settle, within a bound."""

import asyncio

from services.evaluation.activity import FactActivity


async def test_an_idle_consumer_lets_a_round_start_at_once() -> None:
    assert await FactActivity().wait_settled(settle=0.0, max_wait=5.0, bulk_wait=5.0) < 1.0


async def test_a_round_waits_for_a_single_event_in_flight_at_most_its_bound() -> None:
    activity = FactActivity()
    with activity.delivery(batch=False):
        waited = await activity.wait_settled(settle=0.01, max_wait=0.05, bulk_wait=30.0)
    assert 0.05 <= waited < 5.0


async def test_a_round_waits_while_a_batch_is_applied_and_starts_once_it_ended() -> None:
    activity = FactActivity()
    with activity.delivery(batch=True):
        waiting = asyncio.create_task(activity.wait_settled(settle=0.01, max_wait=0.0, bulk_wait=30.0))
        await asyncio.sleep(0)  # let the round start waiting (a yield, not a delay)
        assert not waiting.done()  # a batch in flight: the single-event bound (0 s) does not apply
    assert await waiting < 30.0
