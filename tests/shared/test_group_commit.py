"""The group commit collector alone (shared.group_commit): grouping, order, per-item failures, bounds."""

import asyncio

import pytest

from shared.group_commit import GroupCommit
from tests.support.running import eventually


class RecordingFlush:
    """A flush that records its groups, answers each item doubled, fails items named `bad`, and can be held."""

    def __init__(self) -> None:
        self.groups: list[list[object]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.entered = asyncio.Event()
        self.finished = 0

    async def __call__(self, items: list[object]) -> list[object | Exception]:
        self.groups.append(list(items))
        self.entered.set()
        await self.release.wait()
        self.finished += 1
        return [ValueError(f"bad item {item}") if item == "bad" else (item, "done") for item in items]


async def test_deliveries_arriving_together_are_judged_as_one_group_in_their_order() -> None:
    flush = RecordingFlush()
    # a long window: the group is cut as soon as it is full, not when the window ends
    group: GroupCommit[object, object] = GroupCommit(flush, name="test", max_items=10, window=60.0)
    tasks = [asyncio.create_task(group.submit(n)) for n in range(10)]
    results = await asyncio.gather(*tasks)
    assert results == [(n, "done") for n in range(10)]
    assert flush.groups == [list(range(10))]


async def test_an_idle_collector_flushes_a_lone_item_after_its_short_window() -> None:
    flush = RecordingFlush()
    group: GroupCommit[object, object] = GroupCommit(flush, name="test", max_items=100, window=0.001)
    assert await group.submit("alone") == ("alone", "done")
    assert flush.groups == [["alone"]]


async def test_items_arriving_during_a_flush_form_the_next_group_at_once_and_groups_are_bounded() -> None:
    flush = RecordingFlush()
    flush.release.clear()
    group: GroupCommit[object, object] = GroupCommit(flush, name="test", max_items=3, window=0)
    first = asyncio.create_task(group.submit("a"))
    await flush.entered.wait()
    later = [asyncio.create_task(group.submit(n)) for n in range(7)]
    await eventually(lambda: group.pending == 7, timeout=10, interval=0.001)
    flush.release.set()
    assert await first == ("a", "done")
    assert await asyncio.gather(*later) == [(n, "done") for n in range(7)]
    assert flush.groups == [["a"], [0, 1, 2], [3, 4, 5], [6]]


async def test_an_item_failing_fails_only_its_own_waiter() -> None:
    flush = RecordingFlush()
    group: GroupCommit[object, object] = GroupCommit(flush, name="test", max_items=3, window=1.0)
    tasks = [asyncio.create_task(group.submit(item)) for item in ("x", "bad", "y")]
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert outcomes[0] == ("x", "done") and outcomes[2] == ("y", "done")
    assert isinstance(outcomes[1], ValueError)
    assert flush.groups == [["x", "bad", "y"]]


async def test_a_flush_that_raises_fails_its_group_and_the_next_group_still_runs() -> None:
    calls: list[list[object]] = []

    async def broken_once(items: list[object]) -> list[object | Exception]:
        calls.append(list(items))
        if len(calls) == 1:
            raise ConnectionError("database gone")
        return list(items)

    group: GroupCommit[object, object] = GroupCommit(broken_once, name="test", max_items=2, window=1.0)
    tasks = [asyncio.create_task(group.submit(n)) for n in range(4)]
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert [type(outcome) for outcome in outcomes[:2]] == [ConnectionError, ConnectionError]
    assert outcomes[2:] == [2, 3]
    assert calls == [[0, 1], [2, 3]]


async def test_a_cancelled_waiter_leaves_its_item_in_the_group() -> None:
    flush = RecordingFlush()
    flush.release.clear()
    group: GroupCommit[object, object] = GroupCommit(flush, name="test", max_items=10, window=0)
    waiter = asyncio.create_task(group.submit("kept"))
    await flush.entered.wait()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    flush.release.set()
    await eventually(lambda: flush.finished == 1, timeout=10, interval=0.001)
    assert flush.groups == [["kept"]]


def test_bounds_are_checked() -> None:
    async def flush(items: list[object]) -> list[object | Exception]:
        return list(items)

    with pytest.raises(ValueError):
        GroupCommit(flush, name="test", max_items=0)
