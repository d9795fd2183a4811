"""Seed a small demo province through the public ingest route (AMQP batches on chibo.ingest).

Two communes/wards under a province committee, six cells with members, monitors, and a year of meeting history that
moves with the calendar (DemoYear): the twelve months ending with last month in Vietnam, the tree loaded on the 1st of
the first of them, meetings held (a thematic one in each quarter, a weak cell, missed months; the first month is
regular, so a quarter of which the history holds only that month is Poor without its thematic meeting), plus this
month's meeting still ahead and its notices, so every screen and most alerts have something to show. Ids are stable
(a counter), so seeding twice changes nothing (the second run's events are duplicates by (source, id)); with
--database-url the seed is not even sent when that database's meetings service already took in every one of its
events (a second `make up`). So a database seeded in an earlier month keeps that month's demo, its meeting "ahead"
then past: a fresh database (CHIBO_DATABASE_URL) gets this month's.
"""

import argparse
import asyncio
import json
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import aio_pika
import asyncpg

from shared.config import ServiceSettings, broker_user_of, checkout_system
from shared.contracts.frameworks import default_manual_maxima
from shared.envelope import BATCH_CONTENT_TYPE
from shared.periods import VIETNAM_TZ, previous_month, quarter_of
from shared.topology import INGEST_EXCHANGE, declare_topology

SOURCE = "urn:chibo:demo-seed"
MEETINGS_SCHEMA = "meetings"
"""Where the meetings service keeps what it took in (services.meetings.unit_of_work.SCHEMA, not imported: it costs a
second of start-up)."""
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE_MALE = ["Văn", "Hữu", "Đức", "Minh", "Quốc", "Thành"]
MIDDLE_FEMALE = ["Thị", "Thu", "Ngọc", "Thanh", "Kim", "Mỹ"]
GIVEN_MALE = ["An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Long", "Nam", "Phúc", "Quang", "Sơn", "Trung", "Tuấn"]
GIVEN_FEMALE = ["Hà", "Hạnh", "Hoa", "Lan", "Mai", "Nga", "Tâm", "Thảo", "Vân", "Yến", "Hương", "Linh"]

PROVINCE = ("demo-tinh-uy", "Tỉnh ủy Demo")
COMMUNES = [("demo-xa-hoa-binh", "Đảng ủy xã Hòa Bình"), ("demo-phuong-an-phu", "Đảng ủy phường An Phú")]
CELLS = [
    ("demo-cb-thon-1", "Chi bộ thôn 1", "residential", "demo-xa-hoa-binh", 14, "good"),
    ("demo-cb-thon-2", "Chi bộ thôn 2", "residential", "demo-xa-hoa-binh", 11, "weak"),
    ("demo-cb-truong-th", "Chi bộ Trường Tiểu học Hòa Bình", "school", "demo-xa-hoa-binh", 9, "good"),
    ("demo-cb-kp-3", "Chi bộ khu phố 3", "residential", "demo-phuong-an-phu", 16, "fair"),
    ("demo-cb-tram-yte", "Chi bộ Trạm Y tế phường", "public_service", "demo-phuong-an-phu", 7, "missed"),
    ("demo-cb-cong-an", "Chi bộ Công an phường", "police", "demo-phuong-an-phu", 12, "good"),
]


MEETING_DAY = 4
"""The day of the month the demo cells hold their regular meeting (19:30, MEETING_TIME)."""
MEETING_TIME = time(19, 30, tzinfo=VIETNAM_TZ)
AHEAD = timedelta(hours=12)
"""How far ahead of the seeding moment this month's meeting is at least: room for a run of the web tests that sign in
to the demo and expect a meeting still ahead."""
NOTICE_DAYS = 9
"""How many days before this month's meeting it is scheduled (at 08:00), with its notice."""
SKIPPED_MONTHS = (4, 10)
"""The calendar months (April, October) the 'missed' cell holds no meeting in."""


