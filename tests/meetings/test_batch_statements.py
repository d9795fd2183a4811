"""Issue 12: how many statements one 1,000-event batch of a generated province-year sends the database (each a round
trip; their socket writes were 17-22 % of every service's own time in the province-year preset). The bound keeps
merged reads merged: a transaction reads its meetings' tasks with their completions, and its members' histories with
their current row versions, one statement each."""

import io
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.meetings import handlers
from services.meetings.bulk.generate import generate_province
from services.meetings.unit_of_work import MeetingsUnitOfWork
from shared.envelope import BATCH_CONTENT_TYPE
from shared.periods import VIETNAM_TZ
from tests.meetings import events as ev
from tests.support.ids import random_id
from tests.support.private_db import StatementLog


class CountingUnitOfWork(MeetingsUnitOfWork):
    """A unit of work noting each statement its connection sends into `sent` (BEGIN goes before the logger is on)."""

    def __init__(self, pool: asyncpg.Pool, sent: list[str]) -> None:
        super().__init__(pool)
        self.sent = sent
        self._log = StatementLog(sent)

    def start_repositories(self, connection: asyncpg.Connection) -> None:
        """Build the repositories and start noting the connection's statements."""
        super().start_repositories(connection)
        connection.add_query_logger(self._log)

    async def __aexit__(self, *exc: Any) -> None:
        self.connection.remove_query_logger(self._log)
        await super().__aexit__(*exc)


async def test_a_thousand_event_batch_sends_a_bounded_number_of_statements(private_pool: asyncpg.Pool) -> None:
    out = io.StringIO()
    generate_province(out, cells=8, members=136, months=12, through="2026-10")
    lines = out.getvalue().splitlines()[:1000]  # the org, then the first cells' year of meetings
    sent: list[str] = []

    results = await handlers.ingest_delivery(
        ("[" + ",".join(lines) + "]").encode(),
        lambda: CountingUnitOfWork(private_pool, sent),
        batch=True,
        content_type=BATCH_CONTENT_TYPE,
        routing_key="batch",
    )

    assert [result.outcome for result in results] == ["accepted"] * 1000
    commits = sent.count("COMMIT;")
    assert commits == 4  # 250-event transactions (EVENTS_PER_TRANSACTION)
    assert not any(query.startswith("SELECT meeting_id, task_id FROM task ") for query in sent)
    assert not any(query.startswith("SELECT id, version_time, version_ns, version_id FROM member ") for query in sent)
    # per transaction: its locks, the inbox, units with their ancestors, member histories with row versions,
    # monitors, held-event keys, the source's owner, meeting states, tasks with completions, rosters, frameworks,
    # a statement per kind of write (unit snapshots too, h479), the attendance news, the outbox and COMMIT; 126 before
    # the merged reads (issue 12); 118 before the schedules and moves were kept beside the start (one more per
    # transaction: meeting_start_fact, so that minutes undo a move after the meeting whatever the arrival order);
    # 122 before an upper_monitor's assessment was judged against the cell's monitor assignments (their keys held
    # shared, a statement per transaction, and read with the other monitors, one more where none was read); 128
    # before every minutes' content key was kept (minutes_content, one statement per transaction: shared.minutes);
    # 132 before every roster's was (roster_content, one more per transaction: a roster issued after the adoption
    # voids it unless it says the same); counted per row executed (an executemany's rows each): 146 before the
    # monitor assignments and moves went as one statement per transaction, not one execution each; +4 since an
    # integration's roster is told whom of its cell it leaves out (the rosters' cells' members, one statement per
    # transaction: handlers/prefetch.py _rostered_cells)
    assert len(sent) <= 140, "\n".join(f"{query[:100]}" for query in sent)
    # a kind of row written per event is sent as one statement over arrays, not one execution per row (an
    # executemany: one message and one execution in the server per row; about half of the province-year's statements)
    per_row = [
        query[:100]
        for query in sent
        if query.startswith(
            (
                "INSERT INTO meeting ",
                "INSERT INTO meeting_start_fact",
                "INSERT INTO minutes",
                "INSERT INTO roster",
                "INSERT INTO task_completion",
                "INSERT INTO member ",
                "UPDATE meeting SET approved_at",
                "UPDATE meeting SET starts_at",
                "UPDATE meeting SET location",
                "INSERT INTO monitor_assignment",
            )
        )
        and "unnest(" not in query
    ]
    assert not per_row, per_row


