"""The absence alerts against the real database: one per run of absences (and per crossing of the unexcused
months) for each recipient, whatever the batching, order and repetition of member.attendance.updated.v1."""

import random
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

import asyncpg
import pytest

from services.notifications.config import Settings
from services.notifications.handlers import BATCH_HANDLERS, HANDLERS
from services.notifications.handlers.jobs import DAILY_PRUNE, run_job
from services.notifications.repository.outgoing import Job
from services.notifications.unit_of_work import NotificationsUnitOfWork
from shared.contracts.registry import read_event
from shared.envelope import CloudEvent
from shared.periods import VIETNAM_TZ
from tests.notifications.events import Province, event
from tests.notifications.fakes import Clock

NOW = datetime(2026, 11, 10, 9, 0, tzinfo=VIETNAM_TZ)
UPDATED = "member.attendance.updated.v1"


def announced(
    p: Province,
    step: int,
    in_a_row: int,
    *,
    months: int = 0,
    days_ago: float = 1,
    member: str | None = None,
    numbered_from: int | None = None,
) -> CloudEvent:
    """The member's (or `member`'s) figures after the roster of the cell's meeting number `step`, as meetings
    announces them: each announcement about its own meeting (not known here), later steps later. With
    `numbered_from`, as a backfill brings them: every one at one time, caused by the minutes {cell}-mt{step}-n
    (whose ids sort as text otherwise than the steps: mt10 before mt2), numbered from step `numbered_from` on (the
    steps before it published before meetings numbered them)."""
    same_time = numbered_from is not None
    item = event(
        UPDATED,
        {
            "member_id": member or p.member,
            "cell_id": p.cell,
            "meeting_id": f"{p.cell}-m{step}",
            "full_name": "Lê Văn Đức",
            "consecutive_absences": in_a_row,
            "consecutive_excused_absences": 0,
            "unexcused_months_last_year": months,
        }
        | ({"sequence": step + 1} if numbered_from is not None and step >= numbered_from else {}),
        time=NOW - timedelta(days=days_ago) + timedelta(minutes=0 if same_time else step),
        event_id=f"{member or p.cell}-f{step:02d}",
    )
    return item.model_copy(update={"causationid": f"{p.cell}-mt{step}-n"}) if same_time else item


def run(
    p: Province, counts: list[int], *, months: list[int] | None = None, numbered_from: int | None = None
) -> list[CloudEvent]:
    """Announcements of the counts in a row (and unexcused months), one step each, in order."""
    return [
        announced(p, step, count, months=(months or [0] * len(counts))[step], numbered_from=numbered_from)
        for step, count in enumerate(counts)
    ]


async def province(pool: asyncpg.Pool, settings: Settings) -> tuple[Province, Clock]:
    """A cell with its secretary, deputy, member and superior committee, projected."""
    p, clock = Province(), Clock(NOW)
    await feed(pool, settings, clock, [[item] for item in p.setup()])
    return p, clock


async def feed(pool: asyncpg.Pool, settings: Settings, clock: Clock, batches: list[list[CloudEvent]]) -> None:
    """Each batch in its own unit of work: one event through its handler, several through the batch handler (as
    consume_event hands a run of one type over)."""
    for batch in batches:
        async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
            if len(batch) == 1:
                await HANDLERS[batch[0].type](read_event(batch[0]), uow)
            else:
                await BATCH_HANDLERS[UPDATED]([read_event(item) for item in batch], uow)
            await uow.commit()


async def alerts(pool: asyncpg.Pool, p: Province) -> list[tuple[str, str, str]]:
    """(rule, recipient role, title) of every absence alert about the province's cell (alerts about its members:
    one per recipient per meeting, its subject the meeting), sorted."""
    roles = {p.secretary: "secretary", p.deputy: "deputy", p.committee: "committee"}
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT rule, recipient_id, title FROM notification WHERE cell_id = $1"
            " AND rule IN ('consecutive_absences', 'unexcused_months')",
            p.cell,
        )
    return sorted((row["rule"], roles[row["recipient_id"]], row["title"]) for row in rows)


def per_recipient(found: list[tuple[str, str, str]]) -> Counter[tuple[str, str]]:
    """How many alerts of each rule each recipient got."""
    return Counter((rule, role) for rule, role, _ in found)


def each_once(rule: str, times: int = 1) -> Counter[tuple[str, str]]:
    """Every recipient of the absence rules (cell committee and superior committee) `times` times."""
    return Counter({(rule, role): times for role in ("secretary", "deputy", "committee")})


