"""One unbroken run of absences alerts the committee once even when every fact carries the same time, as a backfill
sends them: through the real meetings ingest (which announces member.attendance.updated.v1) and the real
notifications handlers, each on its own schema of the test database (DOMAIN.md "Alerts": each recipient once;
docs/architecture.md: one alert per run of absences)."""

from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.meetings import handlers as meetings_handlers
from services.meetings.bootstrap import SERVICE_DIR as MEETINGS_DIR
from services.meetings.unit_of_work import SCHEMA as MEETINGS_SCHEMA
from services.meetings.unit_of_work import MeetingsUnitOfWork
from services.notifications.config import Settings
from services.notifications.handlers import BATCH_HANDLERS, HANDLERS
from services.notifications.unit_of_work import NotificationsUnitOfWork
from shared.contracts.registry import read_event
from shared.db import apply_migrations, create_pool, migration_files
from shared.envelope import CloudEvent
from shared.periods import VIETNAM_TZ
from tests.notifications.fakes import Clock
from tests.support.ids import random_id

SOURCE = "urn:test:member-database"
DAY = datetime(2026, 12, 1, tzinfo=VIETNAM_TZ)
SENT = DAY.replace(hour=10)
"""Every fact's time: a backfill sends them all at once."""
NOW = DAY + timedelta(days=3)
UPDATED = "member.attendance.updated.v1"


@pytest.fixture
async def meetings_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the migrated meetings schema of the test database."""
    await apply_migrations(database_url, schema=MEETINGS_SCHEMA, files=migration_files(MEETINGS_DIR))
    pool = await create_pool(database_url, schema=MEETINGS_SCHEMA, min_size=1, max_size=2)
    try:
        yield pool
    finally:
        await pool.close()


def raw(event_type: str, data: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """A CloudEvent as the member database sends it, at SENT."""
    return {
        "specversion": "1.0",
        "id": event_id or random_id("evt"),
        "source": SOURCE,
        "type": event_type,
        "time": SENT.isoformat(),
        "datacontenttype": "application/json",
        "data": data,
    }


class Cell:
    """A ward committee and a cell of five members (secretary, deputy, m0 and two more), with fresh ids."""

    def __init__(self) -> None:
        self.tag = random_id("X")
        self.committee, self.cell = f"{self.tag}-ward", f"{self.tag}-cell"
        self.members = [f"{self.tag}-m{index}" for index in range(5)]
        self.secretary, self.deputy, self.absent = self.members[3], self.members[4], self.members[0]

    def setup(self) -> list[dict[str, Any]]:
        """The committee, the cell and its members."""
        roles = {self.secretary: "secretary", self.deputy: "deputy_secretary"}
        return [
            raw(
                "org.unit.upserted.v1",
                {"id": self.committee, "name": "Đảng ủy phường Hòa Bình", "kind": "committee", "parent_id": None},
            ),
            raw(
                "org.unit.upserted.v1",
                {"id": self.cell, "name": "Chi bộ khu phố Đông", "kind": "cell", "parent_id": self.committee},
            ),
            *[
                raw(
                    "member.upserted.v1",
                    {
                        "id": member_id,
                        "full_name": f"Nguyễn Văn {chr(ord('A') + index)}",
                        "cell_id": self.cell,
                        "status": "official",
                        "role": roles.get(member_id, "member"),
                        "email": f"{member_id}@test.chibo.vn",
                    },
                )
                for index, member_id in enumerate(self.members)
            ],
        ]

    def meeting(self, k: int) -> list[dict[str, Any]]:
        """Meeting number k: starting (8 + k) hours into 1 December, m0 absent (or excused with a reason), its
        minutes' id X-mt{k}-n."""
        meeting_id, starts_at = f"{self.tag}-mt{k}", DAY + timedelta(hours=8 + k)
        m0 = {"member_id": self.absent, "status": "absent"}
        if k % 3 == 2:
            m0 = {"member_id": self.absent, "status": "excused", "reason": "Ốm"}
        return [
            raw(
                "meeting.scheduled.v1",
                {
                    "meeting_id": meeting_id,
                    "cell_id": self.cell,
                    "kind": "extraordinary",
                    "starts_at": starts_at.isoformat(),
                    "location": "Nhà văn hóa khu phố Đông",
                    "agenda": ["Kiểm điểm nghị quyết tháng trước"],
                },
            ),
            raw(
                "attendance.recorded.v1",
                {
                    "meeting_id": meeting_id,
                    "records": [m0, *[{"member_id": m, "status": "present"} for m in self.members[1:]]],
                },
            ),
            raw(
                "minutes.submitted.v1",
                {
                    "meeting_id": meeting_id,
                    "started_at": starts_at.isoformat(),
                    "ended_at": (starts_at + timedelta(minutes=50)).isoformat(),
                    "chair_id": self.secretary,
                    "recorder_id": self.deputy,
                    "speakers": [self.secretary],
                    "content": "Đánh giá kết quả tháng",
                    "resolutions": [],
                    "tasks": [],
                },
                event_id=f"{meeting_id}-n",
            ),
        ]


