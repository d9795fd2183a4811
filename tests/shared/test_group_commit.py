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
    with pytest.raises(ValueError):  # side by side without keys, nothing would keep one cell's items in order
        GroupCommit(flush, name="test", concurrency=2)


class GatedFlush:
    """A flush of (name, keys) items that notes when each group starts and ends; a group holding an item named
    `slow...` waits for `gate`."""

    def __init__(self) -> None:
        self.log: list[tuple[str, list[str]]] = []
        self.gate = asyncio.Event()

    async def __call__(self, items: list[tuple[str, frozenset[str]]]) -> list[object | Exception]:
        names = [name for name, _ in items]
        self.log.append(("start", names))
        if any(name.startswith("slow") for name in names):
            await self.gate.wait()
        self.log.append(("end", names))
        return [name for name in names]


def keyed(flush: GatedFlush) -> GroupCommit[tuple[str, frozenset[str]], object]:
    return GroupCommit(flush, name="test", max_items=10, window=0, concurrency=2, keys=lambda item: item[1])


async def test_a_group_about_other_keys_is_judged_while_the_previous_one_is_still_under_way() -> None:
    flush = GatedFlush()
    group = keyed(flush)
    slow = asyncio.create_task(group.submit(("slow-a", frozenset({"cell-1"}))))
    await eventually(lambda: flush.log == [("start", ["slow-a"])], timeout=10, interval=0.001)
    # another cell's item does not wait for the first group to commit
    assert await asyncio.wait_for(group.submit(("b", frozenset({"cell-2"}))), 10) == "b"
    assert not slow.done()
    flush.gate.set()
    assert await slow == "slow-a"
    assert flush.log == [("start", ["slow-a"]), ("start", ["b"]), ("end", ["b"]), ("end", ["slow-a"])]


async def test_items_sharing_a_key_are_judged_in_their_order_one_group_after_the_other() -> None:
    flush = GatedFlush()
    group = keyed(flush)
    first = asyncio.create_task(group.submit(("slow-a", frozenset({"cell-1"}))))
    await eventually(lambda: flush.log == [("start", ["slow-a"])], timeout=10, interval=0.001)
    # b shares cell-1 with the group under way; c shares nothing with it, but cell-2 with b, which came first;
    # d shares nothing with anything before it
    later = [
        asyncio.create_task(group.submit(item))
        for item in [
            ("b", frozenset({"cell-1", "cell-2"})),
            ("c", frozenset({"cell-2"})),
            ("d", frozenset({"cell-3"})),
        ]
    ]
    await eventually(lambda: ("end", ["d"]) in flush.log, timeout=10, interval=0.001)
    assert group.pending == 2 and not any(task.done() for task in later[:2])  # b and c wait for slow-a
    flush.gate.set()
    assert await first == "slow-a"
    assert await asyncio.gather(*later) == ["b", "c", "d"]
    assert flush.log == [
        ("start", ["slow-a"]),
        ("start", ["d"]),
        ("end", ["d"]),
        ("end", ["slow-a"]),
        ("start", ["b", "c"]),
        ("end", ["b", "c"]),
    ]


async def test_beside_a_flush_under_way_a_lone_item_joins_the_next_group_instead_of_starting_one() -> None:
    flush = GatedFlush()
    # a second flush starts beside one under way only for a backlog (a quarter of max_items) or after ten windows
    group: GroupCommit[tuple[str, frozenset[str]], object] = GroupCommit(
        flush, name="test", max_items=8, window=0.5, concurrency=2, keys=lambda item: item[1]
    )
    slow = asyncio.create_task(group.submit(("slow-a", frozenset({"cell-1"}))))
    await eventually(lambda: flush.log == [("start", ["slow-a"])], timeout=10, interval=0.001)
    lone = asyncio.create_task(group.submit(("b", frozenset({"cell-2"}))))
    await eventually(lambda: group.pending == 1, timeout=10, interval=0.001)
    flush.gate.set()
    assert await slow == "slow-a" and await lone == "b"
    assert flush.log == [("start", ["slow-a"]), ("end", ["slow-a"]), ("start", ["b"]), ("end", ["b"])]
    # a backlog beside a held flush gets a group of its own at once
    flush.gate.clear()
    flush.log.clear()
    held = asyncio.create_task(group.submit(("slow-c", frozenset({"cell-3"}))))
    await eventually(lambda: flush.log == [("start", ["slow-c"])], timeout=10, interval=0.001)
    backlog = [asyncio.create_task(group.submit((name, frozenset({name})))) for name in ("d", "e")]
    assert await asyncio.wait_for(asyncio.gather(*backlog), 4.0) == ["d", "e"]  # within ten windows (5 s)
    assert not held.done()
    flush.gate.set()
    assert await held == "slow-c"