async def released_members_statements(pool: asyncpg.Pool, members: int) -> tuple[list[str], list[str]]:
    """The outcomes and statements of a cell's unit snapshot arriving after `members` of its members (held for it)."""
    committee, cell = random_id("cmt"), random_id("cell")
    await handlers.ingest_batch([ev.unit(committee, kind="committee")], lambda: MeetingsUnitOfWork(pool), route="test")
    held = await handlers.ingest_batch(
        [ev.member(random_id("mem"), cell) for _ in range(members)], lambda: MeetingsUnitOfWork(pool), route="test"
    )
    sent: list[str] = []
    results = await handlers.ingest_batch(
        [ev.unit(cell, parent_id=committee)], lambda: CountingUnitOfWork(pool, sent), route="test"
    )
    return [result.outcome for result in held + results], sent


async def test_a_unit_releasing_its_members_reads_them_together(private_pool: asyncpg.Pool) -> None:
    """Issue 12 (pgstats: in a province-year whose member batches came before the unit batch, releasing the held
    members one by one, a try-lock and several reads each, was a third of all statements): a unit's waiters are
    locked in one statement and read in a few, so the releasing transaction's statements grow by the writes alone:
    per member its savepoint and release (a released event's failure must not undo the unit), its history row, its
    member row rebuilt (read and written), its held row deleted; 12 before (a try-lock and five reads more)."""
    few_outcomes, few = await released_members_statements(private_pool, 4)
    many_outcomes, many = await released_members_statements(private_pool, 12)

    assert few_outcomes == ["held"] * 4 + ["accepted"] and many_outcomes == ["held"] * 12 + ["accepted"]
    per_member = (len(many) - len(few)) / 8
    assert per_member <= 6, "\n".join(query[:90] for query in many)


async def resnapshot_statements(pool: asyncpg.Pool, members: int) -> tuple[list[str], list[str]]:
    """The outcomes and statements of a batch of later snapshots of `members` known members, each still in the same
    cell (a status changed), then of their removal a year on."""
    committee, cell = random_id("cmt"), random_id("cell")
    ids = [random_id("mem") for _ in range(members)]
    await handlers.ingest_batch(
        [ev.unit(committee, kind="committee"), ev.unit(cell, parent_id=committee)],
        lambda: MeetingsUnitOfWork(pool),
        route="test",
    )
    await handlers.ingest_batch([ev.member(i, cell) for i in ids], lambda: MeetingsUnitOfWork(pool), route="test")
    sent: list[str] = []
    later = [ev.member(i, cell, status="probationary", time="2026-06-01T00:00:00+07:00") for i in ids]
    results = await handlers.ingest_batch(later, lambda: CountingUnitOfWork(pool, sent), route="test")
    return [result.outcome for result in results], sent


async def test_members_snapshotted_again_in_their_cell_cost_no_statement_each(private_pool: asyncpg.Pool) -> None:
    """Issue 12 (after h352, every member snapshot re-judged the rosters naming the member: two reads and a flush of
    the queued writes each, five statements a member): a snapshot that leaves the member's cell at every moment as
    it was re-judges nothing, so a batch of them grows by no statement per member."""
    few_outcomes, few = await resnapshot_statements(private_pool, 4)
    many_outcomes, many = await resnapshot_statements(private_pool, 12)

    assert few_outcomes == ["accepted"] * 4 and many_outcomes == ["accepted"] * 12
    assert len(many) == len(few), "\n".join(query[:90] for query in many)