async def test_a_run_announced_one_meeting_at_a_time_alerts_each_recipient_once(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    p, clock = await province(pool, settings)
    await feed(pool, settings, clock, [[item] for item in run(p, [1, 2, 3, 4, 5, 6])])
    found = await alerts(pool, p)
    assert per_recipient(found) == each_once("consecutive_absences")
    assert {title for _, _, title in found} == {"Đảng viên vắng 4 buổi liên tiếp: Lê Văn Đức, Chi bộ khu phố Đông"}


async def test_a_run_that_jumps_past_three_alerts_once_where_it_jumped(pool: asyncpg.Pool, settings: Settings) -> None:
    p, clock = await province(pool, settings)
    await feed(pool, settings, clock, [[item] for item in run(p, [0, 18, 19, 20])])
    found = await alerts(pool, p)
    assert per_recipient(found) == each_once("consecutive_absences")
    assert {title for _, _, title in found} == {"Đảng viên vắng 18 buổi liên tiếp: Lê Văn Đức, Chi bộ khu phố Đông"}
    async with pool.acquire() as conn:
        body = await conn.fetchval(
            "SELECT body FROM notification WHERE cell_id = $1 AND recipient_id = $2", p.cell, p.committee
        )
    assert body.startswith("Kính gửi Đảng ủy phường Hòa Bình,\n\nĐồng chí Lê Văn Đức (Chi bộ khu phố Đông)")
    assert "đã vắng mặt 18 buổi sinh hoạt liên tiếp (quá 3 buổi)" in body


async def test_attending_ends_the_run_and_four_more_absences_alert_again(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    p, clock = await province(pool, settings)
    await feed(pool, settings, clock, [[item] for item in run(p, [1, 2, 3, 4, 5, 0, 1, 2, 3])])
    assert per_recipient(await alerts(pool, p)) == each_once("consecutive_absences")  # the new run is at 3
    await feed(pool, settings, clock, [[announced(p, 9, 4)], [announced(p, 10, 5)]])
    assert per_recipient(await alerts(pool, p)) == each_once("consecutive_absences", times=2)
    # the return and the new run announced together (5 -> 4, no 0 in between): the count fell, a new run
    q, clock = await province(pool, settings)
    await feed(pool, settings, clock, [run(q, [5])[:1], [announced(q, 1, 4)], [announced(q, 2, 6)]])
    assert per_recipient(await alerts(pool, q)) == each_once("consecutive_absences", times=2)


async def test_a_history_loaded_with_its_figures_ahead_of_its_meetings_stays_silent_and_so_does_a_current_fact(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """A province's year of history, its figures arriving before their meetings are known here (moved by facts two
    months old): nothing alerts, neither then nor when the member's figures move at this month's meeting (present,
    the year still counting 3 unexcused months); absent again now, the run goes on and is told once."""
    p, clock = await province(pool, settings)
    history = [
        announced(p, step, count, months=months, days_ago=60)
        for step, (count, months) in enumerate([(1, 1), (2, 2), (3, 3), (4, 3), (5, 3)])
    ]
    await feed(pool, settings, clock, [[item] for item in history])
    assert await alerts(pool, p) == []
    await feed(pool, settings, clock, [[announced(p, 5, 0, months=3)]])  # present at this month's meeting
    assert await alerts(pool, p) == []
    q, clock = await province(pool, settings)
    history = [announced(q, step, count, days_ago=60) for step, count in enumerate([1, 2, 3, 4, 5])]
    await feed(pool, settings, clock, [history, [announced(q, 5, 6)]])  # absent at this month's meeting too
    assert per_recipient(await alerts(pool, q)) == each_once("consecutive_absences")


@pytest.mark.parametrize(
    "numbered_from",
    [None, 0, 3],
    ids=["spread_in_time", "same_time_numbered", "same_time_numbered_after_three_unnumbered"],
)
async def test_the_same_figures_in_any_batching_order_or_repetition_give_the_same_alerts(
    pool: asyncpg.Pool, settings: Settings, numbered_from: int | None
) -> None:
    # past ten steps, so that a same-time backfill's causes sort as text otherwise (mt10 before mt2): ordered by them,
    # these would be three runs past three and three crossings
    counts = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 4, 5]
    months = [0, 1, 1, 2, 3, 3, 4, 4, 4, 4, 4, 4, 4, 2, 2, 3, 3]

    def figures(p: Province) -> list[CloudEvent]:
        return run(p, counts, months=months, numbered_from=numbered_from)

    def in_order(p: Province) -> list[list[CloudEvent]]:
        return [[item] for item in figures(p)]

    def one_batch(p: Province) -> list[list[CloudEvent]]:
        return [figures(p)]

    def in_threes_twice(p: Province) -> list[list[CloudEvent]]:
        events = figures(p)
        threes = [events[start : start + 3] for start in range(0, len(events), 3)]
        return threes + [events[4:9], events[:1]]  # copies, as a redelivery after a restart brings them

    def reversed_one_by_one(p: Province) -> list[list[CloudEvent]]:
        return [[item] for item in reversed(figures(p))]

    def shuffled_in_pairs(p: Province) -> list[list[CloudEvent]]:
        events = figures(p)
        random.Random(7).shuffle(events)
        return [events[start : start + 2] for start in range(0, len(events), 2)]

    outcomes = {}
    for name, feeding in [
        ("in_order", in_order),
        ("one_batch", one_batch),
        ("in_threes_twice", in_threes_twice),
        ("reversed_one_by_one", reversed_one_by_one),
        ("shuffled_in_pairs", shuffled_in_pairs),
    ]:
        p, clock = await province(pool, settings)
        await feed(pool, settings, clock, feeding(p))
        outcomes[name] = await alerts(pool, p)
    # two runs past three (11, then 5 after attending), two crossings of 3 unexcused months (4 -> 2 -> 3)
    expected = each_once("consecutive_absences", times=2) + each_once("unexcused_months", times=2)
    assert {name: per_recipient(found) for name, found in outcomes.items()} == dict.fromkeys(outcomes, expected)
    # batching and repetition change not even the texts: each alert tells where its run crossed the threshold
    assert outcomes["one_batch"] == outcomes["in_threes_twice"] == outcomes["in_order"]
    assert {title for _, role, title in outcomes["in_order"] if role == "secretary"} == {
        "Đảng viên vắng 4 buổi liên tiếp: Lê Văn Đức, Chi bộ khu phố Đông",
        "Đảng viên vắng không lý do 3 tháng trong năm: Lê Văn Đức, Chi bộ khu phố Đông",
    }


async def test_unexcused_months_alert_once_per_crossing_not_at_every_new_month(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    p, clock = await province(pool, settings)
    steps = [announced(p, step, 0, months=months) for step, months in enumerate([1, 2, 3, 4, 5])]
    await feed(pool, settings, clock, [[item] for item in steps])
    assert per_recipient(await alerts(pool, p)) == each_once("unexcused_months")
    # a month rolls out of the twelve (2), another comes in (3): crossed again, within the same year
    await feed(pool, settings, clock, [[announced(p, 5, 0, months=2)], [announced(p, 6, 0, months=3)]])
    assert per_recipient(await alerts(pool, p)) == each_once("unexcused_months", times=2)


async def test_a_redelivered_announcement_changes_nothing(pool: asyncpg.Pool, settings: Settings) -> None:
    p, clock = await province(pool, settings)
    events = run(p, [2, 4])
    await feed(pool, settings, clock, [events, events, [events[1]]])
    assert per_recipient(await alerts(pool, p)) == each_once("consecutive_absences")
    async with pool.acquire() as conn:
        stored = await conn.fetchval("SELECT count(*) FROM member_figures WHERE member_id = $1", p.member)
    assert stored == 2


async def prune(
    pool: asyncpg.Pool, settings: Settings, clock: Clock, p: Province, *, members: list[str] | None = None
) -> list[int]:
    """The daily prune of old figures, as the schedule runs it (batch after batch, each in its own transaction with
    the job's cursor); the member's figures (absences in a row) left, or those of each of `members` in turn."""
    job = Job(id=0, kind=DAILY_PRUNE, subject_id=NOW.date().isoformat(), due_at=NOW, attempts=0)
    for _ in range(100):
        async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
            ran = await run_job(job, uow)
            await uow.commit()
        if ran.resume_after is None:
            break
        assert ran.resume_after > (job.cursor or ""), "the prune's cursor moves on"
        job = replace(job, cursor=ran.resume_after)
    else:
        raise AssertionError("the prune never finished")
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT consecutive_absences FROM member_figures WHERE member_id = ANY($1::text[])"
            " ORDER BY member_id, sequence, version_time, version_ns, cause_id, event_id",
            members or [p.member],
        )
    return [row[0] for row in rows]


async def test_pruning_old_figures_changes_no_alert_and_an_old_copy_alerts_nothing(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """Figures are kept only from a member's latest old figure at zeros: an old run alerted (4, 5), ended (0, at
    zeros), then a new run alerts once more; neither pruning nor a copy of a pruned figure, redelivered a year and
    more later, alerts again (its meeting is not known here, which otherwise reads as recent)."""
    p, clock = await province(pool, settings)
    old = [announced(p, step, count, days_ago=500) for step, count in enumerate([4, 5, 0])]
    clock.value = NOW - timedelta(days=500) + timedelta(hours=1)
    await feed(pool, settings, clock, [[item] for item in old])
    clock.value = NOW
    await feed(pool, settings, clock, [[announced(p, 3, 2)], [announced(p, 4, 4)]])
    before = await alerts(pool, p)
    assert per_recipient(before) == each_once("consecutive_absences", times=2)

    # the old 4 and 5 went; the old zeros and the new run stay
    assert await prune(pool, settings, clock, p) == [0, 2, 4]
    # a copy of the old run's second figure comes again: alone, it would be a run of its own anchored on itself (a
    # new alert); it is older than the retention, so it alerts nothing
    await feed(pool, settings, clock, [[old[1]]])
    await feed(pool, settings, clock, [[announced(p, 5, 5)]])
    assert await alerts(pool, p) == before
    assert await prune(pool, settings, clock, p) == [0, 2, 4, 5]  # pruned again the next day


async def test_pruning_a_same_time_backfill_goes_by_the_announcements_numbers(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """An old backfill announced 4, 0, 4, 5 at one time, caused by minutes mt9 … mt12 (mt10 first as text): the prune
    drops what came before the zero as published (the first 4), and keeps the run after it; by cause it would keep
    all four, the zero first."""
    p, clock = await province(pool, settings)
    clock.value = NOW - timedelta(days=500) + timedelta(hours=1)
    counts = {9: 4, 10: 0, 11: 4, 12: 5}
    old = [announced(p, step, count, days_ago=500, numbered_from=0) for step, count in counts.items()]
    await feed(pool, settings, clock, [[item] for item in old])
    clock.value = NOW
    assert await prune(pool, settings, clock, p) == [0, 4, 5]


async def test_a_province_prune_goes_member_batch_after_member_batch_and_prunes_every_member(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """The first prune over a province is many short transactions, not one of millions of rows: five members in
    batches of two go in at least three batches (two members a batch, the last one empty or short), each member's
    old run pruned as if alone (a batch edge splits no member)."""
    p, clock = await province(pool, settings)
    members = [f"{p.cell}-x{index}" for index in range(5)]
    clock.value = NOW - timedelta(days=500) + timedelta(hours=1)
    await feed(
        pool,
        settings,
        clock,
        [[announced(p, step, count, days_ago=500, member=m)] for m in members for step, count in enumerate([4, 5, 0])],
    )
    clock.value = NOW
    await feed(pool, settings, clock, [[announced(p, 3, 2, member=m)] for m in members])
    async with pool.acquire() as conn:  # the database may hold other tests' members too
        everyone = await conn.fetchval("SELECT count(DISTINCT member_id) FROM member_figures")
    batches: list[str] = []
    small = settings.model_copy(update={"prune_batch_size": 2})
    job = Job(id=0, kind=DAILY_PRUNE, subject_id=NOW.date().isoformat(), due_at=NOW, attempts=0)
    while True:
        async with NotificationsUnitOfWork(pool, settings=small, clock=clock) as uow:
            ran = await run_job(job, uow)
            await uow.commit()
        if ran.resume_after is None:
            break
        batches.append(ran.resume_after)
        job = replace(job, cursor=ran.resume_after)
    assert len(batches) + 1 == everyone // 2 + 1 >= 3  # and the last batch, which found the members' end
    assert batches == sorted(batches)
    assert await prune(pool, small, clock, p, members=members) == [0, 2] * 5


async def test_pruning_keeps_what_was_published_after_a_recent_figure_so_a_copy_of_it_alerts_nothing(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """Announcements go by their numbers, not by their causes' times: a recent 4 (alerted) published before zeros
    whose cause carries a time older than the retention (a source's clock, a correction of an old record). The
    zeros are not a point to prune at while a figure before them is recent: pruned, the 4 would come back in a copy
    as a fresh run of its own and alert again."""
    p, clock = await province(pool, settings)
    recent, old_zeros = (
        announced(p, 0, 4).model_copy(update={"data": announced(p, 0, 4).data | {"sequence": 1}}),
        announced(p, 1, 0, days_ago=500).model_copy(update={"data": announced(p, 1, 0).data | {"sequence": 2}}),
    )
    await feed(pool, settings, clock, [[recent], [old_zeros]])
    before = await alerts(pool, p)
    assert per_recipient(before) == each_once("consecutive_absences")
    assert sorted(await prune(pool, settings, clock, p)) == [0, 4]
    await feed(pool, settings, clock, [[recent]])
    assert await alerts(pool, p) == before