def month_id(month: date) -> str:
    """The period `YYYY-MM` of the month starting on `month`."""
    return f"{month.year:04d}-{month.month:02d}"


@dataclass(frozen=True)
class DemoYear:
    """The demo's calendar for the moment it is seeded (`now`, Vietnam): deterministic for a given moment."""

    now: datetime

    @classmethod
    def at(cls, now: datetime | None = None) -> "DemoYear":
        """The calendar of a seeding at `now` (aware; the current moment by default), on Vietnam's clock."""
        return cls((now or datetime.now(VIETNAM_TZ)).astimezone(VIETNAM_TZ))

    @property
    def current(self) -> date:
        """The first day of the month the demo is seeded in: its meeting is the one still ahead."""
        return self.now.date().replace(day=1)

    @property
    def months(self) -> list[date]:
        """The first days of the twelve months of history, oldest first, ending with last month."""
        months = [self.current]
        for _ in range(12):
            months.insert(0, date(*previous_month(months[0].year, months[0].month), 1))
        return months[:-1]

    @property
    def setup(self) -> datetime:
        """When the province's tree, members and monitors are loaded: 08:00 on the 1st of the first month of history.
        A cell is rated from the month it appears in, so a tree loaded a month earlier left every cell, even the
        strongest, without a meeting in that month: Kém for it and for its year."""
        return datetime.combine(self.months[0], time(8, 0), tzinfo=VIETNAM_TZ)

    @property
    def period(self) -> str:
        """Last month, `YYYY-MM`: the latest closed month, every cell rated."""
        return month_id(self.months[-1])

    @property
    def running(self) -> str:
        """This month, `YYYY-MM`: still running, its meeting ahead."""
        return month_id(self.current)

    @property
    def first_year(self) -> str:
        """The year of the history's first month, `YYYY`."""
        return str(self.months[0].year)

    @property
    def admitted_on(self) -> date:
        """When each cell's probationary member was admitted: the 6th of the history's second month."""
        return self.months[1].replace(day=6)

    def meeting_id(self, cell_id: str, month: date | str) -> str:
        """The id of the cell's meeting of `month` (a first day or `YYYY-MM`), held or ahead."""
        return f"{cell_id}-{month if isinstance(month, str) else month_id(month)}"

    def meeting_start(self, month: date) -> datetime:
        """19:30 on the 4th of a month of history: when the demo cells held its meeting."""
        return datetime.combine(month.replace(day=MEETING_DAY), MEETING_TIME)

    @property
    def meeting_ahead(self) -> datetime:
        """This month's meeting: 19:30 on the 4th, or the first 19:30 at least AHEAD after the seeding moment once that
        is too close or past. It stays within this month unless the demo is seeded after 07:30 on the month's last
        day: then it is at 19:30 on the 1st of next month, still this month's meeting by id and agenda (ahead wins
        over within: this month is then left without a meeting held in it, as a cell that postponed it would be)."""
        earliest = self.now + AHEAD
        day = earliest.date() if earliest.timetz() <= MEETING_TIME else earliest.date() + timedelta(days=1)
        return max(self.meeting_start(self.current), datetime.combine(day, MEETING_TIME))

    @property
    def notices_at(self) -> datetime:
        """When this month's meeting is scheduled and its notices go out: 08:00, NOTICE_DAYS days before it."""
        return datetime.combine(self.meeting_ahead.date() - timedelta(days=NOTICE_DAYS), time(8, 0), tzinfo=VIETNAM_TZ)

    def held(self, quality: str) -> list[date]:
        """The months of history a cell of `quality` held its meeting in: every one but April and October for the
        'missed' cell."""
        return [m for m in self.months if not (quality == "missed" and m.month in SKIPPED_MONTHS)]

    def thematic(self, quality: str) -> set[date]:
        """The months a cell of `quality` held a thematic (combined) meeting in: each quarter's latest month of
        history, but never the first month (the cells just appeared: a quarter of which the history holds only that
        month is Poor without its thematic meeting); the weak cell only in the 1st and 3rd quarters of a year."""
        latest: dict[str, date] = {}
        for month in self.months[1:]:
            latest[quarter_of(datetime.combine(month, time(12, 0), tzinfo=VIETNAM_TZ))] = month
        chosen = {month for quarter, month in latest.items() if quality != "weak" or quarter[-1] in "13"}
        return chosen & set(self.held(quality))