async def moves_statements(
    pool: asyncpg.Pool, members: int, *, moved_at: str, earlier: str | None = None
) -> tuple[list[str], list[str], Any, Any]:
    """The outcomes and statements of a batch moving `members` members of a cell, all on the roster of its 1 Mar 2026
    meeting, to another cell at `moved_at` (before the meeting: the roster is withdrawn; after: it stands), with
    the same count of members on no roster moved too; and the meeting's stored roster size and kept rosters after
    (roster_history). With `earlier` an earlier roster is taken first: "others" lists three members not moved (the
    withdrawn roster gives way to it), "moved" lists the moved members and a later one the three others (it is kept
    in the history only, and refused from it)."""
    committee, cell, other = random_id("cmt"), random_id("cell"), random_id("cell")
    named = [random_id("mem") for _ in range(members)]
    unnamed = [random_id("mem") for _ in range(members)]
    others = [random_id("mem") for _ in range(3)]
    meeting = random_id("mtg")
    starts = datetime(2026, 3, 1, 19, 0, tzinfo=VIETNAM_TZ)
    first, then = (others, named) if earlier != "moved" else (named, others)
    rosters = [ev.attendance(meeting, dict.fromkeys(first, "present"), time=starts.replace(hour=20))] if earlier else []
    setup = [
        ev.unit(committee, kind="committee"),
        ev.unit(cell, parent_id=committee),
        ev.unit(other, parent_id=committee),
        *(ev.member(i, cell) for i in named + unnamed + others),
        ev.scheduled(meeting, cell, starts_at=starts),
        *rosters,
        ev.attendance(meeting, dict.fromkeys(then, "present"), time=starts.replace(hour=21)),
    ]
    before = await handlers.ingest_batch(setup, lambda: MeetingsUnitOfWork(pool), route="test")
    assert {result.outcome for result in before} == {"accepted"}
    sent: list[str] = []
    moves = [ev.member(i, other, time=moved_at) for i in named + unnamed]
    results = await handlers.ingest_batch(moves, lambda: CountingUnitOfWork(pool, sent), route="test")
    async with pool.acquire() as conn:
        stored = await conn.fetchval("SELECT count(*) FROM attendance WHERE meeting_id = $1", meeting)
        kept = await conn.fetchval("SELECT count(*) FROM roster_history WHERE meeting_id = $1", meeting)
    return [result.outcome for result in results], sent, stored, kept


@pytest.mark.parametrize(
    ("moved_at", "earlier", "roster_after"),
    [
        ("2026-06-01T00:00:00+07:00", None, "stands"),
        ("2026-02-01T00:00:00+07:00", None, "withdrawn"),
        ("2026-02-01T00:00:00+07:00", "others", "restored"),
        ("2026-02-01T00:00:00+07:00", "moved", "earlier refused"),
    ],
)
async def test_a_batch_of_member_moves_costs_no_statement_per_member(
    private_pool: asyncpg.Pool, moved_at: str, earlier: str | None, roster_after: str
) -> None:
    """Issue 12 (a batch of genuine member moves sent about five statements a member: the re-judging of the rosters
    naming each member, _rejudge_rosters, read the rosters naming them and the rosters refused for them one member at
    a time, each read flushing the queued writes first): the rosters naming the moved members, stored or kept in their
    meetings' history (roster_history, 0031), those meetings and the rosters refused for the members are read for
    every mover of the transaction together, so a batch of 50 moves sends as many statements as a batch of 5, whether
    the roster stands, is withdrawn, gives way to an earlier one, or an earlier one naming them is refused."""
    few_outcomes, few, few_stored, few_kept = await moves_statements(
        private_pool, 5, moved_at=moved_at, earlier=earlier
    )
    many_outcomes, many, many_stored, many_kept = await moves_statements(
        private_pool, 50, moved_at=moved_at, earlier=earlier
    )

    assert few_outcomes == ["accepted"] * 10 and many_outcomes == ["accepted"] * 100
    expected = {
        "stands": ((5, 50), (1, 1)),
        "withdrawn": ((0, 0), (0, 0)),
        "restored": ((3, 3), (1, 1)),
        "earlier refused": ((3, 3), (1, 1)),
    }[roster_after]
    assert ((few_stored, many_stored), (few_kept, many_kept)) == expected
    assert len(many) <= len(few) + 2, "\n".join(query[:90] for query in many)


async def org_statements(pool: asyncpg.Pool, cells: int) -> tuple[list[str], list[str], asyncpg.Pool]:
    """The outcomes and statements of one batch snapshotting a committee and `cells` cells under it, each cell
    followed by a monitor assignment of the committee's member; then the cells' names as stored after a second batch
    where every odd cell's newer snapshot renames it and every even cell's older one would."""
    committee = random_id("cmt")
    ids = [random_id("cell") for _ in range(cells)]
    events = [ev.unit(committee, kind="committee")]
    for cell in ids:
        events.append(ev.unit(cell, parent_id=committee))
        monitor = {"person_id": f"{committee}-uv", "full_name": "Ủy viên", "committee_id": committee, "cell_id": cell}
        events.append(ev.raw_event("monitor.assigned.v1", monitor | {"yearly_quota": 6}))
    sent: list[str] = []
    results = await handlers.ingest_batch(events, lambda: CountingUnitOfWork(pool, sent), route="test")
    again = [
        ev.unit(cell, parent_id=committee, name="Chi bộ mới", time=ev.BASE_TIME + timedelta(days=1 if i % 2 else -1))
        for i, cell in enumerate(ids)
    ]
    later = await handlers.ingest_batch(again, lambda: MeetingsUnitOfWork(pool), route="test")
    async with pool.acquire() as conn:
        names = await conn.fetch("SELECT id, name FROM org_unit WHERE id = ANY($1::text[])", ids)
    renamed = sorted(ids.index(row["id"]) for row in names if row["name"] == "Chi bộ mới")
    assert renamed == list(range(1, cells, 2)), renamed  # the newer snapshot wins, the older one is not written
    return [result.outcome for result in results + later], sent, pool