async def test_beside_a_flush_under_way_a_few_free_items_of_a_backlog_wait_with_the_rest() -> None:
    flush = GatedFlush()
    group: GroupCommit[tuple[str, frozenset[str]], object] = GroupCommit(
        flush, name="test", max_items=8, window=0.5, concurrency=2, keys=lambda item: item[1]
    )
    slow = asyncio.create_task(group.submit(("slow-a", frozenset({"cell-1"}))))
    await eventually(lambda: flush.log == [("start", ["slow-a"])], timeout=10, interval=0.001)
    # a backlog of three, but only one free of the held flush's keys: not worth a transaction of its own yet
    later = [
        asyncio.create_task(group.submit(item))
        for item in [("x", frozenset({"cell-1"})), ("y", frozenset({"cell-1"})), ("z", frozenset({"cell-9"}))]
    ]
    await eventually(lambda: group.pending == 3, timeout=10, interval=0.001)
    flush.gate.set()
    assert await slow == "slow-a" and await asyncio.gather(*later) == ["x", "y", "z"]
    assert flush.log == [
        ("start", ["slow-a"]),
        ("end", ["slow-a"]),
        ("start", ["x", "y", "z"]),
        ("end", ["x", "y", "z"]),
    ]


async def test_heavy_items_bound_a_group_by_weight_and_a_heavy_one_goes_alone() -> None:
    flush = RecordingFlush()
    flush.release.clear()
    # items weigh their number (a batch delivery: its events); a group holds at most 10, at least one item
    group: GroupCommit[object, object] = GroupCommit(
        flush, name="test", max_items=100, window=0, weight=lambda item: int(str(item)), max_weight=10
    )
    first = asyncio.create_task(group.submit(1))
    await flush.entered.wait()
    later = [asyncio.create_task(group.submit(n)) for n in (4, 5, 2, 30, 3)]
    await eventually(lambda: group.pending == 5, timeout=10, interval=0.001)
    flush.release.set()
    assert await first == (1, "done")
    assert await asyncio.gather(*later) == [(n, "done") for n in (4, 5, 2, 30, 3)]
    # 4+5 fit, 2 would make 11: the group is full there (order kept); 30 alone; then 3
    assert flush.groups == [[1], [4, 5], [2], [30], [3]]


async def test_keyed_heavy_items_about_other_keys_are_judged_side_by_side_and_shared_keys_in_order() -> None:
    flush = GatedFlush()
    group: GroupCommit[tuple[str, frozenset[str]], object] = GroupCommit(
        flush,
        name="test",
        max_items=100,
        window=0,
        concurrency=2,
        keys=lambda item: item[1],
        weight=lambda item: 1000,
        max_weight=4000,
    )
    slow = asyncio.create_task(group.submit(("slow-a", frozenset({"cell-1", "cell-2"}))))
    await eventually(lambda: flush.log == [("start", ["slow-a"])], timeout=10, interval=0.001)
    same = asyncio.create_task(group.submit(("b", frozenset({"cell-2", "cell-3"}))))
    other = asyncio.create_task(group.submit(("c", frozenset({"cell-4"}))))
    assert await asyncio.wait_for(other, 10) == "c"  # beside slow-a, which is still held
    assert not same.done() and not slow.done()
    flush.gate.set()
    assert await slow == "slow-a" and await same == "b"
    assert flush.log.index(("end", ["slow-a"])) < flush.log.index(("start", ["b"]))