class Seed:
    """Builds the demo's CloudEvents in an order a real feed might use."""

    def __init__(self, now: datetime | None = None) -> None:
        self.year = DemoYear.at(now)
        self.random = random.Random(2026)
        self.events: list[dict[str, Any]] = []
        self.counter = 0

    def emit(self, event_type: str, data: dict[str, Any], *, at: datetime) -> None:
        """Add one event with a stable id."""
        self.counter += 1
        self.events.append(
            {
                "specversion": "1.0",
                "id": f"seed-{self.counter:05d}",
                "source": SOURCE,
                "type": event_type,
                "time": at.isoformat(),
                "datacontenttype": "application/json",
                "data": data,
            }
        )

    def name(self) -> tuple[str, str]:
        """A Vietnamese full name and its gender."""
        gender = self.random.choice(["male", "female"])
        middle = MIDDLE_MALE if gender == "male" else MIDDLE_FEMALE
        given = GIVEN_MALE if gender == "male" else GIVEN_FEMALE
        return f"{self.random.choice(FAMILY)} {self.random.choice(middle)} {self.random.choice(given)}", gender

    def build(self) -> list[dict[str, Any]]:
        """All events of the demo province, the unit snapshots first (the tree, then members, monitors, histories)."""
        setup = self.year.setup
        self.emit(
            "org.unit.upserted.v1",
            {
                "id": PROVINCE[0],
                "name": PROVINCE[1],
                "kind": "committee",
                "parent_id": None,
                "contact_emails": ["vanphong@tinhuy-demo.vn"],
            },
            at=setup,
        )
        for unit_id, name in COMMUNES:
            self.emit(
                "org.unit.upserted.v1",
                {
                    "id": unit_id,
                    "name": name,
                    "kind": "committee",
                    "parent_id": PROVINCE[0],
                    "contact_emails": [f"{unit_id}@demo.vn"],
                },
                at=setup,
            )
        monitor_names: dict[str, str] = {}
        for cell_id, name, category, parent, size, quality in CELLS:
            self.emit(
                "org.unit.upserted.v1",
                {
                    "id": cell_id,
                    "name": name,
                    "kind": "cell",
                    "parent_id": parent,
                    "category": category,
                    "contact_emails": [f"{cell_id}@demo.vn"],
                },
                at=setup,
            )
            members = self.members(cell_id, size, setup)
            drawn = self.name()[0]  # drawn for every cell, so the names after it stay those of earlier seeds
            monitor_names.setdefault(parent, drawn)  # one person, one name, in each cell they follow
            self.emit(
                "monitor.assigned.v1",
                {
                    "person_id": f"{parent}-uv1",
                    "full_name": monitor_names[parent],
                    "committee_id": parent,
                    "cell_id": cell_id,
                    "email": f"{parent}-uv1@demo.vn",
                    "yearly_quota": 6,
                },
                at=setup,
            )
            self.history(cell_id, members, quality, parent)
        # the whole tree first (ids kept: they were drawn in the order above): a cell whose snapshot came after another
        # cell's history would be a cell set up late in months its commune already showed (a late change, h340)
        self.events.sort(key=lambda event: event["type"] != "org.unit.upserted.v1")
        return self.events

    def members(self, cell_id: str, size: int, at: datetime) -> list[str]:
        """Upsert the cell's members; return their ids."""
        ids = []
        for index in range(size):
            member_id = f"{cell_id}-dv{index + 1:02d}"
            full_name, gender = self.name()
            role = (
                "secretary"
                if index == 0
                else "deputy_secretary"
                if index == 1
                else ("committee_member" if size >= 9 and index == 2 else "member")
            )
            probationary = index == size - 1
            admitted = self.year.admitted_on if probationary else date(2000 + index % 20, 3, 1)
            self.emit(
                "member.upserted.v1",
                {
                    "id": member_id,
                    "full_name": full_name,
                    "cell_id": cell_id,
                    "status": "probationary" if probationary else "official",
                    "role": role,
                    "gender": gender,
                    "birth_year": 1950 + (index * 3) % 50,
                    "admitted_on": admitted.isoformat(),
                    "exempt": index == size - 2 and size > 10,
                    "email": f"{member_id}@demo.vn",
                },
                at=at,
            )
            ids.append(member_id)
        return ids

    def history(self, cell_id: str, members: list[str], quality: str, committee_id: str) -> None:
        """A year of meetings (DemoYear.months), and this month's, ahead, with its notice."""
        previous_tasks: list[dict[str, Any]] = []
        thematic = self.year.thematic(quality)
        for month in self.year.held(quality):
            kind = "combined" if month in thematic else "regular"
            start = self.year.meeting_start(month)
            meeting_id = self.year.meeting_id(cell_id, month)
            self.meeting(cell_id, meeting_id, kind, start, members, quality, previous_tasks, committee_id)
            previous_tasks = [
                {
                    "task_id": f"{meeting_id}-t{n}",
                    "meeting_id": meeting_id,
                    "due_on": (start + timedelta(days=20)).date().isoformat(),
                }
                for n in range(2)
            ]
        last, current = self.year.months[-1].month, self.year.current.month
        self.emit(
            "meeting.scheduled.v1",
            {
                "meeting_id": self.year.meeting_id(cell_id, self.year.current),
                "cell_id": cell_id,
                "kind": "regular",
                "starts_at": self.year.meeting_ahead.isoformat(),
                "location": "Hội trường nhà văn hóa",
                "agenda": [f"Kiểm điểm nghị quyết tháng {last}", f"Phương hướng nhiệm vụ tháng {current}"],
                "committee_prepared": True,
            },
            at=self.year.notices_at,
        )

    def meeting(
        self,
        cell_id: str,
        meeting_id: str,
        kind: str,
        start: datetime,
        members: list[str],
        quality: str,
        previous_tasks: list[dict[str, Any]],
        committee_id: str,
    ) -> None:
        """One held meeting with its documents, roster, minutes, approval and assessments."""
        scheduled_at = max(start - timedelta(days=5), self.year.setup)  # not before its cell is known
        data: dict[str, Any] = {
            "meeting_id": meeting_id,
            "cell_id": cell_id,
            "kind": kind,
            "starts_at": start.isoformat(),
            "location": "Hội trường nhà văn hóa",
            "committee_prepared": quality != "weak",
            "agenda": ["Kiểm điểm việc thực hiện nghị quyết tháng trước", "Thảo luận nhiệm vụ tháng tới"],
        }
        if kind == "combined":
            data["topic"] = "Học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh"
        self.emit("meeting.scheduled.v1", data, at=scheduled_at)
        if quality != "weak":
            self.emit(
                "documents.published.v1",
                {
                    "meeting_id": meeting_id,
                    "published_at": (start - timedelta(days=2)).isoformat(),
                    "items": [
                        {"title": "Dự thảo nghị quyết", "kind": "draft_resolution"},
                        {"title": "Nội dung sinh hoạt", "kind": "content"},
                    ],
                },
                at=start - timedelta(days=2),
            )
        absent_share = {"good": 0.0, "fair": 0.15, "weak": 0.35, "missed": 0.1}[quality]
        records = []
        for index, member_id in enumerate(members):
            reason: str | None
            if index == len(members) - 2 and len(members) > 10:
                status, reason = "exempt", "Tuổi cao, sức yếu"
            elif index > 1 and self.random.random() < absent_share:
                status, reason = ("excused", "Đi công tác") if self.random.random() < 0.6 else ("absent", None)
            else:
                status, reason = "present", None
            record = {"member_id": member_id, "status": status}
            if reason:
                record["reason"] = reason
            records.append(record)
        guests = (
            [
                {
                    "name": "Đồng chí cấp ủy viên phụ trách",
                    "person_id": f"{committee_id}-uv1",
                    "committee_id": committee_id,
                }
            ]
            if quality != "weak"
            else []
        )
        self.emit(
            "attendance.recorded.v1",
            {"meeting_id": meeting_id, "records": records, "guests": guests},
            at=start + timedelta(minutes=10),
        )
        present = [r["member_id"] for r in records if r["status"] == "present"]
        minutes = 125 if kind == "combined" else (95 if quality != "weak" else 60)
        speakers = present[: max(1, int(len(present) * (0.6 if quality in ("good", "fair") else 0.2)))]
        self.emit(
            "minutes.submitted.v1",
            {
                "meeting_id": meeting_id,
                "started_at": start.isoformat(),
                "ended_at": (start + timedelta(minutes=minutes)).isoformat(),
                "chair_id": members[0],
                "recorder_id": members[1],
                "speakers": speakers,
                "self_criticism_minutes": 20 if quality != "weak" else 5,
                "content": "Đánh giá kết quả thực hiện nhiệm vụ tháng; thảo luận phương hướng tháng tới.",
                "conclusions": "Chi bộ thống nhất các chỉ tiêu nhiệm vụ tháng tới.",
                "resolutions": [
                    {"text": "Nghị quyết chi bộ tháng", "votes_for": len(present), "votes_against": 0, "abstentions": 0}
                ],
                "tasks": [
                    {
                        "task_id": f"{meeting_id}-t{n}",
                        "assignee_id": members[n % len(members)],
                        "description": description,
                        "due_on": (start + timedelta(days=20)).date().isoformat(),
                    }
                    for n, description in enumerate(
                        ["Vận động hội viên tham gia vệ sinh môi trường", "Rà soát hộ nghèo trên địa bàn"]
                    )
                ],
            },
            at=start + timedelta(minutes=minutes + 5),
        )
        if quality != "weak":
            self.emit(
                "minutes.approved.v1",
                {
                    "meeting_id": meeting_id,
                    "approved_at": (start + timedelta(minutes=minutes)).isoformat(),
                    "votes_for": len(present),
                    "votes_against": 0,
                },
                at=start + timedelta(minutes=minutes + 6),
            )
            self.emit(
                "documents.published.v1",
                {
                    "meeting_id": meeting_id,
                    "published_at": (start + timedelta(days=1)).isoformat(),
                    "items": [
                        {"title": "Biên bản sinh hoạt chi bộ", "kind": "minutes"},
                        {"title": "Nghị quyết chi bộ", "kind": "resolution"},
                    ],
                },
                at=start + timedelta(days=1),
            )
        for task in previous_tasks:
            done = self.random.random() < {"good": 0.95, "fair": 0.75, "weak": 0.4, "missed": 0.6}[quality]
            if done:
                self.emit(
                    "task.completed.v1",
                    {"task_id": task["task_id"], "meeting_id": task["meeting_id"], "completed_on": task["due_on"]},
                    at=start - timedelta(days=1),
                )
        manual = {"good": 1.0, "fair": 0.8, "weak": 0.5, "missed": 0.7}[quality]
        self.emit(
            "meeting.assessed.v1",
            {
                "meeting_id": meeting_id,
                "assessor": {"role": "cell_committee", "person_id": members[0]},
                "points": {
                    code: round(top * manual)
                    for code, top in default_manual_maxima().items()
                    if not (code == "conduct.thematic_content" and data["kind"] == "regular")
                },
                "comment": "Chi ủy đề xuất",
            },
            at=start + timedelta(minutes=minutes + 7),
        )