async def test_a_batch_of_monitor_assignments_costs_no_statement_per_assignment(private_pool: asyncpg.Pool) -> None:
    """Issue 12 (a province's org phase sent one upsert per unit and one per monitor assignment: 729 statements per
    1,000 events of units, members and monitors): the transaction's assignments and unit snapshots are queued,
    decided against the versions the prefetch read, and sent as one statement each, so 60 cells with their monitors
    send as many statements as 6 (54 more while each unit snapshot was its own upsert); a later unit snapshot still
    wins whatever the order of arrival."""
    few_outcomes, few, _ = await org_statements(private_pool, 6)
    many_outcomes, many, _ = await org_statements(private_pool, 60)

    assert few_outcomes == ["accepted"] * (1 + 12 + 6) and many_outcomes == ["accepted"] * (1 + 120 + 60)
    assert len(many) == len(few), "\n".join(query[:90] for query in many)
    assert not [
        query
        for query in many
        if query.startswith(("INSERT INTO monitor_assignment", "INSERT INTO org_unit")) and "unnest(" not in query
    ]


async def test_a_batch_of_unit_snapshots_keeps_the_latest_of_each_unit(private_pool: asyncpg.Pool) -> None:
    """Unit snapshots queued in one transaction (issue 12) keep the contract's latest-snapshot-wins whatever the order
    in the batch, a snapshot older than one stored or queued is accepted and leaves the unit as it is, and a
    snapshot refused (a cell changing its kind) spoils none of the others; the batch sends one unit upsert."""
    committee = random_id("cmt")
    cells = [random_id("cell") for _ in range(3)]
    first = await handlers.ingest_batch(
        [ev.unit(committee, kind="committee"), *(ev.unit(cell, parent_id=committee) for cell in cells)],
        lambda: MeetingsUnitOfWork(private_pool),
        route="test",
    )
    assert {result.outcome for result in first} == {"accepted"}
    later = ev.BASE_TIME + timedelta(days=1)
    sent: list[str] = []
    events = [
        ev.unit(cells[0], parent_id=committee, name="Chi bộ mới nhất", time=later + timedelta(hours=2)),
        ev.unit(cells[0], parent_id=committee, name="Chi bộ cũ hơn", time=later),  # older than the one before it
        ev.unit(cells[1], parent_id=committee, name="Chi bộ cũ", time=ev.BASE_TIME - timedelta(days=1)),  # stale
        ev.unit(cells[1], kind="committee", parent_id=committee, name="Đổi loại", time=later),  # refused
        ev.unit(cells[2], parent_id=committee, name="Chi bộ thôn 3", time=later),
        ev.unit(cells[2], parent_id=committee, name="Chi bộ thôn 3 mới", time=later + timedelta(hours=1)),
    ]
    results = await handlers.ingest_batch(events, lambda: CountingUnitOfWork(private_pool, sent), route="test")

    assert [(result.outcome, result.field) for result in results] == [
        ("accepted", None),
        ("accepted", None),
        ("accepted", None),
        ("rejected", "data.kind"),
        ("accepted", None),
        ("accepted", None),
    ]
    async with private_pool.acquire() as conn:
        rows = await conn.fetch("SELECT id, name, kind FROM org_unit WHERE id = ANY($1::text[])", cells)
    assert {row["id"]: (row["name"], row["kind"]) for row in rows} == {
        cells[0]: ("Chi bộ mới nhất", "cell"),
        cells[1]: ("Chi bộ thôn 1", "cell"),
        cells[2]: ("Chi bộ thôn 3 mới", "cell"),
    }
    assert len([query for query in sent if query.startswith("INSERT INTO org_unit")]) == 1, sent


