"""A follow-up absence alert ("Bổ sung…": a later roster found one more member absent without reason after the first
alert went out) naming only a member whose absence is then excused: the correction reaches it as it reaches the
first alert. Each of the cell committee gets one correction mail naming the member taken back; the follow-up, naming
nobody any more, is withdrawn (kept in the inbox labelled corrected); the first alert, which still holds for the
member it named, stays as it was. The running service against the real broker, database and SMTP server."""

from datetime import timedelta
from functools import partial

import asyncpg

from services.notifications import queries
from services.notifications.bootstrap import build_app
from services.notifications.config import Settings
from shared.envelope import CloudEvent, now
from tests.notifications import test_absence_alerts as absences
from tests.notifications.conftest import SmtpInbox
from tests.notifications.events import Province, event, publish
from tests.notifications.test_absences_in_one_alert import member
from tests.notifications.test_crossings_in_one_alert import crossing_mails
from tests.notifications.test_partly_corrected_absence_alert import held_with_hai
from tests.notifications.test_run_corrected_before_its_alert import mark_mailed
from tests.notifications.test_service import deliveries_settled
from tests.support.ids import random_id
from tests.support.running import eventually, running_app


def roster(meeting_id: str, statuses: dict[str, str], *, minutes_ago: int) -> CloudEvent:
    """attendance.recorded.v1 of the meeting: each member with their status, recorded `minutes_ago`."""
    records = [{"member_id": member_id, "status": status} for member_id, status in statuses.items()]
    data = {"meeting_id": meeting_id, "records": records}
    return event("attendance.recorded.v1", data, time=now() - timedelta(minutes=minutes_ago))


async def test_a_follow_up_naming_only_a_member_excused_later_is_withdrawn_and_its_correction_names_them(
    settings: Settings, smtp: tuple[SmtpInbox, int], amqp_url: str, db: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    inbox, _ = smtp
    p, meeting_id = Province(), random_id("mtg")
    hai = random_id("dv")
    committee = {p.secretary: p.email(p.secretary), p.deputy: p.email(p.deputy)}
    there = {p.secretary: "present", p.deputy: "present"}
    first = roster(meeting_id, {**there, p.member: "absent", hai: "present"}, minutes_ago=30)
    more = roster(meeting_id, {**there, p.member: "absent", hai: "absent"}, minutes_ago=20)
    excused = roster(meeting_id, {**there, p.member: "absent", hai: "excused"}, minutes_ago=10)

    mails = partial(crossing_mails, inbox)  # the subject and plain body of each mail of a rule to an address

    async with running_app(build_app(settings)):
        await held_with_hai(amqp_url, db, p, meeting_id, hai)
        await publish(amqp_url, [first])
        await eventually(lambda: all(mails(a, "unexcused_absence") for a in committee.values()), timeout=60)
        await publish(amqp_url, [more])
        await eventually(lambda: all(len(mails(a, "unexcused_absence")) == 2 for a in committee.values()), timeout=60)
        await publish(amqp_url, [excused, excused])
        await eventually(lambda: all(mails(a, "absence_corrected") for a in committee.values()), timeout=60)
        await eventually(lambda: deliveries_settled(db, p.cell, {"absence_corrected"}), timeout=60, interval=0.5)

    for recipient_id, address in committee.items():
        alert, follow_up = sorted(mails(address, "unexcused_absence"), key=lambda text: text.startswith("Bổ sung"))
        assert "Lê Văn Đức" in alert and "Trần Văn Hải" not in alert, alert
        assert follow_up.startswith("Bổ sung đảng viên vắng mặt không lý do: Trần Văn Hải"), follow_up
        [correction] = mails(address, "absence_corrected")
        assert correction.startswith("Đính chính thông báo vắng mặt không lý do: Trần Văn Hải"), correction
        assert "đồng chí Trần Văn Hải không còn được ghi là vắng mặt không có lý do" in correction, correction

        async with pool.acquire() as conn:
            page = await queries.inbox(conn, recipient_id=recipient_id, unread_only=False, limit=20, offset=0)
        items = [item for item in page["items"] if item["subject_id"] == meeting_id]
        notices = [item for item in items if item["rule"] == "unexcused_absence"]
        standing = [item for item in notices if item["void_at"] is None]
        withdrawn = [item for item in notices if item["void_at"] is not None]
        assert len(standing) == 1 and standing[0]["title"].startswith("Đảng viên vắng mặt không lý do: Lê Văn Đức")
        assert "Trần Văn Hải" not in standing[0]["title"] + standing[0]["body"], standing[0]
        assert len(withdrawn) == 1 and withdrawn[0]["title"].startswith("Bổ sung"), withdrawn
        assert withdrawn[0]["void_reason"] == "corrected", withdrawn[0]


async def test_a_run_follow_up_naming_only_a_member_corrected_later_is_withdrawn_and_the_first_alert_stays(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """A member's fourth absence in a row at a meeting, told in one mailed alert to the cell and superior committees;
    a second member's fourth absence at the same meeting announced after it went out, told in a follow-up naming
    only them; then the second member's figures about the meeting corrected below the threshold (handlers on the
    real database): the follow-up is withdrawn (labelled corrected), the first alert stays naming the first member,
    and each recipient's correction names the member taken back."""
    p, clock = await absences.province(pool, settings)
    hai = random_id("dv")
    await absences.feed(pool, settings, clock, [[member(p, hai, "Trần Văn Hải")]])
    meeting_id = f"{p.cell}-m3"

    def of_hai(item: CloudEvent) -> CloudEvent:
        return item.model_copy(update={"data": {**item.data, "full_name": "Trần Văn Hải"}})

    await absences.feed(pool, settings, clock, [[absences.announced(p, step, step + 1)] for step in range(4)])
    await mark_mailed(pool, meeting_id, clock.value)
    hai_steps = [of_hai(absences.announced(p, step, step + 1, member=hai)) for step in range(4)]
    await absences.feed(pool, settings, clock, [[item] for item in hai_steps])
    await mark_mailed(pool, meeting_id, clock.value)
    wrong = of_hai(absences.announced(p, 3, 0, member=hai))
    corrected = wrong.model_copy(
        update={"id": random_id("evt"), "time": wrong.time + timedelta(hours=1), "data": {**wrong.data, "sequence": 99}}
    )
    await absences.feed(pool, settings, clock, [[corrected], [corrected]])

    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT rule, recipient_id, period, void_reason, title, body FROM notification WHERE subject_id = $1",
            meeting_id,
        )
    everyone = sorted([p.secretary, p.deputy, p.committee])
    first = [row for row in rows if row["rule"] == "consecutive_absences" and row["period"] == meeting_id]
    follow_ups = [row for row in rows if row["rule"] == "consecutive_absences" and row["period"] != meeting_id]
    corrections = [row for row in rows if row["rule"] == "absence_crossing_corrected"]
    assert sorted(row["recipient_id"] for row in first) == everyone
    assert all(row["void_reason"] is None and "Lê Văn Đức" in row["body"] for row in first)
    assert all("Trần Văn Hải" not in row["title"] + row["body"] for row in first)
    assert sorted(row["recipient_id"] for row in follow_ups) == everyone
    assert all(row["void_reason"] == "corrected" and "Trần Văn Hải" in row["title"] for row in follow_ups)
    assert sorted(row["recipient_id"] for row in corrections) == everyone
    for row in corrections:
        assert row["title"].startswith("Đính chính thông báo vắng nhiều buổi liên tiếp: Trần Văn Hải"), row["title"]
        assert "Trần Văn Hải (Chi bộ khu phố Đông) nay không còn trong trường hợp" in row["body"], row["body"]