def publisher(amqp_url: str) -> str:
    """The broker login of `amqp_url` (guest when it names none), which the seed's messages carry as `user_id`."""
    return broker_user_of(amqp_url)


async def publish(amqp_url: str, events: list[dict[str, Any]], *, batch_size: int = 200) -> None:
    """Publish the events in batches, persistent, with publisher confirms, each message stamped with the login's
    `user_id` (RabbitMQ refuses one that is not the publisher's own): meetings lets only CHIBO_SYSTEM_PUBLISHERS send
    under a urn:chibo: source such as the seed's, so run it as such a user (`make up`: CHIBO_AMQP_URL's, the admin)."""
    await declare_topology(amqp_url)
    user_id = publisher(amqp_url)
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(INGEST_EXCHANGE)
        for start in range(0, len(events), batch_size):
            body = json.dumps(events[start : start + batch_size], ensure_ascii=False).encode()
            await exchange.publish(
                aio_pika.Message(
                    body,
                    content_type=BATCH_CONTENT_TYPE,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    user_id=user_id,
                ),
                routing_key="batch",
            )
    finally:
        await connection.close()


TAKEN_IN_SQL = f"""
SELECT count(*) FROM unnest($2::text[]) AS seed(event_id)
WHERE EXISTS (SELECT 1 FROM {MEETINGS_SCHEMA}.processed_message AS p WHERE p.source = $1 AND p.event_id = seed.event_id)
   OR EXISTS (SELECT 1 FROM {MEETINGS_SCHEMA}.rejection AS r WHERE r.source = $1 AND r.event_id = seed.event_id)
"""
"""How many of the given seed ids the meetings service took in: applied (its inbox) or rejected (sending a rejected
event again would only be rejected again)."""


