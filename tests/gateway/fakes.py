"""Stand-ins for meetings, evaluation and notifications: FastStream RPC responders over in-memory data.

They answer the typed RPC catalog of shared/contracts/*_rpc.py on the real broker (the request models
validate what arrives, the reply models what goes back), so the gateway under test talks to them
exactly as it talks to the real services.
"""

import base64
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aio_pika
from faststream.rabbit import RabbitBroker

from services.notifications.config import Settings as NotificationsSettings
from services.notifications.domain import model as notification_model
from services.notifications.domain import settings
from shared.bindings import read_message
from shared.contracts import evaluation_rpc as evaluation
from shared.contracts import meetings_rpc as meetings
from shared.contracts import notifications_rpc as notifications
from shared.contracts import ops_rpc
from shared.contracts.ops_rpc import OpsCatalog
from shared.contracts.registry import read_event
from shared.envelope import (
    GATEWAY_SOURCE,
    InvalidEvent,
    is_batch,
    parse_batch,
    parse_envelope,
    peek_identity,
    same_time_confirmed,
)
from shared.ops.rpc import add_dead_letter_methods
from shared.periods import VIETNAM_TZ, period_months
from shared.reading import body_over_limit
from shared.refusals import RefusalCode
from shared.rpc import RpcError, RpcMethods, RpcRequest, answer
from shared.topology import RpcQueue
from tests.support.ids import random_id

LEFT_A1_AT = datetime(2020, 1, 1, tzinfo=UTC)
"""When World.member_left_a1 left cell A1: before every meeting of the fakes, so no roster page lists them."""
ROLLUP_LISTS = ("weakest", "late_changes", "late_changes_total")
"""What a committee's roll-up gives beyond its figures (GetUnitRollups answers the figures alone)."""


def page(items: list[Any], limit: int, offset: int) -> dict[str, Any]:
    """A catalog page."""
    return {"items": items[offset : offset + limit], "total": len(items), "limit": limit, "offset": offset}


class MemorySentLetters:
    """SentLetters over a World's `sent_back` (queue -> row keys)."""

    def __init__(self, keys: dict[str, set[str]]) -> None:
        self.keys = keys

    async def marked(self, queue: str) -> set[str]:
        """The row keys marked for `queue`."""
        return set(self.keys.get(queue, set()))

    async def mark(self, queue: str, key: str, replay_id: str | None) -> None:
        """Mark one letter."""
        self.keys.setdefault(queue, set()).add(key)

    async def clear(self, queue: str, key: str) -> None:
        """Forget one letter."""
        self.keys.get(queue, set()).discard(key)