async def reschedule_statements(pool: asyncpg.Pool, meetings: int) -> tuple[list[str], list[Any]]:
    """The statements of one batch moving each of `meetings` scheduled meetings twice (start and place), the later
    move first; and each meeting's start and place after it."""
    committee, cell = random_id("cmt"), random_id("cell")
    ids = [random_id("mtg") for _ in range(meetings)]
    starts = datetime(2026, 3, 1, 19, 0, tzinfo=VIETNAM_TZ)
    setup = [ev.unit(committee, kind="committee"), ev.unit(cell, parent_id=committee)]
    setup += [
        ev.scheduled(m, cell, starts_at=starts + timedelta(days=i), time=starts - timedelta(days=20))
        for i, m in enumerate(ids)
    ]
    before = await handlers.ingest_batch(setup, lambda: MeetingsUnitOfWork(pool), route="test")
    assert {result.outcome for result in before} == {"accepted"}
    moves = []
    for i, meeting in enumerate(ids):
        for hours, place in ((2, "Nhà văn hóa mới"), (1, "Nhà văn hóa cũ")):  # the later move arrives first
            data = {
                "meeting_id": meeting,
                "starts_at": (starts + timedelta(days=i, hours=hours)).isoformat(),
                "location": place,
                "reason": "Trùng lịch",
            }
            moves.append(ev.raw_event("meeting.rescheduled.v1", data, time=starts - timedelta(days=10 - hours)))
    sent: list[str] = []
    results = await handlers.ingest_batch(moves, lambda: CountingUnitOfWork(pool, sent), route="test")
    assert [result.outcome for result in results] == ["accepted"] * (2 * meetings)
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT meeting_id, starts_at, location FROM meeting WHERE meeting_id = ANY($1)", ids)
    by_id = {row["meeting_id"]: row for row in rows}
    return sent, [(by_id[m]["starts_at"] - starts - timedelta(days=i), by_id[m]["location"]) for i, m in enumerate(ids)]


async def test_a_batch_of_moves_costs_no_statement_per_meeting(private_pool: asyncpg.Pool) -> None:
    """Issue 12 (each move of a meeting's start or place was one execution of its UPDATE): a transaction's moves are
    sent as one statement each, the latest move of each meeting, so 40 meetings moved twice send as many statements
    as 4, and the later move stands though it arrived first."""
    few, few_after = await reschedule_statements(private_pool, 4)
    many, many_after = await reschedule_statements(private_pool, 40)

    assert set(few_after) == set(many_after) == {(timedelta(hours=2), "Nhà văn hóa mới")}
    assert len(many) == len(few), "\n".join(query[:90] for query in many)


async def test_units_moved_in_one_batch_are_judged_on_the_moves_before_them(private_pool: asyncpg.Pool) -> None:
    """A unit snapshot written in a transaction is what the events after it see: a committee moved under another,
    then that one moved under the first, is refused as a cycle naming data.parent_id, while the move before it, a
    renaming after it and a cell under the moved committee stand."""
    root, first, second, cell = random_id("cmt"), random_id("cmt"), random_id("cmt"), random_id("cell")
    later = ev.BASE_TIME + timedelta(days=1)
    events = [
        ev.unit(root, kind="committee"),
        ev.unit(first, kind="committee", parent_id=root),
        ev.unit(second, kind="committee", parent_id=root),
        ev.unit(first, kind="committee", parent_id=second, time=later),
        ev.unit(second, kind="committee", parent_id=first, time=later + timedelta(hours=1)),
        ev.unit(cell, parent_id=first),
        ev.unit(second, kind="committee", parent_id=root, name="Đảng ủy mới", time=later + timedelta(hours=2)),
    ]
    results = await handlers.ingest_batch(events, lambda: MeetingsUnitOfWork(private_pool), route="test")

    outcomes = [(result.outcome, result.field) for result in results]
    assert outcomes == [("accepted", None)] * 4 + [("rejected", "data.parent_id")] + [("accepted", None)] * 2
    async with private_pool.acquire() as conn:
        rows = await conn.fetch("SELECT id, parent_id, name FROM org_unit WHERE id = ANY($1::text[])", [first, second])
    assert {row["id"]: (row["parent_id"], row["name"]) for row in rows} == {
        first: (second, "Chi bộ thôn 1"),
        second: (root, "Đảng ủy mới"),
    }
