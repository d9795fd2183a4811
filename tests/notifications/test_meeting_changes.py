"""A meeting moved, moved back or re-sent with a new time or place (DOMAIN.md: "Meeting scheduled, moved or
cancelled: every expected member and the upper-level monitor"): every real change is one notice to each of them, by
a move or by a newer schedule snapshot (the secretary re-sending the meeting), keyed by the fact that made it and not
by the time it moves to; a fact delivered again, or a snapshot saying nothing new, notifies nobody (real database,
real SMTP server)."""

from collections import Counter
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import asyncpg

from services.notifications.bootstrap import build_app
from services.notifications.channels import SmtpSender
from services.notifications.config import Settings
from services.notifications.handlers.deliveries import deliver_due
from services.notifications.templates import format_when
from services.notifications.unit_of_work import uow_factory
from shared.envelope import CloudEvent
from shared.periods import VIETNAM_TZ
from shared.topology import NOTIFICATIONS_EVENTS
from tests.notifications.conftest import SmtpInbox
from tests.notifications.events import Province, event, publish, publish_batches
from tests.notifications.fakes import Clock
from tests.notifications.test_batches import as_batch
from tests.notifications.test_handlers import handle
from tests.notifications.test_rule_settings import commands_at
from tests.notifications.test_service import deliveries_settled, plain_text, setup_projected
from tests.support.ids import random_id
from tests.support.running import eventually, running_app, settled

HALL = "Nhà văn hóa khu phố Đông"
WARD_HALL = "Hội trường Ủy ban nhân dân phường"


def expected_people(p: Province) -> list[str]:
    """Who hears a meeting's notices: the members summoned (the exempt one is not) and the monitor."""
    return [p.secretary, p.deputy, p.member, p.monitor]


def expected_members(p: Province) -> list[str]:
    """The members summoned, who share one text and one mail (the monitor's greets them by name: their own)."""
    return [p.secretary, p.deputy, p.member]


PERSONAL = "Kính gửi đồng chí %"
"""How a text to one person begins (LIKE): a monitor's notice of the cell's meeting, apart from the cell's text."""


def snapshot(p: Province, meeting_id: str, starts_at: datetime, *, time: datetime, **extra: Any) -> CloudEvent:
    """meeting.scheduled.v1 of a regular meeting of the cell as meetings re-publishes it, at `time`."""
    data = {
        "meeting_id": meeting_id,
        "cell_id": p.cell,
        "kind": "regular",
        "starts_at": starts_at.isoformat(),
        "location": HALL,
        "agenda": ["Kiểm điểm nghị quyết tháng trước"],
    } | extra
    return event("meeting.scheduled.v1", data, time=time)


def move(meeting_id: str, starts_at: datetime, *, time: datetime, **extra: Any) -> CloudEvent:
    """meeting.rescheduled.v1 at `time`."""
    return event(
        "meeting.rescheduled.v1", {"meeting_id": meeting_id, "starts_at": starts_at.isoformat()} | extra, time=time
    )


async def notices(pool: asyncpg.Pool, meeting_id: str) -> Counter[tuple[str, str]]:
    """(rule, recipient) of the meeting's notices, counted."""
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT rule, recipient_id FROM notification WHERE subject_id = $1", meeting_id)
    return Counter((row["rule"], row["recipient_id"]) for row in rows)


async def bodies(pool: asyncpg.Pool, meeting_id: str, rule: str) -> list[tuple[str, str]]:
    """The distinct (title, body) of the meeting's notices of one rule."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT DISTINCT title, body FROM notification WHERE subject_id = $1 AND rule = $2"
            " AND body NOT LIKE $3",  # the monitor's own text greets them by name; the cell's is one for all
            meeting_id,
            rule,
            PERSONAL,
        )
    return [(row["title"], row["body"]) for row in rows]


async def effective_start(pool: asyncpg.Pool, meeting_id: str) -> tuple[datetime, str]:
    """The meeting's start and place as the projection holds them."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT COALESCE(rescheduled_starts_at, scheduled_starts_at) AS s,"
            " COALESCE(rescheduled_location, location) AS l FROM meeting WHERE meeting_id = $1",
            meeting_id,
        )
    return row["s"], row["l"]