@dataclass
class World:
    """A small province: root committee, two ward committees, three cells, their meetings and scores."""

    root: str = field(default_factory=lambda: random_id("prov"))
    ward_a: str = field(default_factory=lambda: random_id("ward"))
    ward_b: str = field(default_factory=lambda: random_id("ward"))
    cell_a1: str = field(default_factory=lambda: random_id("cell"))
    cell_a2: str = field(default_factory=lambda: random_id("cell"))
    cell_b1: str = field(default_factory=lambda: random_id("cell"))
    member_a1: str = field(default_factory=lambda: random_id("mem"))
    member_b1: str = field(default_factory=lambda: random_id("mem"))
    secretary_a1: str = field(default_factory=lambda: random_id("mem"))
    """The secretary cell A1 lists (GetMember's `role` secretary): the person of the tests' secretary accounts."""
    secretary_b1: str = field(default_factory=lambda: random_id("mem"))
    """The secretary cell B1 lists."""
    member_left_a1: str = field(default_factory=lambda: random_id("mem"))
    """A member of cell A1 until LEFT_A1_AT: listed only at a moment before it (ListMembers' `at`), never today."""
    meeting_a1: str = field(default_factory=lambda: random_id("mtg"))
    meeting_b1: str = field(default_factory=lambda: random_id("mtg"))
    officer_a: str = field(default_factory=lambda: random_id("per"))
    """The ward A officer's person, assigned to follow cell A1 (monitor.assigned.v1)."""
    officer_root: str = field(default_factory=lambda: random_id("per"))
    """The province officer's person, assigned to follow cells A1 and B1."""
    units: dict[str, dict[str, Any]] = field(default_factory=dict)
    member_names: dict[str, str] = field(default_factory=dict)
    """Full names ListMembers answers for a member instead of the fake's usual one (a name another system sent)."""
    meetings: dict[str, dict[str, Any]] = field(default_factory=dict)
    former: dict[str, tuple[str, datetime, datetime, str]] = field(default_factory=dict)
    """Members a test added who left their cell, by id: (cell, joined at, left at, full name); ListMembers lists them
    at a moment from joining to leaving (ListMembersAfter's `since` too when the two spans meet), with `left_on`,
    never today."""
    seen: set[tuple[str, str]] = field(default_factory=set)
    listed: dict[tuple[str, str], str] = field(default_factory=dict)
    """(cell, member) pairs a test added (add_member), with their position (member.upserted.v1 `role`): listed by
    their cell beside its one member (GetMember finds them); the cells' secretaries from the start."""
    unrated: set[str] = field(default_factory=set)
    """Cells evaluation has not rated yet in the running quarter and year (set up this month, not met yet)."""
    judged_before_deadline: int | None = None
    """When set, IngestBody judges only this many events of a body and answers the rest `not_judged`, storing nothing
    of them, as meetings does when a call's answer_by comes first."""
    stale_scores: set[str] = field(default_factory=set)
    """Meetings whose cancellation evaluation has not consumed yet: it still answers the score it had (as held)."""
    scores: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Scores evaluation answers as given (meeting id -> the reply's data), before the fake's own."""
    emails_on_file: dict[str, bool] = field(default_factory=dict)
    """What notifications answers as a recipient's `email_on_file` (recipient id -> whether an address is on file);
    a recipient not listed is not known (None)."""
    sms_gateway: bool = False
    """Whether notifications has an SMS gateway to offer (CHIBO_WEBHOOK_URL): without one, `webhook` is not among the
    `available_channels` and choosing it is refused as notifications refuses it (model.preference_fault)."""
    ingested: list[dict[str, Any]] = field(default_factory=list)
    body_replies: list[dict[str, Any]] = field(default_factory=list)
    """What IngestBody answered, call by call: the results the gateway's answer is built from."""
    scopes: list[str | None] = field(default_factory=list)
    """The write scope the gateway sent with each ingest call (None: province-wide)."""
    sources: list[list[str] | None] = field(default_factory=list)
    """The sources the gateway allowed with each ingest call (None: any source no scoped account registered)."""
    synced_sources: list[dict[str, list[str]]] = field(default_factory=list)
    """Each registry sync the gateway sent ({unit: sources}), in order."""
    rejected: list[dict[str, Any]] = field(default_factory=list)
    """What meetings would store and publish as ingest.rejected.v1 (body-level rejections too)."""
    same_time: set[str] = field(default_factory=set)
    """Meetings whose unconfirmed secretary's schedule meetings refuses as MEETING_AT_SAME_TIME (its check under the
    cell's lock found another meeting the gateway's early question did not: one scheduled at the same moment)."""
    unknown: set[str] = field(default_factory=set)
    """Ids meetings does not know: a secretary's completion of such a task, or roster guest of such a committee, is
    refused at once (domain.held_or_refused), an integration's held."""
    rejections: dict[str, dict[str, Any]] = field(default_factory=dict)
    replays: list[Any] = field(default_factory=list)
    dismissals: list[Any] = field(default_factory=list)
    """The DismissRejections meetings was asked, in order."""
    dismissal_answers: list[dict[str, Any]] = field(default_factory=list)
    """What meetings answers each next DismissRejections (then: nothing matched)."""
    """Each ReplayRejection the gateway sent, in order (the sender an operator named, and who)."""
    notifications: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    frameworks: dict[str, dict[str, Any]] = field(default_factory=dict)
    rescore_jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    parked: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    sent_back: dict[str, set[str]] = field(default_factory=dict)
    """Dead letters a replay sent back and could not remove (shared.ops.dead_letters.SentLetters), by queue: their
    row keys, as the services' dead_letter_sent table keeps them."""
    """Parked outbox rows of each service, by row id."""
    held: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """Events the fake meetings holds, by (source, id)."""
    stored_periods: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """A cell's rating rows exactly as evaluation stored them (flags included), listed instead of the default ones."""
    late_changes: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """A closed month whose result a late fact changed (evaluation's `late_change`), by (cell, month): the ranking, the
    report and the roll-up answer it."""
    moved_away: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    """Cells moved out of a committee after a month closed, by (committee, month): the roll-up's `late_changes` items
    (`cell_id`, `name`, `late_change` of kind "unit_moved") after its own cells', as evaluation lists a move the
    committee lost (queries.move_late_changes); the report lists none of them (they no longer count under it)."""
    rating_reasons: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """Why a cell's period is rated below its score's band (evaluation's `rating_reason`), by (cell, period): the
    ranking, the report and the roll-up's weakest answer it."""
    half_year_ranks: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """A cell's half-year ranking line's own fields by (cell, half-year): `rating` None, its `quarter_ratings` and
    `quarter_reasons` (evaluation's half-year lines), laid over the fake's line in the ranking and the report."""
    period_checks: dict[tuple[str, str], datetime] = field(default_factory=dict)
    """When notifications' pending period_rated_low checks of a committee's cells for a period are due (the latest),
    by (committee, period); none pending where absent."""
    late_minutes: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    """The meetings with late minutes notifications lists for (committee, period), in its order."""
    history_cutoff_days: int | None = field(default_factory=lambda: NotificationsSettings().history_cutoff_days)
    """Notifications' configured history cutoff, which its GetRules answers (`history_cutoff_days`; None: not told)."""
    first_months: dict[str, str] = field(default_factory=dict)
    """A unit's first month of data (a committee's roll-up `first_month`, a cell's periods' `first_month`): a period
    ending before it has no data (not_found naming `period`, as the real evaluation answers)."""
    half_years: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """A cell's half-year line by (cell, half-year) as GetCellHalfYear answers it (the tree's state added); a cell
    and half-year not given has none (not_found naming `period`)."""
    pending_tree_changes: int = 0
    """Org-tree changes evaluation has noted but not applied yet: its roll-up, ranking, report and weakest replies say
    so (`recalculating`, `pending_tree_changes`: queries.tree_refresh_state), as the real one does while they wait."""
    without_data: dict[str, str] = field(default_factory=dict)
    """Committees evaluation has no data for, each with the field its not_found names (as the real one answers):
    `period` when no cell of the subtree has a month scored, `committee_id` before it has heard of the committee."""
    rolling_up: set[tuple[str, str]] = field(default_factory=set)
    """(committee, period) roll-ups evaluation has not made yet while its other periods answer (its facts arriving as
    the period is asked): not_found naming `period`, as the real one answers until the roll-up is there."""
    buggy_framework: str = field(default_factory=lambda: random_id("fw-bug"))
    """A framework id whose lookup hits a bug in the fake evaluation (a KeyError), as a real bug would."""

    def __post_init__(self) -> None:
        self._unit(self.root, "Tỉnh ủy Thử nghiệm", "committee", None)
        self._unit(self.ward_a, "Đảng ủy phường A", "committee", self.root)
        self._unit(self.ward_b, "Đảng ủy phường B", "committee", self.root)
        self._unit(self.cell_a1, "Chi bộ khu phố 1", "cell", self.ward_a)
        self._unit(self.cell_a2, "Chi bộ khu phố 2", "cell", self.ward_a)
        self._unit(self.cell_b1, "Chi bộ khu phố 3", "cell", self.ward_b)
        self.add_member(self.cell_a1, self.secretary_a1, "secretary")
        self.add_member(self.cell_b1, self.secretary_b1, "secretary")
        self.meetings[self.meeting_a1] = self._meeting(self.meeting_a1, self.cell_a1)
        self.meetings[self.meeting_b1] = self._meeting(self.meeting_b1, self.cell_b1)
        for recipient in (self.member_a1, self.member_b1, self.ward_a, self.ward_b):
            self.notifications[recipient] = [
                {
                    "notification_id": str(uuid.uuid4()),
                    "rule": "meeting_scheduled",
                    "subject_id": self.meeting_a1,
                    "title": "Lịch sinh hoạt chi bộ",
                    "body": "Chi bộ sinh hoạt thường kỳ lúc 19:00.",
                    "created_at": "2026-11-01T08:00:00+07:00",
                    "read_at": None,
                }
            ]
        rejection_id = random_id("rej")
        self.rejections[rejection_id] = {
            "rejection_id": rejection_id,
            "source": "urn:test",
            "event_id": "evt-bad",
            "type": "meeting.scheduled.v1",
            "reason": "data.starts_at: Field required",
            "field": "data.starts_at",
            "received_at": "2026-11-02T10:00:00+07:00",
            "status": "open",
        }
        self.frameworks["hd42-2025"] = {"id": "hd42-2025", "version": "1", "issuer": "Phường A", "criteria": []}

    def park(self, service: str) -> int:
        """A new parked outbox row of `service`; its id."""
        rows = self.parked.setdefault(service, {})
        row_id = max(rows, default=0) + 1
        rows[row_id] = {
            "id": row_id,
            "event_id": random_id("evt"),
            "type": "score.meeting.updated.v1",
            "exchange": "chibo.nowhere",
            "routing_key": "score.meeting.updated.v1",
            "attempts": 1,
            "parked_reason": "NOT_FOUND - no exchange 'chibo.nowhere'",
            "created_at": "2026-11-05T08:00:00+07:00",
            "parked_at": "2026-11-05T08:00:01+07:00",
            "payload_preview": '{"data": {}}',
        }
        return row_id

    def hold(self) -> dict[str, Any]:
        """A new held event; its row."""
        row = {
            "source": "urn:test:held",
            "event_id": random_id("evt"),
            "type": "attendance.recorded.v1",
            "waiting_for": f"meeting:{random_id('mtg')}",
            "reason": "data.meeting_id: no such meeting yet",
            "field": "data.meeting_id",
            "route": "amqp",
            "held_at": "2026-11-05T08:00:00+07:00",
            "data_preview": '{"records": []}',
        }
        self.held[(row["source"], row["event_id"])] = row
        return row

    def add_ops(self, methods: RpcMethods, catalog: OpsCatalog, amqp_url: str) -> None:
        """The operator methods of a fake service: its real dead-letter queues on the real broker (the shared code the
        services run), its parked outbox rows from memory."""
        add_dead_letter_methods(
            methods, catalog, connect=lambda: aio_pika.connect(amqp_url), sent=MemorySentLetters(self.sent_back)
        )
        rows = self.parked.setdefault(catalog.service, {})

        async def status(r: ops_rpc.GetOutboxStatus) -> dict[str, Any]:
            return {"pending": 0, "oldest_pending_seconds": 0.0, "parked": len(rows)}

        async def list_parked(r: ops_rpc.ListParkedRows) -> dict[str, Any]:
            return page(list(rows.values()), r.limit, r.offset)

        async def replay(r: ops_rpc.ReplayParkedRows) -> dict[str, Any]:
            chosen = [row_id for row_id in rows if r.ids is None or row_id in r.ids]
            for row_id in chosen:
                del rows[row_id]
            missing = sorted(set(r.ids or ()) - set(chosen))
            return {"replayed": len(chosen), "replayed_ids": sorted(chosen), "missing": missing}

        async def drop(r: ops_rpc.DropParkedRow) -> dict[str, Any]:
            if r.id not in rows:
                raise RpcError("not_found", f"no parked outbox row {r.id}", field="id")
            return rows.pop(r.id)

        methods.add(catalog.outbox_status, status)
        methods.add(catalog.list_parked_rows, list_parked)
        methods.add(catalog.replay_parked_rows, replay)
        methods.add(catalog.drop_parked_row, drop)

    def add_member(self, cell_id: str, member_id: str, role: str = "member") -> None:
        """A member a test's own cell lists today beside its one (GetMember finds them), in the position `role`."""
        self.listed[(cell_id, member_id)] = role

    def new_member(self, cell_id: str, role: str = "member") -> str:
        """The id of a new member the cell lists today in the position `role` (add_member)."""
        member_id = random_id("mem")
        self.add_member(cell_id, member_id, role)
        return member_id

    def remove_member(self, cell_id: str, member_id: str) -> None:
        """A member added (add_member) whom the cell lists no more (transferred, removed by a member snapshot)."""
        self.listed.pop((cell_id, member_id), None)

    def add_unit(self, unit_id: str, name: str, kind: str, parent: str | None) -> None:
        """A committee or cell of a test's own (under `parent`, or a root of its own), known to the fake services."""
        self._unit(unit_id, name, kind, parent)

    def _unit(self, unit_id: str, name: str, kind: str, parent: str | None) -> None:
        ancestors = [*self.units[parent]["ancestors"], unit_id] if parent else [unit_id]
        self.units[unit_id] = {
            "id": unit_id,
            "name": name,
            "kind": kind,
            "parent_id": parent,
            "category": "residential" if kind == "cell" else None,
            "active": True,
            "contact_emails": [],
            "ancestors": ancestors,
        }

    @staticmethod
    def _meeting(meeting_id: str, cell_id: str) -> dict[str, Any]:
        return {
            "meeting_id": meeting_id,
            "cell_id": cell_id,
            "kind": "regular",
            "topic": None,
            "status": "minutes_approved",
            "starts_at": "2026-11-03T19:00:00+07:00",
            "location": "Nhà văn hóa",
            "agenda": ["Kiểm điểm nghị quyết tháng trước"],
            "notified_at": "2026-11-01T08:00:00+07:00",
            "committee_prepared": True,
            "cancel_reason": None,
            "attendance": {"records": [{"member_id": "m1", "status": "present", "reason": None}], "guests": []},
            "minutes": {"started_at": "2026-11-03T19:00:00+07:00", "ended_at": "2026-11-03T20:40:00+07:00"},
            "approved_at": "2026-11-04T08:00:00+07:00",
            "documents": [],
            "assessments": [],
            "tasks": [
                {
                    "task_id": f"{meeting_id}-t1",
                    "meeting_id": meeting_id,
                    "assignee_id": "m1",
                    "description": "Vận động hội viên",
                    "due_on": "2026-11-30",
                    "completed_on": None,
                }
            ],
        }

    def cell_of(self, unit_id: str) -> dict[str, Any]:
        unit = self.units.get(unit_id)
        if unit is None:
            raise RpcError("not_found", f"unit {unit_id} not found")
        return unit

    # ---- meetings --------------------------------------------------------------------------------

    def outside(self, data: dict[str, Any], scope: str | None) -> tuple[str, str] | None:
        """The field of `data` naming an object outside `scope`'s subtree, as meetings' write-scope check finds it,
        with the id it names."""
        if scope is None:
            return None
        for name in ("cell_id", "parent_id", "meeting_id"):
            value = data.get(name)
            if value is None:
                continue
            unit_id = self.meetings[value]["cell_id"] if name == "meeting_id" and value in self.meetings else value
            if unit_id in self.units and scope not in self.units[unit_id]["ancestors"]:
                return f"data.{name}", value
        return None

    def unknown_referent(self, event_type: str, data: dict[str, Any]) -> tuple[str, str, str] | None:
        """(field, reason, refusal code) of a secretary's reference to an id of `unknown`, as meetings refuses it."""
        if event_type == "task.completed.v1" and data["task_id"] in self.unknown:
            reason = (
                f"data.task_id: task {data['task_id']} is not in the minutes of meeting {data['meeting_id']}; a"
                " secretary marks done a task of the meeting's recorded minutes"
            )
            return "data.task_id", reason, RefusalCode.TASK_NOT_IN_MINUTES.value
        for i, guest in enumerate(data.get("guests") or () if event_type == "attendance.recorded.v1" else ()):
            if guest.get("committee_id") in self.unknown:
                name = f"data.guests.{i}.committee_id"
                reason = (
                    f"{name}: unit {guest['committee_id']} is unknown; a guest's committee is one above the meeting's"
                    " cell (or left out)"
                )
                return name, reason, RefusalCode.GUEST_COMMITTEE_UNKNOWN.value
        return None

    def judge(self, index: int, raw: Any, scope: str | None = None) -> dict[str, Any]:
        try:
            peeked = json.loads(raw) if isinstance(raw, bytes) else raw
        except (ValueError, RecursionError):  # meetings peeks through shared.reading, which never crashes
            peeked = None
        source, event_id, event_type = peek_identity(peeked)
        result: dict[str, Any] = {"index": index, "id": event_id, "source": source, "type": event_type}
        try:
            event = read_event(parse_envelope(raw))
        except InvalidEvent as exc:
            self.rejected.append(result | {"reason": exc.reason, "field": exc.field})
            problem = {"problem": exc.problem} if exc.problem else {}
            return {**result, "outcome": "rejected", "reason": exc.reason, "field": exc.field, **problem}
        if (event.source, event.id) in self.seen:
            return {**result, "outcome": "duplicate"}
        outside = self.outside(event.envelope.data, scope)
        if outside is not None:
            # meetings answers a referent outside the sender's subtree exactly as an unknown one: held
            name, value = outside
            what, key = ("meeting", "is not scheduled") if name == "data.meeting_id" else ("unit", "is unknown")
            reason = f"{name}: {what} {value} {key}"
            return {**result, "outcome": "held", "reason": reason, "field": name, "waiting_for": f"{what}:{value}"}
        data = event.envelope.data
        meeting = self.meetings.get(str(data.get("meeting_id")))
        if meeting is not None and meeting["status"] == "cancelled":
            # meetings' require_not_cancelled: the code travels beside an English reason a reader must not parse
            reason = f"data.meeting_id: meeting {meeting['meeting_id']} is cancelled; nothing more is recorded"
            self.rejected.append(result | {"reason": reason, "field": "data.meeting_id"})
            refusal = {"code": RefusalCode.MEETING_CANCELLED.value}
            return {**result, "outcome": "rejected", "reason": reason, "field": "data.meeting_id", "refusal": refusal}
        unknown = self.unknown_referent(event.type, data) if event.source == GATEWAY_SOURCE else None
        if unknown is not None:
            name, reason, code = unknown
            self.rejected.append(result | {"reason": reason, "field": name})
            return {**result, "outcome": "rejected", "reason": reason, "field": name, "refusal": {"code": code}}
        confirmed = same_time_confirmed(event.envelope)
        if event.type == "meeting.scheduled.v1" and data.get("meeting_id") in self.same_time and not confirmed:
            # meetings' check_same_start, judged under the cell's lock
            reason = "data.starts_at: meeting mtg-other of the cell starts within the hour; confirm_same_time true"
            self.rejected.append(result | {"reason": reason, "field": "data.starts_at"})
            refusal = {"code": RefusalCode.MEETING_AT_SAME_TIME.value}
            return {**result, "outcome": "rejected", "reason": reason, "field": "data.starts_at", "refusal": refusal}
        if event.type == "meeting.scheduled.v1" and event.source == GATEWAY_SOURCE and meeting is not None:
            # meetings' check_schedule: a secretary's schedule never overwrites a known meeting
            reason = f"data.meeting_id: meeting {meeting['meeting_id']} is already scheduled"
            self.rejected.append(result | {"reason": reason, "field": "data.meeting_id"})
            refusal = {"code": RefusalCode.MEETING_EXISTS.value}
            return {**result, "outcome": "rejected", "reason": reason, "field": "data.meeting_id", "refusal": refusal}
        self.seen.add((event.source, event.id))
        self.ingested.append(json.loads(raw) if isinstance(raw, bytes) else raw)
        if event.type == "meeting.scheduled.v1":
            self.meetings[data["meeting_id"]] = {
                **self._meeting(data["meeting_id"], data["cell_id"]),
                "status": "scheduled",
            }
        elif event.type == "attendance.recorded.v1" and data["meeting_id"] not in self.meetings:
            return {**result, "outcome": "held"}
        return {**result, "outcome": "accepted"}

    def meetings_methods(self) -> RpcMethods:
        async def ingest(r: meetings.Ingest) -> meetings.IngestReply:
            assert r.route == "http" and r.account
            self.scopes.append(r.scope)
            return meetings.IngestReply.model_validate(
                {"results": [self.judge(index, raw, r.scope) for index, raw in enumerate(r.events)]}
            )

        async def ingest_body(r: meetings.IngestBody) -> dict[str, Any]:
            reply = await judge_body(r)
            self.body_replies.append(reply)
            return reply

        async def judge_body(r: meetings.IngestBody) -> dict[str, Any]:
            assert r.route == "http" and r.account
            self.scopes.append(r.scope)
            self.sources.append(r.sources)
            body = base64.b64decode(r.body_base64)
            if r.over_limit is not None:  # cut by the gateway at its limit: what meetings stores (reject_cut_body)
                kind = "batch" if is_batch(r.content_type, body=body, headers=r.headers) else ""
                reason = body_over_limit(r.over_limit)
                if not r.dry_run:
                    self.rejected.append(
                        {"type": kind, "reason": reason, "field": "body", "kept": body, "declared": r.declared_size}
                    )
                rejection = {"id": "", "source": "", "type": kind, "outcome": "rejected", "index": 0}
                return {"results": [rejection | {"reason": reason, "field": "body", "problem": "too_large"}]}
            items: list[Any] = [body]
            if not is_batch(r.content_type, body=body, headers=r.headers):
                try:
                    incoming = read_message(r.headers or {}, r.content_type, body, route="http")
                except InvalidEvent as exc:
                    self.rejected.append({"type": "", "reason": exc.reason, "field": exc.field})
                    rejection = {"id": "", "source": "", "type": "", "outcome": "rejected", "index": 0}
                    return {
                        "results": [
                            rejection
                            | {"reason": exc.reason, "field": exc.field, "problem": exc.problem or "neither_mode"}
                        ]
                    }
                if incoming.event is not None:
                    items = [incoming.event]
            if is_batch(r.content_type, body=body, headers=r.headers):
                try:
                    items = parse_batch(body)
                except InvalidEvent as exc:
                    self.rejected.append({"type": "batch", "reason": exc.reason, "field": exc.field})
                    rejection = {"id": "", "source": "", "type": "batch", "outcome": "rejected"}
                    return {
                        "results": [
                            rejection | {"index": 0, "reason": exc.reason, "field": "body", "problem": exc.problem}
                        ]
                    }
            if r.answer_by is not None and self.judged_before_deadline is not None:
                judged = [
                    self.judge(index, raw, r.scope) for index, raw in enumerate(items[: self.judged_before_deadline])
                ]
                left = [
                    dict(zip(("source", "id", "type"), peek_identity(raw), strict=True))
                    | {"index": index, "outcome": "not_judged", "reason": "not judged: not stored"}
                    for index, raw in enumerate(items)
                    if index >= self.judged_before_deadline
                ]
                return {"results": judged + left}
            return {"results": [self.judge(index, raw, r.scope) for index, raw in enumerate(items)]}

        async def get_unit(r: meetings.GetUnit) -> dict[str, Any]:
            return self.cell_of(r.unit_id)

        async def known_units(r: meetings.KnownUnits) -> dict[str, Any]:
            return {"unit_ids": [unit_id for unit_id in dict.fromkeys(r.unit_ids) if unit_id in self.units]}

        async def list_units(r: meetings.ListUnits) -> dict[str, Any]:
            items = [unit for unit in self.units.values() if unit["parent_id"] == r.parent_id]
            return page(items, r.limit, r.offset)

        def cell_member(cell_id: str) -> dict[str, Any]:
            """The one member a cell lists today (A1's, else B1's)."""
            member = self.member_a1 if cell_id == self.cell_a1 else self.member_b1
            return {
                "id": member,
                "full_name": self.member_names.get(member, "Nguyễn Văn An"),
                "status": "official",
                "role": "member",
                "exempt": False,
                "email": "an@example.vn",
                "admitted_on": "2010-05-19",
                "probation_ends_on": None,
            }

        async def list_members(r: meetings.ListMembers) -> dict[str, Any]:
            item = cell_member(r.cell_id)
            items = [item]
            if r.cell_id == self.cell_a1 and r.at is not None and r.at < LEFT_A1_AT:
                items.append(item | {"id": self.member_left_a1, "full_name": "Trần Thị Bình", "email": None})
            return page(items, r.limit, r.offset)

        def former_members(cell_id: str, since: datetime | None, at: datetime | None) -> list[dict[str, Any]]:
            """The members who left `cell_id` (World.former) it listed at `at`, or at some moment from `since`."""
            if at is None:
                return []
            return [
                cell_member(cell_id) | {"id": member_id, "full_name": name, "left_on": left.date(), "email": None}
                for member_id, (cell, joined, left, name) in self.former.items()
                if cell == cell_id and (joined <= at < left or (since is not None and since < left and joined <= at))
            ]

        async def list_members_after(r: meetings.ListMembersAfter) -> dict[str, Any]:
            listed = await list_members(meetings.ListMembers(cell_id=r.cell_id, at=r.at, limit=1000))
            listed["items"] = [*listed["items"], *former_members(r.cell_id, r.since, r.at)]
            items = sorted((item for item in listed["items"] if item["id"] > r.after_id), key=lambda item: item["id"])
            return {"items": items[: r.limit], "next_after": items[r.limit - 1]["id"] if len(items) > r.limit else None}

        async def get_member(r: meetings.GetMember) -> dict[str, Any]:
            if (r.cell_id, r.member_id) in self.listed:
                return cell_member(r.cell_id) | {"id": r.member_id, "role": self.listed[(r.cell_id, r.member_id)]}
            item = cell_member(r.cell_id)
            if item["id"] != r.member_id:
                raise RpcError("not_found", f"no member {r.member_id} in cell {r.cell_id}", field="member_id")
            return item

        async def list_meetings(r: meetings.ListMeetings) -> dict[str, Any]:
            period = r.period
            items = [
                {key: meeting[key] for key in ("meeting_id", "cell_id", "kind", "status", "starts_at", "location")}
                | {"minutes_published": meeting.get("minutes_published")}
                for meeting in self.meetings.values()
                if meeting["cell_id"] == r.cell_id and (period is None or meeting["starts_at"].startswith(period[:4]))
            ]
            return page(items, r.limit, r.offset)

        async def get_meeting(r: meetings.GetMeeting) -> dict[str, Any]:
            if r.meeting_id not in self.meetings:
                raise RpcError("not_found", f"meeting {r.meeting_id} not found")
            return self.meetings[r.meeting_id]

        async def list_tasks(r: meetings.ListTasks) -> dict[str, Any]:
            items = [task for m in self.meetings.values() if m["cell_id"] == r.cell_id for task in m["tasks"]]
            return page(items, r.limit, r.offset)

        async def monitor_assignments(r: meetings.ListMonitorAssignments) -> dict[str, Any]:
            follows = {self.officer_a: [self.cell_a1], self.officer_root: [self.cell_a1, self.cell_b1]}
            items = [
                {
                    "person_id": r.person_id,
                    "cell_id": cell_id,
                    "committee_id": str(self.units[cell_id]["parent_id"]),
                    "full_name": "Cấp ủy viên phụ trách",
                    "cell_name": self.units[cell_id]["name"],
                }
                for cell_id in follows.get(r.person_id, [])
            ]
            return page(items, r.limit, r.offset)

        async def member_history(r: meetings.GetMemberHistory) -> dict[str, Any]:
            cells = {self.member_a1: self.cell_a1, self.member_b1: self.cell_b1}
            if r.member_id not in cells:
                raise RpcError("not_found", f"member {r.member_id} not found")
            return {
                "member_id": r.member_id,
                "cell_id": cells[r.member_id],
                "consecutive_absences": 0,
                "unexcused_months_last_year": 0,
                "records": [],
            }

        async def list_rejections(r: meetings.ListRejections) -> dict[str, Any]:
            items = [
                item
                for item in self.rejections.values()
                if (r.type is None or item["type"] == r.type) and (r.status is None or item["status"] == r.status)
            ]
            statuses = [item["status"] for item in self.rejections.values() if r.type in (None, item["type"])]
            counts = {status: statuses.count(status) for status in ("open", "replayed", "dismissed")}
            answered = 0  # the fake stores no person's command answered on its form
            return page(items, r.limit, r.offset) | {
                "counts": counts | {"total": len(statuses), "answered_on_form": answered}
            }

        async def replay_rejection(r: meetings.ReplayRejection) -> dict[str, Any]:
            self.replays.append(r)
            if r.rejection_id not in self.rejections:
                raise RpcError("not_found", f"rejection {r.rejection_id} not found")
            if r.event is None:
                return {
                    "index": 0,
                    "id": "evt-bad",
                    "source": "urn:test",
                    "type": "meeting.scheduled.v1",
                    "outcome": "rejected",
                    "reason": "data.starts_at: Field required",
                    "field": "data.starts_at",
                }
            self.rejections[r.rejection_id]["status"] = "replayed"
            return self.judge(0, r.event)

        async def dismiss_rejection(r: meetings.DismissRejection) -> dict[str, Any]:
            if r.rejection_id not in self.rejections:
                raise RpcError("not_found", f"rejection {r.rejection_id} not found")
            rejection = self.rejections[r.rejection_id]
            if rejection["status"] != "open":
                raise RpcError("conflict", f"rejection {r.rejection_id} is already {rejection['status']}")
            rejection.update(
                status="dismissed",
                dismissed_at=datetime.now(UTC),
                dismissed_by=r.dismissed_by,
                dismissal_reason=r.reason,
            )
            return dict(rejection)

        async def dismiss_rejections(r: meetings.DismissRejections) -> dict[str, Any]:
            self.dismissals.append(r)
            none = {"matched": 0, "dismissed": 0, "remaining": 0}
            return {**(self.dismissal_answers.pop(0) if self.dismissal_answers else none), "dry_run": r.dry_run}

        async def list_held(r: meetings.ListHeldEvents) -> dict[str, Any]:
            return page(list(self.held.values()), r.limit, r.offset)

        async def retry_held(r: meetings.RetryHeldEvent) -> dict[str, Any]:
            row = self.held.get((r.source, r.event_id))
            if row is None:
                raise RpcError("not_found", f"no held event {r.event_id}", field="event_id")
            outcome = {"index": 0, "id": r.event_id, "source": r.source, "type": row["type"]}
            return outcome | {"outcome": "held", "reason": row["reason"], "waiting_for": row["waiting_for"]}

        async def drop_held(r: meetings.DropHeldEvent) -> dict[str, Any]:
            row = self.held.pop((r.source, r.event_id), None)
            if row is None:
                raise RpcError("not_found", f"no held event {r.event_id}", field="event_id")
            reason = f"dropped by an operator: {r.reason}"
            rejection_id = random_id("rej")  # as meetings stores it: an open rejection, replayable later
            self.rejections[rejection_id] = {
                "rejection_id": rejection_id,
                "source": r.source,
                "event_id": r.event_id,
                "type": row["type"],
                "reason": reason,
                "field": row["field"],
                "received_at": row["held_at"],
                "status": "open",
            }
            return {"index": 0, "id": r.event_id, "source": r.source, "type": row["type"], "outcome": "rejected"} | {
                "reason": reason,
                "field": row["field"],
            }

        async def get_open_rejection(r: meetings.GetOpenRejection) -> dict[str, Any]:
            for item in self.rejections.values():
                if (item["source"], item["event_id"], item["status"]) == (r.source, r.event_id, "open"):
                    return dict(item)
            raise RpcError("not_found", f"no open rejection of {r.event_id} from {r.source}", field="event_id")

        async def get_held_event(r: meetings.GetHeldEvent) -> dict[str, Any]:
            row = self.held.get((r.source, r.event_id))
            if row is None:
                raise RpcError("not_found", f"no held event {r.event_id} from {r.source}", field="event_id")
            return dict(row)

        async def sync_sources(r: meetings.SyncSources) -> dict[str, Any]:
            by_unit: dict[str, list[str]] = {}
            for account in r.accounts:  # one registration per account now: a unit's sources are its accounts'
                by_unit.setdefault(account.unit_id, []).extend(account.sources)
            self.synced_sources.append({unit: sorted(sources) for unit, sources in by_unit.items()})
            return {"registered": sum(len(account.sources) for account in r.accounts), "released": 0}

        methods = RpcMethods("meetings")
        methods.add(meetings.SyncSources, sync_sources)
        methods.add(meetings.ListHeldEvents, list_held)
        methods.add(meetings.RetryHeldEvent, retry_held)
        methods.add(meetings.DropHeldEvent, drop_held)
        methods.add(meetings.GetOpenRejection, get_open_rejection)
        methods.add(meetings.GetHeldEvent, get_held_event)
        methods.add(meetings.Ingest, ingest)
        methods.add(meetings.IngestBody, ingest_body)
        methods.add(meetings.GetUnit, get_unit)
        methods.add(meetings.KnownUnits, known_units)
        methods.add(meetings.ListUnits, list_units)
        methods.add(meetings.ListMembers, list_members)
        methods.add(meetings.ListMembersAfter, list_members_after)
        methods.add(meetings.GetMember, get_member)
        methods.add(meetings.ListMeetings, list_meetings)
        methods.add(meetings.GetMeeting, get_meeting)
        methods.add(meetings.ListTasks, list_tasks)
        methods.add(meetings.GetMemberHistory, member_history)
        methods.add(meetings.ListMonitorAssignments, monitor_assignments)
        methods.add(meetings.ListRejections, list_rejections)
        methods.add(meetings.ReplayRejection, replay_rejection)
        methods.add(meetings.DismissRejection, dismiss_rejection)
        methods.add(meetings.DismissRejections, dismiss_rejections)
        return methods

    # ---- evaluation ------------------------------------------------------------------------------

    def evaluation_methods(self) -> RpcMethods:
        async def meeting_score(r: evaluation.GetMeetingScore) -> evaluation.MeetingScoreReply:
            if r.meeting_id in self.scores:
                return evaluation.MeetingScoreReply.model_validate(self.scores[r.meeting_id])
            meeting = self.meetings.get(r.meeting_id)
            ahead = meeting is not None and datetime.fromisoformat(meeting["starts_at"]) > datetime.now(UTC)
            if r.meeting_id in self.stale_scores and meeting is not None:
                meeting = {**meeting, "status": "minutes_approved"}
            if (
                meeting is None
                or meeting.get("status") == "cancelled"
                or (meeting["status"] == "scheduled" and not ahead)
            ):
                # evaluation scores no cancelled meeting (DOMAIN.md); the fake scores none held and not recorded yet,
                # and one still ahead provisionally (no roster, no minutes: Kém), as evaluation does
                raise RpcError("not_found", f"no score for {r.meeting_id}")
            provisional = meeting["status"] == "scheduled"
            return evaluation.MeetingScoreReply.model_validate(
                {
                    "meeting_id": r.meeting_id,
                    "cell_id": meeting["cell_id"],
                    "framework": {"id": "hd42-2025", "version": "1"},
                    "score": 21.67 if provisional else 92.0,
                    "rating": "poor" if provisional else "good",
                    "provisional": provisional,
                    "criteria": [
                        {
                            "code": "duration",
                            "points": 5,
                            "max": 5,
                            "applicable": True,
                            "source": "auto",
                            "reason": "100 phút, đủ 90 phút",
                        },
                        {
                            "code": "conduct.procedure",
                            "points": None,
                            "max": 5,
                            "applicable": True,
                            "source": "manual",
                            "reason": "chưa chấm",
                        },
                    ],
                    "computed_at": "2026-11-04T09:00:00+07:00",
                }
            )

        def period_row(cell_id: str, period: str) -> dict[str, Any]:
            now = datetime.now(VIETNAM_TZ)
            if cell_id in self.unrated and period in (f"{now:%Y}-Q{(now.month - 1) // 3 + 1}", f"{now:%Y}"):
                # a running quarter or year not rated yet, listed as evaluation lists it
                return {"cell_id": cell_id, "period": period, "rating": None, "score": None, "not_rated": True}
            return {
                "cell_id": cell_id,
                "period": period,
                "rating": "fair",
                "score": 80.5,
                "regular_held": 1,
                "thematic_held": 0,
                "attendance_rate": 0.9,
                "speaking_rate": 0.5,
                "flags": [],
            }

        async def cell_periods(r: evaluation.GetCellPeriods) -> dict[str, Any]:
            if r.cell_id in self.stored_periods:
                rows = [
                    row for row in self.stored_periods[r.cell_id] if r.year is None or row["period"][:4] == str(r.year)
                ]
                return {"cell_id": r.cell_id, "periods": rows}
            year = r.year or 2026
            periods = [f"{year}-10", f"{year}-11", f"{year}-Q4", str(year)]
            first = self.first_months.get(r.cell_id)
            rows = [period_row(r.cell_id, p) for p in periods if first is None or period_months(p)[-1] >= first]
            return {"cell_id": r.cell_id, "periods": rows, "first_month": first}

        def tree() -> dict[str, Any]:
            """The tree's state every reply read off it gives (queries.tree_refresh_state)."""
            return {"pending_tree_changes": self.pending_tree_changes, "recalculating": self.pending_tree_changes > 0}

        async def cell_half_year(r: evaluation.GetCellHalfYear) -> dict[str, Any]:
            if (line := self.half_years.get((r.cell_id, r.period))) is not None:
                return line | tree()
            # no other half-year kept (its quarters are the default rows): as for a cell without one
            raise RpcError("not_found", f"period: cell {r.cell_id} has no {r.period}", field="period")

        def cells_under(committee_id: str) -> list[str]:
            return [u["id"] for u in self.units.values() if u["kind"] == "cell" and committee_id in u["ancestors"]]

        def running_month_rows(committee_id: str) -> list[dict[str, Any]]:
            """The month in progress as evaluation rates it: cell A1 has met (Average), the others not yet (Poor,
            0, no regular meeting held)."""
            met = {self.cell_a1: (60.5, "average")}
            return [
                {"cell_id": c, "name": self.units[c]["name"], "score": score, "rating": rating, "regular_held": held}
                for c in cells_under(committee_id)
                for score, rating, held in [(*met[c], 1) if c in met else (0.0, "poor", 0)]
            ]

        def running(period: str) -> bool:
            return period == f"{datetime.now(VIETNAM_TZ):%Y-%m}"

        def unrated_in(period: str, cells: list[str]) -> list[str]:
            """The given cells evaluation has not rated yet in `period`: only in a running quarter or year."""
            months = period_months(period)
            this_month = f"{datetime.now(VIETNAM_TZ):%Y-%m}"
            if len(months) == 1 or not months[0] <= this_month <= months[-1]:
                return []
            return [cell for cell in cells if cell in self.unrated]

        def check_data(committee_id: str, period: str) -> None:
            """Evaluation's not_found for a committee without data (World.without_data), worded as it words it."""
            first = self.first_months.get(committee_id)
            if first is not None and period_months(period)[-1] < first:
                raise RpcError("not_found", f"period {period}: no data for the cells of {committee_id}", field="period")
            if (committee_id, period) in self.rolling_up:
                raise RpcError("not_found", f"period {period}: no data for the cells of {committee_id}", field="period")
            if committee_id not in self.without_data:
                return
            if self.without_data[committee_id] == "committee_id":
                raise RpcError("not_found", f"no unit {committee_id}", field="committee_id")
            raise RpcError(
                "not_found", f"period {period}: no data for the cells of {committee_id} up to then", field="period"
            )

        async def committee_rollup(r: evaluation.GetCommitteeRollup) -> dict[str, Any]:
            check_data(r.committee_id, r.period)
            cells = cells_under(r.committee_id)
            if running(r.period):
                rows = running_month_rows(r.committee_id)
                met = [row for row in rows if row["regular_held"]]
                weak = sorted(rows, key=lambda row: (row["rating"] != "poor", row["score"]))
                return {
                    "committee_id": r.committee_id,
                    "period": r.period,
                    "cells": len(rows),
                    "by_rating": {
                        rating: sum(1 for row in rows if row["rating"] == rating)
                        for rating in ("good", "fair", "average", "poor")
                    },
                    "regularity": len(met) / len(rows) if rows else None,
                    "score": round(sum(row["score"] for row in rows) / len(rows), 2) if rows else None,
                    "trend": {"previous_period": "x", "previous_score": 80.5, "score_delta": -60.0},
                    "weakest": weak[:5],
                    "irregular": len(rows) - len(met),
                    "met_score": round(sum(row["score"] for row in met) / len(met), 2) if met else None,
                    "first_month": self.first_months.get(r.committee_id),
                    **tree(),
                }
            unrated = unrated_in(r.period, cells)
            rated = [cell for cell in cells if cell not in unrated]
            return {
                "committee_id": r.committee_id,
                "period": r.period,
                "cells": len(cells),
                "by_rating": {"good": 0, "fair": len(rated), "average": 0, "poor": 0},
                "regularity": 1.0,
                "attendance_rate": 0.9,
                "speaking_rate": 0.5,
                "thematic_coverage": 0.5,
                "score": 80.5,
                "trend": {"previous_period": None, "score_delta": None},
                "weakest": [
                    {
                        "cell_id": cell,
                        "score": 80.5,
                        "rating": "fair",
                        "rating_reason": self.rating_reasons.get((cell, r.period)),
                    }
                    for cell in rated[:3]
                ],
                "not_rated": len(unrated),
                "late_changes": [
                    *(
                        {"cell_id": cell, "name": self.units[cell]["name"], "late_change": late}
                        for cell in cells
                        if (late := self.late_changes.get((cell, r.period)))
                    ),
                    *self.moved_away.get((r.committee_id, r.period), []),
                ][r.late_changes_offset : r.late_changes_offset + evaluation.LATE_CHANGES_PAGE],
                "late_changes_total": sum(1 for cell in cells if (cell, r.period) in self.late_changes)
                + len(self.moved_away.get((r.committee_id, r.period), [])),
                "first_month": self.first_months.get(r.committee_id),
                **tree(),
            }

        async def unit_rollups(r: evaluation.GetUnitRollups) -> dict[str, Any]:
            # each unit's committee_rollup without its weakest cells and late changes; one without data left out
            items = []
            for unit_id in dict.fromkeys(r.unit_ids):
                try:
                    found = await committee_rollup(evaluation.GetCommitteeRollup(committee_id=unit_id, period=r.period))
                except RpcError:
                    continue
                items.append({key: value for key, value in found.items() if key not in ROLLUP_LISTS})
            return {"items": items, **tree()}

        async def direct_cells(r: evaluation.CountDirectCells) -> dict[str, Any]:
            # the cells directly under the committee that GetUnitRollups would list with cells
            direct = [u["id"] for u in self.units.values() if u["kind"] == "cell" and u["parent_id"] == r.committee_id]
            listed = (
                (await unit_rollups(evaluation.GetUnitRollups(unit_ids=direct, period=r.period)))["items"]
                if direct
                else []
            )
            return {"cells": sum(1 for item in listed if item["cells"])}

        async def committee_ranking(r: evaluation.GetCommitteeRanking) -> dict[str, Any]:
            check_data(r.committee_id, r.period)
            # ward A's cells are weak (Average, Poor), ward B's is Fair; weak_only keeps Poor then Average
            rated = {self.cell_a1: (60.5, "average"), self.cell_a2: (30.0, "poor")}
            if running(r.period):
                rows = [
                    row
                    for row in running_month_rows(r.committee_id)
                    if (not r.weak_only or row["rating"] in ("poor", "average"))
                    and (not r.met_only or row["regular_held"])
                ]
                rows.sort(key=lambda row: (row["rating"] != "poor", row["score"]) if r.weak_only else row["score"])
                return page(rows, r.limit, r.offset) | tree()
            unrated = unrated_in(r.period, cells_under(r.committee_id))
            items = [
                {
                    "cell_id": c,
                    "name": self.units[c]["name"],
                    "score": score,
                    "rating": rating,
                    "late_change": self.late_changes.get((c, r.period)),
                    "rating_reason": self.rating_reasons.get((c, r.period)),
                }
                | self.half_year_ranks.get((c, r.period), {})
                for c in cells_under(r.committee_id)
                for score, rating in [(None, None) if c in unrated else rated.get(c, (80.5, "fair"))]
                if not r.weak_only or rating in ("poor", "average")
            ]
            items.sort(
                key=lambda item: (item["rating"] != "poor", item["score"]) if r.weak_only else item["score"] is None
            )
            return page(items, r.limit, r.offset) | tree()

        async def committee_report(r: evaluation.GetCommitteeReport) -> dict[str, Any]:
            # the ranking's lines (their score and rating), best first, with the cell's other figures of the period, a
            # page after the cursor
            ranked = await committee_ranking(
                evaluation.GetCommitteeRanking(committee_id=r.committee_id, period=r.period, limit=10_000)
            )
            rows = [{**period_row(item["cell_id"], r.period), **item} for item in ranked["items"]]
            ids = [row["cell_id"] for row in rows]
            start = ids.index(r.after_cell) + 1 if r.after_cell in ids else 0
            chosen = rows[start : start + r.limit]
            more = start + r.limit < len(rows)
            following = {"after_score": chosen[-1]["score"], "after_cell": chosen[-1]["cell_id"]} if more else None
            return {"items": chosen, "next": following, **tree()}

        async def weakest_cells(r: evaluation.GetWeakestCells) -> dict[str, Any]:
            # the report's lines rated Average or Poor (with met_only: those that held the month's regular meeting),
            # in evaluation's order (queries.weak_key)
            report = await committee_report(
                evaluation.GetCommitteeReport(committee_id=r.committee_id, period=r.period, limit=5000)
            )
            weak = [
                row
                for row in report["items"]
                if row.get("rating") in ("poor", "average")
                and not (
                    r.met_only and (row.get("regular_held") == 0 or "no_regular_meeting" in (row.get("flags") or []))
                )
            ]
            weak.sort(key=lambda row: (row["rating"] != "poor", float(row["score"] or 0.0), str(row["cell_id"])))
            return {"items": weak[: r.limit], **tree()}

        async def list_frameworks(r: evaluation.ListFrameworks) -> dict[str, Any]:
            items = list(self.frameworks.values())
            return page(items, len(items), 0)

        async def get_framework(r: evaluation.GetFramework) -> dict[str, Any]:
            if r.framework_id == self.buggy_framework:
                return {"id": r.framework_id, **self.frameworks[r.framework_id]}  # KeyError: the injected bug
            if r.framework_id not in self.frameworks:
                raise RpcError("not_found", f"framework {r.framework_id} not found")
            return self.frameworks[r.framework_id]

        async def adopt_framework(r: evaluation.AdoptFramework) -> dict[str, Any]:
            framework_id = str(r.document.get("id") or random_id("fw"))
            stored = {**r.document, "id": framework_id, "committee_id": r.committee_id}
            self.frameworks[framework_id] = stored
            return stored

        async def rescore(r: evaluation.Rescore) -> dict[str, Any]:
            job_id = random_id("job")
            self.rescore_jobs[job_id] = {
                "job_id": job_id,
                "status": "done",
                "cells_total": 1,
                "cells_done": 1,
                "meetings_rescored": len(self.meetings),
                "meetings_changed": 0,
                "periods_changed": 0,
                "changed": 0,
                "unit_id": r.unit_id,
                "period_from": r.period_from,
                "period_to": r.period_to,
            }
            return {"job_id": job_id, "status": "queued"}

        async def rescore_status(r: evaluation.GetRescoreStatus) -> dict[str, Any]:
            if r.job_id not in self.rescore_jobs:
                raise RpcError("not_found", f"no rescoring job {r.job_id}", field="job_id")
            return self.rescore_jobs[r.job_id]

        methods = RpcMethods("evaluation")
        methods.add(evaluation.GetMeetingScore, meeting_score)
        methods.add(evaluation.GetCellPeriods, cell_periods)
        methods.add(evaluation.GetCellHalfYear, cell_half_year)
        methods.add(evaluation.GetCommitteeRollup, committee_rollup)
        methods.add(evaluation.GetUnitRollups, unit_rollups)
        methods.add(evaluation.CountDirectCells, direct_cells)
        methods.add(evaluation.GetCommitteeRanking, committee_ranking)
        methods.add(evaluation.GetCommitteeReport, committee_report)
        methods.add(evaluation.GetWeakestCells, weakest_cells)
        methods.add(evaluation.ListFrameworks, list_frameworks)
        methods.add(evaluation.GetFramework, get_framework)
        methods.add(evaluation.AdoptFramework, adopt_framework)
        methods.add(evaluation.Rescore, rescore)
        methods.add(evaluation.GetRescoreStatus, rescore_status)
        return methods

    # ---- notifications ---------------------------------------------------------------------------

    def notifications_methods(self) -> RpcMethods:
        async def inbox(r: notifications.GetInbox) -> dict[str, Any]:
            items = [n for n in self.notifications.get(r.recipient_id, []) if not r.unread_only or n["read_at"] is None]
            return page(items, r.limit, r.offset)

        async def mark_read(r: notifications.MarkRead) -> dict[str, Any]:
            for item in self.notifications.get(r.recipient_id, []):
                if item["notification_id"] == r.notification_id:
                    item["read_at"] = "2026-11-05T08:00:00+07:00"
                    return item
            raise RpcError("not_found", f"notification {r.notification_id} not found")

        async def list_failed(r: notifications.ListFailedDeliveries) -> dict[str, Any]:
            return page([{"delivery_id": 1, "channel": "email", "error": "550"}], r.limit, r.offset)

        async def retry_delivery(r: notifications.RetryDelivery) -> dict[str, Any]:
            if r.delivery_id != 1:
                raise RpcError("not_found", f"delivery {r.delivery_id} not found")
            return {"delivery_id": r.delivery_id, "channel": "email", "status": "pending"}

        chosen: dict[str, dict[str, Any]] = {}

        def offered() -> list[str]:
            return ["email", "webhook", "inbox"] if self.sms_gateway else ["email", "inbox"]

        async def get_preferences(r: notifications.GetPreferences) -> dict[str, Any]:
            stored = chosen.get(r.recipient_id)
            known = {"email_on_file": self.emails_on_file.get(r.recipient_id), "available_channels": offered()}
            if stored is None:
                return {"recipient_id": r.recipient_id, "channels": ["email", "inbox"], "digest": False, **known}
            return {"recipient_id": r.recipient_id, **stored, "stored": True, **known}

        async def set_preferences(r: notifications.SetPreferences) -> dict[str, Any]:
            # notifications' own judgement (no CHIBO_SECRET_KEY here), so a gateway test sees the refusal it relays
            fault = notification_model.preference_fault(
                channels=list(r.channels or []),
                known=["email", "webhook", "inbox"],
                offered=offered(),
                webhook_url=r.webhook_url,
                webhook_secret=r.webhook_secret,
                can_seal=False,
            )
            if fault is not None:
                raise RpcError("invalid", fault.message, field=fault.field)
            # what is left None is kept, as notifications keeps it
            before = chosen.get(r.recipient_id, {"channels": ["email", "inbox"], "digest": False})
            chosen[r.recipient_id] = {
                "channels": before["channels"] if r.channels is None else list(r.channels),
                "digest": before["digest"] if r.digest is None else r.digest,
            }
            return await get_preferences(notifications.GetPreferences(recipient_id=r.recipient_id))

        methods = RpcMethods("notifications")
        methods.add(notifications.GetPreferences, get_preferences)
        methods.add(notifications.SetPreferences, set_preferences)

        async def late_minutes(r: notifications.ListLateMinutes) -> dict[str, Any]:
            listed = self.late_minutes.get((r.committee_id, r.period), [])
            # notifications counts none on a page past the end (its total comes with the page's rows)
            return (
                page(listed, r.limit, r.offset)
                if r.offset < len(listed)
                else page([], r.limit, 0)
                | {
                    "total": 0,
                    "offset": r.offset,
                }
            )

        async def period_checks_due(r: notifications.GetPeriodChecks) -> dict[str, Any]:
            due = self.period_checks.get((r.committee_id, r.period))
            return {"committee_id": r.committee_id, "period": r.period, "due_at": due, "pending": int(due is not None)}

        overrides: dict[tuple[str, str], settings.RuleOverride] = {}

        async def get_rules(r: notifications.GetRules) -> dict[str, Any]:
            # notifications' own resolution over the fake tree, so the gateway is tested against the real rules
            chain = self.units[r.unit_id]["ancestors"] if r.unit_id in self.units else [r.unit_id]
            stored = [o for (unit_id, _), o in overrides.items() if unit_id in chain]
            config = settings.resolve_config(chain, stored)
            sources = settings.resolve_sources(chain, stored)
            rules = {
                rule: {
                    "enabled": config.is_enabled(rule),
                    "params": dict(config.params[rule]),
                    "set_by": sources[rule],
                    "limits": settings.param_limits(rule),
                }
                for rule in config.params
            }
            return {"unit_id": r.unit_id, "rules": rules, "history_cutoff_days": self.history_cutoff_days}

        async def set_rule(r: notifications.SetRule) -> dict[str, Any]:
            try:
                cleaned = settings.validate_override(r.rule, r.params or {})
            except settings.UnknownSetting as exc:
                raise RpcError("invalid", str(exc), field=exc.field) from exc
            change = settings.RuleOverride(unit_id=r.unit_id, rule=r.rule, enabled=r.enabled, params=cleaned)
            overrides[(r.unit_id, r.rule)] = settings.merge_override(
                overrides.get((r.unit_id, r.rule)), change, reset_enabled=r.reset_enabled
            )
            return await get_rules(notifications.GetRules(unit_id=r.unit_id))

        methods.add(notifications.GetRules, get_rules)
        methods.add(notifications.SetRule, set_rule)
        methods.add(notifications.GetInbox, inbox)
        methods.add(notifications.ListLateMinutes, late_minutes)
        methods.add(notifications.GetPeriodChecks, period_checks_due)
        methods.add(notifications.MarkRead, mark_read)
        methods.add(notifications.ListFailedDeliveries, list_failed)
        methods.add(notifications.RetryDelivery, retry_delivery)
        return methods


class FakeService:
    """One fake service: its own broker with one subscriber on `<service>.rpc`."""

    def __init__(self, name: str, amqp_url: str, methods: RpcMethods) -> None:
        self.name = name
        self._amqp_url = amqp_url
        self._methods = methods
        self._broker: RabbitBroker | None = None

    async def start(self) -> None:
        """Connect and answer requests."""
        broker = RabbitBroker(self._amqp_url)
        methods = self._methods

        @broker.subscriber(RpcQueue(self.name).rabbit_queue())
        async def on_rpc(request: RpcRequest) -> dict[str, Any]:
            return await answer(request, methods)

        await broker.start()
        self._broker = broker

    async def stop(self) -> None:
        """Stop answering (the queue stays, with nobody reading it)."""
        if self._broker is not None:
            await self._broker.stop()
            self._broker = None

    @asynccontextmanager
    async def down(self) -> AsyncIterator[None]:
        """Not answering within the block (stop), answering again after it (start), however the block ends."""
        await self.stop()
        try:
            yield
        finally:
            await self.start()


class FakeServices:
    """The three fakes over one World."""

    def __init__(self, amqp_url: str) -> None:
        self.world = world = World()
        catalogs = {"meetings": meetings.OPS, "evaluation": evaluation.OPS, "notifications": notifications.OPS}
        built = {
            "meetings": world.meetings_methods(),
            "evaluation": world.evaluation_methods(),
            "notifications": world.notifications_methods(),
        }
        for name, methods in built.items():
            world.add_ops(methods, catalogs[name], amqp_url)
        self.meetings = FakeService("meetings", amqp_url, built["meetings"])
        self.evaluation = FakeService("evaluation", amqp_url, built["evaluation"])
        self.notifications = FakeService("notifications", amqp_url, built["notifications"])

    async def start(self) -> None:
        """Start all three."""
        for service in (self.meetings, self.evaluation, self.notifications):
            await service.start()

    async def stop(self) -> None:
        """Stop all three."""
        for service in (self.meetings, self.evaluation, self.notifications):
            await service.stop()