# What `seeded` reads is the data itself, so neither a `make down` (data stays) nor a seed cut short can make it lie:
# events still on their way count as not taken in, and sending them again is harmless (duplicates by (source, id)).
async def seeded(database_url: str, events: list[dict[str, Any]]) -> bool:
    """True when the database's meetings took in every one of `events`; False too without the database or tables."""
    ids = sorted({event["id"] for event in events})
    try:
        conn = await asyncpg.connect(database_url)
    except asyncpg.InvalidCatalogNameError:
        return False
    try:
        taken = await conn.fetchval(TAKEN_IN_SQL, SOURCE, ids)
    except asyncpg.UndefinedTableError:
        return False
    finally:
        await conn.close()
    return bool(taken == len(ids))


async def seed_unless_seeded(amqp_url: str, database_url: str | None, events: list[dict[str, Any]]) -> dict[str, Any]:
    """Publish `events` unless `database_url` took them all in; {"seeded_events", "already_seeded"?, "source"}."""
    if database_url is not None and await seeded(database_url, events):
        return {"seeded_events": 0, "already_seeded": len(events), "source": SOURCE}
    await publish(amqp_url, events)
    return {"seeded_events": len(events), "source": SOURCE}


def main() -> None:
    """Publish the demo province to chibo.ingest (unless --database-url says it is already there); without the options,
    to this checkout's system (exported, else var/up.env, else the defaults: named first on stderr), unless its
    database already took it in."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--amqp-url", help="the broker (default: this checkout's CHIBO_AMQP_URL)")
    parser.add_argument(
        "--database-url",
        help="send nothing when this database's meetings service already took every event in (default: this"
        " checkout's CHIBO_DATABASE_URL when --amqp-url is not given either)",
    )
    args = parser.parse_args()
    amqp_url, database_url = args.amqp_url, args.database_url
    if amqp_url is None:
        with checkout_system("deploy.seed_demo", ServiceSettings) as settings:
            amqp_url, database_url = settings.amqp_url, database_url or settings.database_url
    events = Seed().build()
    print(json.dumps(asyncio.run(seed_unless_seeded(amqp_url, database_url, events))))


if __name__ == "__main__":
    main()