async def send_mail(pool: asyncpg.Pool, settings: Settings) -> None:
    """Deliver every due delivery through the real SMTP server."""
    factory = uow_factory(pool, settings=settings, clock=Clock(datetime.now(VIETNAM_TZ) + timedelta(minutes=1)))
    sender = SmtpSender(settings)
    try:
        while await deliver_due(factory, {"email": sender}):
            pass
    finally:
        await sender.aclose()


def mails_about(inbox: SmtpInbox, p: Province, meeting_start: int) -> list[EmailMessage]:
    """The meeting notices to the province's member received since `meeting_start` (an index into the inbox)."""
    return [
        mail
        for mail, rcpt in zip(inbox.messages[meeting_start:], inbox.envelopes[meeting_start:], strict=True)
        if p.email(p.member) in rcpt and str(mail["X-Chibo-Rule"]).startswith("meeting_")
    ]


def times_each(p: Province, rule: str, times: int) -> Counter[tuple[str, str]]:
    """`times` notices of `rule` to each expected person."""
    return Counter({(rule, person): times for person in expected_people(p)})


async def test_a_resent_schedule_with_a_new_time_and_place_notifies_every_expected_member_once(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    p = Province()
    clock = Clock(datetime.now(VIETNAM_TZ).replace(microsecond=0))
    await handle(pool, settings, clock, *p.setup())
    meeting_id = random_id("mtg")
    start = (clock.value + timedelta(days=17)).replace(hour=19, minute=30, second=0)
    await handle(pool, settings, clock, snapshot(p, meeting_id, start, time=clock.value))
    assert await notices(pool, meeting_id) == times_each(p, "meeting_scheduled", 1)

    # the secretary sends the meeting again with a new time and place (POST /v1/cells/{cell}/meetings, same id)
    later = start + timedelta(days=1)
    resent = snapshot(p, meeting_id, later, time=clock.value + timedelta(minutes=5), location=WARD_HALL)
    await handle(pool, settings, clock, resent)
    changed = times_each(p, "meeting_scheduled", 1) + times_each(p, "meeting_rescheduled", 1)
    assert await notices(pool, meeting_id) == changed
    [(title, body)] = await bodies(pool, meeting_id, "meeting_rescheduled")  # one text for the whole cell
    assert title == f"Thay đổi lịch sinh hoạt: Chi bộ khu phố Đông, chuyển sang {format_when(later)}"
    assert (
        f"Buổi sinh hoạt thường kỳ của Chi bộ khu phố Đông dự kiến lúc {format_when(start)} tại {HALL}"
        f" được chuyển sang lúc {format_when(later)} tại {WARD_HALL}." in body
    )
    assert "lưu ý thời gian, địa điểm mới" in body and "Lý do" not in body  # a snapshot gives no reason

    # delivered again (a redelivery, or both routes carrying it), and a later copy saying nothing new: nobody again
    await handle(pool, settings, clock, resent, resent)
    same = snapshot(p, meeting_id, later, time=clock.value + timedelta(minutes=6), location=WARD_HALL)
    await handle(pool, settings, clock, same)
    assert await notices(pool, meeting_id) == changed

    # only the place changes: a notice saying so, the time kept
    back_home = snapshot(p, meeting_id, later, time=clock.value + timedelta(minutes=7))
    await handle(pool, settings, clock, back_home)
    assert await notices(pool, meeting_id) == changed + times_each(p, "meeting_rescheduled", 1)
    [place] = [text for text in await bodies(pool, meeting_id, "meeting_rescheduled") if text != (title, body)]
    assert place[0] == f"Thay đổi địa điểm sinh hoạt: Chi bộ khu phố Đông, {format_when(later)}"
    assert f"lúc {format_when(later)} được chuyển địa điểm từ {WARD_HALL} sang {HALL}." in place[1]
    assert "lưu ý địa điểm mới" in place[1]


async def test_a_newer_snapshot_overrides_an_earlier_move_and_an_older_move_arriving_late_changes_nothing(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """The newest word on the start wins whichever route said it (as meetings merges them), and only what changes
    the meeting is told."""
    p = Province()
    clock = Clock(datetime.now(VIETNAM_TZ).replace(microsecond=0))
    await handle(pool, settings, clock, *p.setup())
    meeting_id = random_id("mtg")
    start = (clock.value + timedelta(days=10)).replace(hour=19, minute=30, second=0)
    t = clock.value
    await handle(pool, settings, clock, snapshot(p, meeting_id, start, time=t))
    await handle(pool, settings, clock, move(meeting_id, start + timedelta(days=1), time=t + timedelta(minutes=1)))
    resent = snapshot(p, meeting_id, start + timedelta(days=2), time=t + timedelta(minutes=3))
    await handle(pool, settings, clock, resent)
    assert await effective_start(pool, meeting_id) == (start + timedelta(days=2), HALL)
    late = move(meeting_id, start + timedelta(days=5), time=t + timedelta(minutes=2), location=WARD_HALL)
    await handle(pool, settings, clock, late)
    assert await effective_start(pool, meeting_id) == (start + timedelta(days=2), HALL)
    assert await notices(pool, meeting_id) == times_each(p, "meeting_scheduled", 1) + times_each(
        p, "meeting_rescheduled", 2
    )
    titles = await bodies(pool, meeting_id, "meeting_rescheduled")
    moved_to = {title.rsplit("chuyển sang ", 1)[1] for title, _ in titles}
    assert moved_to == {format_when(start + timedelta(days=1)), format_when(start + timedelta(days=2))}


async def test_moving_a_meeting_back_and_forth_notifies_every_move_and_a_redelivered_move_nobody(
    pool: asyncpg.Pool, settings: Settings, smtp: tuple[SmtpInbox, int]
) -> None:
    """Scheduled for the 18th, moved to the 19th, back to the 18th, to the 19th again: four notices and four mails,
    the last saying the 19th, whether mail goes out after each move or once after all of them (the two moves to the
    19th read alike and are still two mails); each of those facts delivered again adds nothing."""
    inbox, _ = smtp
    for mail_each in (True, False):
        p = Province()
        clock = Clock(datetime.now(VIETNAM_TZ).replace(microsecond=0))
        await handle(pool, settings, clock, *p.setup())
        meeting_id = random_id("mtg")
        on_18 = (clock.value + timedelta(days=17)).replace(hour=19, minute=30, second=0)
        on_19 = on_18 + timedelta(days=1)
        t = clock.value
        facts = [
            snapshot(p, meeting_id, on_18, time=t),
            move(meeting_id, on_19, time=t + timedelta(minutes=1), reason="Trùng lịch họp tổ dân phố"),
            move(meeting_id, on_18, time=t + timedelta(minutes=2)),
            move(meeting_id, on_19, time=t + timedelta(minutes=3), reason="Trùng lịch họp tổ dân phố"),
        ]
        first = len(inbox.messages)
        for fact in facts:
            await handle(pool, settings, clock, fact)
            if mail_each:
                await send_mail(pool, settings)
        await send_mail(pool, settings)
        counted = times_each(p, "meeting_scheduled", 1) + times_each(p, "meeting_rescheduled", 3)
        assert await notices(pool, meeting_id) == counted
        mails = mails_about(inbox, p, first)
        assert len(mails) == 4, mail_each  # one mail per notice, to the whole cell at once
        for mail in mails:
            rcpt = inbox.envelopes[inbox.messages.index(mail)]
            assert {p.email(person) for person in expected_members(p)} <= set(rcpt)
            assert p.email(p.exempt) not in rcpt
        scheduled = f"Thông báo lịch sinh hoạt: Chi bộ khu phố Đông, {format_when(on_18)}"
        subjects = Counter(str(mail["Subject"]).rsplit(", chuyển sang ", 1)[-1] for mail in mails)
        assert subjects == Counter({format_when(on_19): 2, format_when(on_18): 1, scheduled: 1})
        if mail_each:
            assert str(mails[-1]["Subject"]).endswith(f"chuyển sang {format_when(on_19)}")
            last = mails[-1].get_content()
            assert f"dự kiến lúc {format_when(on_18)} được chuyển sang lúc {format_when(on_19)}" in last
            assert "Lý do thay đổi: Trùng lịch họp tổ dân phố." in last

        for fact in facts:  # every fact redelivered
            await handle(pool, settings, clock, fact)
        await send_mail(pool, settings)
        assert await notices(pool, meeting_id) == counted
        assert len(mails_about(inbox, p, first)) == 4


async def test_moving_back_and_forth_by_resent_schedules_notifies_every_move_one_by_one_and_in_a_batch(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """The same moves as the secretary re-sending the meeting (meeting.scheduled.v1 each time), through the handler
    of one event and through the batch handler (a stretch of meetings named once in a batch message)."""
    for batched in (False, True):
        p = Province()
        clock = Clock(datetime.now(VIETNAM_TZ).replace(microsecond=0))
        await handle(pool, settings, clock, *p.setup())
        meeting_id, other = random_id("mtg"), random_id("mtg")
        on_18 = (clock.value + timedelta(days=17)).replace(hour=19, minute=30, second=0)
        on_19 = on_18 + timedelta(days=1)
        t = clock.value
        for step, starts_at in enumerate((on_18, on_19, on_18, on_19)):
            facts = [snapshot(p, meeting_id, starts_at, time=t + timedelta(minutes=step))]
            facts.append(snapshot(p, other, on_18 + timedelta(days=2), time=t + timedelta(minutes=step)))
            for _ in range(2):  # and each delivered again
                if batched:
                    await as_batch(pool, settings, clock, facts)
                else:
                    await handle(pool, settings, clock, *facts)
        assert await notices(pool, meeting_id) == times_each(p, "meeting_scheduled", 1) + times_each(
            p, "meeting_rescheduled", 3
        ), batched
        assert await notices(pool, other) == times_each(p, "meeting_scheduled", 1), batched
        assert await effective_start(pool, meeting_id) == (on_19, HALL)


async def test_a_resent_schedule_through_the_broker_reaches_each_expected_member_once_however_often_it_comes(
    settings: Settings, smtp: tuple[SmtpInbox, int], amqp_url: str, db: asyncpg.Connection
) -> None:
    """The running service on the real broker: the meeting scheduled, then re-sent with a new time and place, that
    snapshot published twice and once more in a batch message: one schedule mail and one change mail each."""
    inbox, _ = smtp
    p = Province()
    meeting_id = random_id("mtg")
    t = datetime.now(VIETNAM_TZ).replace(microsecond=0)
    start = (t + timedelta(days=17)).replace(hour=19, minute=30, second=0)
    later = start + timedelta(days=1)
    resent = snapshot(p, meeting_id, later, time=t + timedelta(minutes=5), location=WARD_HALL)
    people = [p.email(person) for person in expected_people(p)]

    def mails(rule: str) -> list[list[EmailMessage]]:
        return [[m for m in inbox.to(address) if str(m["X-Chibo-Rule"]) == rule] for address in people]

    async with running_app(build_app(settings)):
        await publish(amqp_url, p.setup())
        await setup_projected(db, p)
        await publish(amqp_url, [snapshot(p, meeting_id, start, time=t)])
        await eventually(lambda: all(mails("meeting_scheduled")), timeout=60)
        before = settled(NOTIFICATIONS_EVENTS.name)
        await publish(amqp_url, [resent, resent])
        await publish_batches(amqp_url, [resent])
        await eventually(lambda: settled(NOTIFICATIONS_EVENTS.name) - before >= 3, timeout=60)
        rules = {"meeting_scheduled", "meeting_rescheduled"}
        await eventually(lambda: deliveries_settled(db, p.cell, rules), timeout=60, interval=0.2)
    assert [len(each) for each in mails("meeting_scheduled")] == [1] * len(people)
    changed = mails("meeting_rescheduled")
    assert [len(each) for each in changed] == [1] * len(people)
    assert all(each == changed[0] for each in changed[:-1])  # one mail to the cell's members
    assert changed[-1] != changed[0] and plain_text(changed[-1][0]).startswith("Kính gửi đồng chí ")  # the monitor
    body = plain_text(changed[0][0])
    assert f"dự kiến lúc {format_when(start)} tại {HALL} được chuyển sang lúc {format_when(later)} tại {WARD_HALL}" in (
        body
    )
    assert inbox.to(p.email(p.exempt)) == []


async def test_a_meeting_known_before_its_cell_is_announced_by_the_cell_name_once_the_cell_arrives(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """Batches of different types keep no order between them, so notifications can learn of a meeting before its
    cell: the notice waits for the cell (it names the cell, never by id), goes to every expected person once when
    the cell arrives, and a later snapshot of the cell (a rename) adds nothing."""
    p = Province()
    clock = Clock(datetime.now(VIETNAM_TZ).replace(microsecond=0))
    setup = p.setup()
    [cell_unit] = [e for e in setup if e.type == "org.unit.upserted.v1" and e.data["id"] == p.cell]
    await handle(pool, settings, clock, *[e for e in setup if e is not cell_unit])
    meeting_id = random_id("mtg")
    start = (clock.value + timedelta(days=12)).replace(hour=19, minute=30, second=0)
    await handle(pool, settings, clock, snapshot(p, meeting_id, start, time=clock.value))
    assert await notices(pool, meeting_id) == Counter()

    await handle(pool, settings, clock, cell_unit)
    assert await notices(pool, meeting_id) == times_each(p, "meeting_scheduled", 1)
    [(title, body)] = await bodies(pool, meeting_id, "meeting_scheduled")
    assert "Chi bộ khu phố Đông" in title and p.cell not in title and p.cell not in body

    renamed = event(
        "org.unit.upserted.v1",
        cell_unit.data | {"name": "Chi bộ khu phố Đông Hưng"},
        time=cell_unit.time + timedelta(days=1),
    )
    await handle(pool, settings, clock, renamed, cell_unit)
    assert await notices(pool, meeting_id) == times_each(p, "meeting_scheduled", 1)


async def test_a_meeting_members_were_told_of_moved_to_a_start_already_past_is_told_again(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """A trial moved a meeting of the 19th of next month to the 19th of last month (an integration may still do
    so: its facts come in any order): nobody was told, and every inbox kept the 19th ahead. The move is told to each
    expected person; a move between two starts both past (imported history) tells nobody."""
    p = Province()
    clock = Clock(datetime.now(VIETNAM_TZ).replace(microsecond=0))
    await handle(pool, settings, clock, *p.setup())
    meeting_id = random_id("mtg")
    ahead = (clock.value + timedelta(days=17)).replace(hour=8, minute=0, second=0)
    past = ahead - timedelta(days=30)
    t = clock.value
    await handle(pool, settings, clock, snapshot(p, meeting_id, ahead, time=t))
    await handle(pool, settings, clock, move(meeting_id, past, time=t + timedelta(minutes=1)))
    told = times_each(p, "meeting_scheduled", 1) + times_each(p, "meeting_rescheduled", 1)
    assert await notices(pool, meeting_id) == told
    [(title, body)] = await bodies(pool, meeting_id, "meeting_rescheduled")
    assert title.endswith(f"chuyển sang {format_when(past)}")
    assert f"dự kiến lúc {format_when(ahead)}" in body and f"sang lúc {format_when(past)}" in body

    await handle(pool, settings, clock, move(meeting_id, past - timedelta(days=1), time=t + timedelta(minutes=2)))
    assert await notices(pool, meeting_id) == told


async def test_a_meeting_fed_as_history_then_moved_ahead_is_announced_as_new_and_a_move_within_the_past_tells_nobody(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """An integration feeds a meeting as already held (history: nobody is told of it) and then moves it ahead: the
    members never heard of its first start, so the move is announced as the meeting's schedule notice (the text a
    meeting scheduled at that start gets: its time, place and content), not "dự kiến lúc <a start nobody heard of>
    được chuyển sang ..."; a later move tells of the start announced. A meeting nobody was told of moved to another
    past start tells nobody."""
    p = Province()
    clock = Clock(datetime.now(VIETNAM_TZ).replace(microsecond=0))
    await handle(pool, settings, clock, *p.setup())
    t = clock.value
    held = (clock.value - timedelta(days=40)).replace(hour=8, minute=0, second=0)
    ahead = (clock.value + timedelta(days=9)).replace(hour=19, minute=30, second=0)
    meeting_id, twin_id = random_id("mtg"), random_id("mtg")
    await handle(pool, settings, clock, snapshot(p, meeting_id, held, time=t))
    assert await notices(pool, meeting_id) == Counter()

    await handle(pool, settings, clock, move(meeting_id, held - timedelta(days=1), time=t + timedelta(minutes=1)))
    assert await notices(pool, meeting_id) == Counter()

    await handle(pool, settings, clock, move(meeting_id, ahead, time=t + timedelta(minutes=2)))
    announced = times_each(p, "meeting_scheduled", 1)
    assert await notices(pool, meeting_id) == announced
    [(title, body)] = await bodies(pool, meeting_id, "meeting_scheduled")
    await handle(pool, settings, clock, snapshot(p, twin_id, ahead, time=t))  # the same meeting, scheduled there
    [(twin_title, twin_body)] = await bodies(pool, twin_id, "meeting_scheduled")
    assert (title, body.replace(meeting_id, twin_id)) == (twin_title, twin_body)
    assert format_when(ahead) in body and HALL in body and "Kiểm điểm nghị quyết tháng trước" in body
    assert format_when(held) not in body and "dự kiến lúc" not in body

    later = ahead + timedelta(days=1)
    await handle(pool, settings, clock, move(meeting_id, later, time=t + timedelta(minutes=3)))
    assert await notices(pool, meeting_id) == announced + times_each(p, "meeting_rescheduled", 1)
    [(title, body)] = await bodies(pool, meeting_id, "meeting_rescheduled")
    assert title.endswith(f"chuyển sang {format_when(later)}")
    assert f"dự kiến lúc {format_when(ahead)}" in body and f"sang lúc {format_when(later)}" in body


async def test_a_meeting_fed_as_history_then_resent_ahead_is_announced_as_new_one_by_one_and_in_a_batch(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """The same by a newer schedule snapshot (the integration re-sending the meeting at a start ahead), through the
    handler of one event and through the batch handler: the schedule notice to each expected person, no change
    notice naming the start nobody heard of; a snapshot moving it on is told as a move from the start announced."""
    for batched in (False, True):
        p = Province()
        clock = Clock(datetime.now(VIETNAM_TZ).replace(microsecond=0))
        await handle(pool, settings, clock, *p.setup())
        meeting_id, other = random_id("mtg"), random_id("mtg")
        held = (clock.value - timedelta(days=40)).replace(hour=8, minute=0, second=0)
        ahead = (clock.value + timedelta(days=9)).replace(hour=19, minute=30, second=0)
        t = clock.value
        for step, starts_at in enumerate((held, ahead, ahead + timedelta(days=1))):
            facts = [
                snapshot(p, meeting_id, starts_at, time=t + timedelta(minutes=step)),
                snapshot(p, other, ahead + timedelta(days=2), time=t + timedelta(minutes=step)),
            ]
            if batched:
                await as_batch(pool, settings, clock, facts)
            else:
                await handle(pool, settings, clock, *facts)
            if step == 1:
                assert await notices(pool, meeting_id) == times_each(p, "meeting_scheduled", 1), batched
                [(_, body)] = await bodies(pool, meeting_id, "meeting_scheduled")
                assert format_when(ahead) in body and format_when(held) not in body, batched
        assert await notices(pool, meeting_id) == times_each(p, "meeting_scheduled", 1) + times_each(
            p, "meeting_rescheduled", 1
        ), batched
        [(_, body)] = await bodies(pool, meeting_id, "meeting_rescheduled")
        assert f"dự kiến lúc {format_when(ahead)}" in body, batched


async def test_a_move_in_a_cell_whose_committee_switched_schedule_notices_off_is_told_to_every_member_as_a_move(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """Schedule notices switched off by the committee: nobody was told of the meeting, and nobody can be (no schedule
    notice fires), so its move is told to every expected person as a move, not dropped as a move of a meeting
    nobody heard of."""
    p = Province()
    clock = Clock(datetime.now(VIETNAM_TZ).replace(microsecond=0))
    await handle(pool, settings, clock, *p.setup())
    await commands_at(pool, settings, clock).set_rule(p.committee, "meeting_scheduled", enabled=False)
    t = clock.value
    ahead = (clock.value + timedelta(days=9)).replace(hour=19, minute=30, second=0)
    meeting_id = random_id("mtg")
    await handle(pool, settings, clock, snapshot(p, meeting_id, ahead, time=t))
    assert await notices(pool, meeting_id) == Counter()

    await handle(pool, settings, clock, move(meeting_id, ahead + timedelta(days=1), time=t + timedelta(minutes=1)))
    assert await notices(pool, meeting_id) == times_each(p, "meeting_rescheduled", 1)