async def ingest(pool: asyncpg.Pool, item: dict[str, Any]) -> list[CloudEvent]:
    """One raw event through the meetings ingest in its own transaction; the events it published."""
    async with MeetingsUnitOfWork(pool) as uow:
        result = await meetings_handlers.ingest_event(item, uow, route="test")
        await uow.commit()
        assert result.outcome not in ("rejected", "held"), (item["type"], result)
        return list(uow.emitted)


async def notify(pool: asyncpg.Pool, settings: Settings, batches: list[list[CloudEvent]]) -> None:
    """Each batch through the notifications handlers in its own unit of work (a run of announcements through
    the batch handler, as consume_event hands it over)."""
    for batch in batches:
        async with NotificationsUnitOfWork(pool, settings=settings, clock=Clock(NOW)) as uow:
            if len(batch) == 1:
                if batch[0].type in HANDLERS:
                    await HANDLERS[batch[0].type](read_event(batch[0]), uow)
            else:
                await BATCH_HANDLERS[batch[0].type]([read_event(item) for item in batch], uow)
            await uow.commit()


async def run_alerts(pool: asyncpg.Pool, cell: Cell) -> list[tuple[str, str]]:
    """(recipient, title) of every consecutive_absences alert of the cell (about m0, the only one absent)."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT recipient_id, title FROM notification WHERE cell_id = $1 AND rule = 'consecutive_absences'",
            cell.cell,
        )
    return sorted((row["recipient_id"], row["title"]) for row in rows)


async def backfill(meetings_pool: asyncpg.Pool, cell: Cell, meetings: int) -> tuple[list[CloudEvent], list[CloudEvent]]:
    """The cell then `meetings` meetings through the meetings ingest one event at a time: (every event it
    published, the announcements among them, in publishing order)."""
    published: list[CloudEvent] = []
    for item in cell.setup() + [item for k in range(meetings) for item in cell.meeting(k)]:
        published += await ingest(meetings_pool, item)
    return published, [item for item in published if item.type == UPDATED and item.subject == cell.absent]


@pytest.mark.parametrize("meetings", [12, 30])
async def test_one_run_of_same_time_absences_alerts_each_recipient_once(
    meetings_pool: asyncpg.Pool, pool: asyncpg.Pool, settings: Settings, meetings: int
) -> None:
    cell = Cell()
    published, announced = await backfill(meetings_pool, cell, meetings)
    # the trial's shape: one announcement per held meeting, all at one time, caused by minutes whose ids sort as
    # text otherwise than in number (X-mt1-n < X-mt10-n < X-mt2-n)
    assert [item.data["consecutive_absences"] for item in announced] == list(range(1, meetings + 1))
    assert {item.time for item in announced} == {SENT}
    assert sorted(str(item.causationid) for item in announced) != [str(item.causationid) for item in announced]

    await notify(pool, settings, [[item] for item in published])

    found = await run_alerts(pool, cell)
    assert Counter(recipient for recipient, _ in found) == Counter(
        {cell.secretary: 1, cell.deputy: 1, cell.committee: 1}
    ), found
    assert {title for _, title in found} == {"Đảng viên vắng 4 buổi liên tiếp: Nguyễn Văn A, Chi bộ khu phố Đông"}


async def test_a_run_whose_meetings_commit_out_of_time_order_alerts_each_recipient_once(
    meetings_pool: asyncpg.Pool, pool: asyncpg.Pool, settings: Settings
) -> None:
    """Trial 11's shape: the facts of meeting k carry the time SENT + k minutes, but meetings 7-9 are committed
    before meetings 3-6 (two batches side by side, the later first). Meetings announces 4, 5, 6 at the times of
    meetings 7-9, then 7 … 10 at the earlier times of meetings 3-6: by time, 10 came before 4, a fall, two runs
    and a second alert ("vắng 4 buổi" then "vắng 7 buổi"); by meetings' numbers it is one run."""
    cell = Cell()

    def timed(k: int) -> list[dict[str, Any]]:
        return [item | {"time": (SENT + timedelta(minutes=k)).isoformat()} for item in cell.meeting(k)]

    published: list[CloudEvent] = []
    for item in cell.setup() + [item for k in (0, 1, 2, 7, 8, 9, 3, 4, 5, 6) for item in timed(k)]:
        published += await ingest(meetings_pool, item)
    announced = [item for item in published if item.type == UPDATED and item.subject == cell.absent]
    assert [item.data["consecutive_absences"] for item in announced] == list(range(1, 11))
    times = [item.time for item in announced]
    assert times != sorted(times)  # the causes' times say otherwise than the order they were published in

    await notify(pool, settings, [[item] for item in published])

    found = await run_alerts(pool, cell)
    assert Counter(recipient for recipient, _ in found) == Counter(
        {cell.secretary: 1, cell.deputy: 1, cell.committee: 1}
    ), found
    assert {title for _, title in found} == {"Đảng viên vắng 4 buổi liên tiếp: Nguyễn Văn A, Chi bộ khu phố Đông"}
