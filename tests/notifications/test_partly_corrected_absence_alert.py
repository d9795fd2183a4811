"""A mailed unexcused-absence alert naming two absentees, then the roster corrected to excuse one of them: the alert
still holds for the other, so it stays; what each of the cell committee reads names the member taken back and for
whom the alert still holds, in the correction mail and in the inbox (the kept notice no longer names the excused
member as absent without reason). The running service against the real broker, database and SMTP server."""

from datetime import timedelta
from functools import partial

import asyncpg

from services.notifications import queries
from services.notifications.bootstrap import build_app
from services.notifications.config import Settings
from shared.envelope import CloudEvent, now
from tests.notifications import test_absence_alerts as absences
from tests.notifications.conftest import SmtpInbox
from tests.notifications.events import Province, publish
from tests.notifications.test_absences_in_one_alert import member, roster
from tests.notifications.test_crossings_in_one_alert import crossing_mails
from tests.notifications.test_service import deliveries_settled, minutes_projected, setup_projected
from tests.support.ids import random_id
from tests.support.running import eventually, running_app


async def held_with_hai(amqp_url: str, db: asyncpg.Connection, p: Province, meeting_id: str, hai: str) -> None:
    """The province projected with one more member of the cell, Trần Văn Hải (`hai`), and the meeting held: scheduled
    3 hours ago, its minutes in."""
    await publish(amqp_url, [*p.setup(), member(p, hai, "Trần Văn Hải")])
    await setup_projected(db, p)
    await eventually(lambda: db.fetchval("SELECT 1 FROM notifications.member WHERE id = $1", hai))
    await publish(
        amqp_url,
        [p.scheduled(meeting_id, now() - timedelta(hours=3)), p.minutes(meeting_id, now() - timedelta(hours=1))],
    )
    await minutes_projected(db, meeting_id)


async def test_a_correction_that_leaves_another_absentee_names_whom_it_takes_back_in_the_mail_and_the_inbox(
    settings: Settings, smtp: tuple[SmtpInbox, int], amqp_url: str, db: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    inbox, _ = smtp
    p, meeting_id = Province(), random_id("mtg")
    hai = random_id("dv")
    committee = {p.secretary: p.email(p.secretary), p.deputy: p.email(p.deputy)}
    first = roster(meeting_id, p, [p.member, hai], [p.secretary, p.deputy], minutes_ago=30)
    corrected = roster(meeting_id, p, [hai], [p.secretary, p.deputy, p.member], minutes_ago=10)

    mails = partial(crossing_mails, inbox)  # the subject and plain body of each mail of a rule to an address

    async with running_app(build_app(settings)):
        await held_with_hai(amqp_url, db, p, meeting_id, hai)
        await publish(amqp_url, [first])
        await eventually(lambda: all(mails(a, "unexcused_absence") for a in committee.values()), timeout=60)
        await publish(amqp_url, [corrected, corrected])
        await eventually(lambda: all(mails(a, "absence_corrected") for a in committee.values()), timeout=60)
        await eventually(lambda: deliveries_settled(db, p.cell, {"absence_corrected"}), timeout=60, interval=0.5)

    for recipient_id, address in committee.items():
        [alert] = mails(address, "unexcused_absence")
        assert "Lê Văn Đức" in alert and "Trần Văn Hải" in alert  # as it was sent
        [correction] = mails(address, "absence_corrected")
        assert correction.startswith("Đính chính thông báo vắng mặt không lý do: Lê Văn Đức"), correction
        assert "đồng chí Lê Văn Đức không còn được ghi là vắng mặt không có lý do" in correction, correction
        assert (
            "Thông báo vắng mặt không lý do đã gửi trước đây vẫn đúng đối với đồng chí Trần Văn Hải; riêng đồng chí"
            " Lê Văn Đức được rút tên khỏi thông báo đó." in correction
        ), correction
        assert "không căn cứ" not in correction, correction  # the alert still holds for the other absentee

        async with pool.acquire() as conn:
            page = await queries.inbox(conn, recipient_id=recipient_id, unread_only=False, limit=20, offset=0)
        items = [item for item in page["items"] if item["subject_id"] == meeting_id]
        kept = [item for item in items if item["rule"] == "unexcused_absence"]
        assert len(kept) == 1 and kept[0]["void_at"] is None, kept
        assert kept[0]["title"].startswith("Đảng viên vắng mặt không lý do: Trần Văn Hải"), kept[0]["title"]
        assert "Lê Văn Đức" not in kept[0]["title"] + kept[0]["body"], kept[0]  # it holds for Trần Văn Hải alone
        [told] = [item for item in items if item["rule"] == "absence_corrected"]
        assert "riêng đồng chí Lê Văn Đức được rút tên khỏi thông báo đó" in told["body"], told


async def test_a_run_alert_corrected_for_one_of_two_members_stays_for_the_other_and_says_so(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """Two members' fourth absence in a row at one meeting, told in one mailed alert each to the cell and superior
    committees; then the first member's figures about it corrected below the threshold (handlers on the real
    database): the alert stays, names only the other from now on, and each recipient's correction names the member
    struck from it and the one it still holds for."""
    p, clock = await absences.province(pool, settings)
    hai = random_id("dv")
    await absences.feed(pool, settings, clock, [[member(p, hai, "Trần Văn Hải")]])

    def of_hai(item: CloudEvent) -> CloudEvent:
        return item.model_copy(update={"data": {**item.data, "full_name": "Trần Văn Hải"}})

    steps = [
        [absences.announced(p, step, step + 1), of_hai(absences.announced(p, step, step + 1, member=hai))]
        for step in range(4)
    ]
    await absences.feed(pool, settings, clock, steps)
    meeting_id = f"{p.cell}-m3"
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE delivery d SET status = 'delivered', delivered_at = $2 FROM notification n"
            " WHERE n.id = d.notification_id AND n.subject_id = $1",
            meeting_id,
            clock.value,
        )
    wrong = absences.announced(p, 3, 0)
    corrected = wrong.model_copy(
        update={"id": random_id("evt"), "time": wrong.time + timedelta(hours=1), "data": {**wrong.data, "sequence": 99}}
    )
    await absences.feed(pool, settings, clock, [[corrected], [corrected]])

    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT rule, recipient_id, void_at, title, body FROM notification WHERE subject_id = $1", meeting_id
        )
    alerts = [row for row in rows if row["rule"] == "consecutive_absences"]
    corrections = [row for row in rows if row["rule"] == "absence_crossing_corrected"]
    assert sorted(row["recipient_id"] for row in alerts) == sorted([p.secretary, p.deputy, p.committee])
    assert all(row["void_at"] is None for row in alerts)  # it still holds for Trần Văn Hải
    assert all("Trần Văn Hải" in row["body"] and "Lê Văn Đức" not in row["title"] + row["body"] for row in alerts)
    assert sorted(row["recipient_id"] for row in corrections) == sorted([p.secretary, p.deputy, p.committee])
    for row in corrections:
        assert "Lê Văn Đức (Chi bộ khu phố Đông) nay không còn trong trường hợp" in row["body"], row["body"]
        assert (
            "Thông báo đã gửi trước đây vẫn đúng đối với đồng chí Trần Văn Hải; riêng đồng chí Lê Văn Đức được rút"
            " tên khỏi thông báo đó." in row["body"]
        ), row["body"]
