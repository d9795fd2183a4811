"""Machine-readable reasons for a refusal or a hold, in one place for the services that raise them and the gateway
that words them for people.

A rule that refuses (InvalidEvent), holds (Held) or turns a call away (RpcError) may carry a `Refusal`: a code from
`RefusalCode` and the values a reader needs to say it (the member, the moment a replay was accepted). The English
reason beside it stays for logs and integrators; a reader picks its own wording by the code, so a rewording of the
English text never changes what a person is told. Codes stay internal to the RPC and the gateway's answers: the
public `ingest.rejected.v1` event keeps the fields CONTRACT.md fixes.
"""

import json
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class RefusalCode(StrEnum):
    """Why something was refused or held, as a stable English snake_case identifier."""

    MEMBER_NOT_IN_CELL = "member_not_in_cell"
    """Rejected: the member is known to be in another cell (or in none) on the meeting's date."""
    MEMBER_NOT_PLACED = "member_not_placed"
    """Held: the member is known, but no record yet puts them in the cell on the meeting's date."""
    MEMBER_UNKNOWN = "member_unknown"
    """Held: the system has no record of the member at all yet."""
    MEETING_CANCELLED = "meeting_cancelled"
    """Rejected: the meeting is cancelled, so nothing more is recorded for it (nor is it moved)."""
    MEETING_ALREADY_HELD = "meeting_already_held"
    """Rejected: the meeting was held (its roster or minutes are recorded), so it cannot be cancelled."""
    MEETING_MINUTES_RECORDED = "meeting_minutes_recorded"
    """Rejected: the meeting's minutes are recorded, so it cannot be rescheduled."""
    MEETING_TOOK_PLACE = "meeting_took_place"
    """Rejected: a secretary's cancel (naming data.meeting_id) of a meeting whose start has passed and whose attendance
    is recorded, or its move to a start still ahead (naming data.starts_at): it took place (its minutes still to
    come), so it is not called off, and its start only corrected to when it took place, a start already past."""
    ROSTER_NOT_IN_CELL_AT_START = "roster_not_in_cell_at_start"
    """Rejected: a secretary's move of a meeting whose attendance is recorded (naming data.starts_at) to a start at
    which members its roster lists were not in the cell (`member_names`: the first few, `missing`: how many)."""
    ROSTER_MISSING_AT_START = "roster_missing_at_start"
    """Rejected: a secretary's move of a meeting whose attendance is recorded (naming data.starts_at) to a start at
    which members of the cell are not on its roster (`member_names`: the first few, `missing`: how many)."""
    ALREADY_REPLAYED = "already_replayed"
    """Conflict: the rejection was replayed already (`replayed_at`), its event then judged `outcome` (accepted, held
    or duplicate; None for a replay from before the outcome was kept)."""
    ALREADY_DISMISSED = "already_dismissed"
    """Conflict: an operator dismissed (closed) the rejection (`replayed_at`: when), so it is neither replayed nor
    dismissed again."""
    BODY_NOT_KEPT = "body_not_kept"
    """Conflict: the rejected event was over the size limit and only a prefix of it was kept, so it cannot be judged
    again as it was; only a corrected event can replay it."""
    BODY_READS_NO_JSON = "body_reads_no_json"
    """Conflict: the rejected body was kept whole but cannot be read as JSON (not JSON, not UTF-8 in binary mode, or
    nested too deep: shared.reading.body_reads_no_json), so it cannot be judged again as it was; only a corrected
    event can replay it."""
    REFUSED_AGAIN_AS_SENT = "refused_again_as_sent"
    """Conflict: the rejected body was kept whole, and replayed as it was it is certain to be refused again for the
    same reason: its content type is refused or absent (no content mode), an attribute header of it was refused (a
    prefix its route does not read, given twice, `datacontenttype`, a value that cannot be read), its batch envelope
    is invalid or over the event count, or it is no JSON object (shared.reading.refused_again_as_sent); only a
    corrected event can replay it.
    A body that reads as no JSON keeps its older, narrower code BODY_READS_NO_JSON; a client treats both alike."""
    DATA_BASE64_UNSUPPORTED = "data_base64_unsupported"
    """Rejected: a structured-mode event carries `data_base64` (CloudEvents' binary data): chibo's events carry their
    data as a JSON object in `data` (datacontenttype application/json, CONTRACT.md "Envelope")."""
    SOURCE_NOT_REGISTERED = "source_not_registered"
    """Rejected: a scoped integration account sent under a source it has not registered."""
    SOURCE_OF_ANOTHER_ACCOUNT = "source_of_another_account"
    """Rejected: the source is registered to a scoped integration account, and another sender used it."""
    SOURCE_RESERVED = "source_reserved"
    """Rejected: an integration (an account over HTTP, a feed over AMQP) sent under a urn:chibo: source, which names
    this system's own producers."""
    ID_REUSED = "id_reused"
    """Rejected: the (source, id) pair is already an event with other content (CONTRACT.md: the pair identifies it)."""
    APPROVED_BEFORE_MEETING = "approved_before_meeting"
    """Rejected: minutes adopted before the meeting began."""
    MINUTES_OFF_MEETING_DAY = "minutes_off_meeting_day"
    """Rejected: a secretary's adoption of minutes dated another local day than the meeting's start (its held time
    corrected after they were saved): they are saved again dated the meeting's day first."""
    MEETING_TOO_LONG = "meeting_too_long"
    """Rejected: the minutes end more than a day (shared.plausible.LONGEST_MEETING) after they start."""
    SELF_CRITICISM_OVER_MEETING = "self_criticism_over_meeting"
    """Rejected: the minutes give more minutes of self-criticism than the meeting lasted."""
    MINUTES_FAR_FROM_SCHEDULE = "minutes_far_from_schedule"
    """Rejected: the minutes start more than a week (shared.plausible.MINUTES_START_WINDOW) from the meeting's
    scheduled start; a moved meeting is rescheduled first."""
    BEYOND_HORIZON = "beyond_horizon"
    """Rejected: a date the event reports (adoption, completion, removal, publication, notice, admission) lies more
    than two years after the event's own time (shared.plausible.FACT_HORIZON)."""
    COMPLETED_BEFORE_MEETING = "completed_before_meeting"
    """Rejected: a task completed before the day of the meeting that assigned it."""
    BORN_AFTER_EVENT = "born_after_event"
    """Rejected: a member's birth year after the event's own time."""
    ADMITTED_BEFORE_BIRTH = "admitted_before_birth"
    """Rejected: a member admitted before their birth year."""
    UNIT_WITHOUT_PARENT = "unit_without_parent"
    """Rejected: a unit that may not be a root of the tree (a cell: only a committee may) has no parent
    (`data.parent_id` null)."""
    MONITOR_COMMITTEE_NOT_ABOVE = "monitor_committee_not_above"
    """Rejected: a monitor's committee is not above the cell they are to follow."""
    SCOPE_ROOT_MANAGED_ABOVE = "scope_root_managed_above"
    """Rejected: a scoped account wrote the unit at its own scope root, whose record is managed from above (its
    superior committee or the national member database), not by an account scoped to it."""
    HOLD_EXPIRED = "hold_expired"
    """Rejected: the event was held for what it refers to (the member: `member_id`, when the hold named one), and the
    hold time ran out before that arrived."""
    MEETING_EXISTS = "meeting_exists"
    """Conflict: a secretary's schedule command names a meeting id that is already scheduled; scheduling never
    overwrites a meeting (moving it is a reschedule)."""
    MEETING_ID_NOT_CELLS = "meeting_id_not_cells"
    """Rejected: a meeting id a secretary chooses does not begin with the cell's own id and a separator (nor with the
    gateway's own `mtg-`): the same refusal for every other id, so that it never tells whether a start of the id is
    some unit's id (feeds name a unit's meetings after it: CONTRACT.md ids are global)."""
    MEETING_NOT_STARTED = "meeting_not_started"
    """Rejected: a secretary's command records what happens at a meeting (attendance, minutes, an assessment) before
    the meeting has begun."""
    MOVED_INTO_THE_PAST = "moved_into_the_past"
    """Rejected: a secretary's reschedule moves a meeting to a start already past (data.starts_at)."""
    MOVED_BEFORE_NOTICE = "moved_before_notice"
    """Rejected: a secretary's reschedule moves a meeting whose members were notified before its start to a start at or
    before that notice (data.starts_at; the meeting's notified_at, shared.plausible.notified_before_start)."""
    SCHEDULED_IN_THE_PAST = "scheduled_in_the_past"
    """Rejected: a secretary's schedule command sets a new meeting at a start already past (data.starts_at), the rule
    MOVED_INTO_THE_PAST applies to a move; a meeting already held is recorded as such (shared.envelope.HELD_EXTENSION)
    instead."""
    HELD_START_AHEAD = "held_start_ahead"
    """Rejected: a secretary records a meeting as already held (shared.envelope.HELD_EXTENSION) at a start that has
    not come yet (data.starts_at, CLOCK_SKEW aside); a meeting still ahead is scheduled, and its members told of it."""
    HELD_TOO_LONG_AGO = "held_too_long_ago"
    """Rejected: a secretary records a meeting as already held (shared.envelope.HELD_EXTENSION) at a start more than
    a week (shared.plausible.HELD_RECORD_WINDOW) before the command (data.starts_at)."""
    MINUTES_NOT_ADOPTED = "minutes_not_adopted"
    """Rejected: an adoption of minutes whose votes show no majority (data.votes_for not above half of the votes for
    and against): the minutes were voted down, not adopted."""
    RESOLUTION_NOT_VOTED = "resolution_not_voted"
    """Rejected: a resolution of the minutes whose votes are 0 for, 0 against and 0 abstaining
    (data.resolutions.N.votes_for): nobody voted, so it was not voted at the meeting (DOMAIN.md "Meetings")."""
    VOTES_OVER_PRESENT = "votes_over_present"
    """Rejected: more votes (an adoption's, or a resolution's in the minutes) than members present on the meeting's
    roster."""
    VOTES_OVER_MEMBERS = "votes_over_members"
    """Rejected: a secretary's minutes, sent while the meeting has no roster, give a resolution more votes than the
    cell has members at the meeting's start (shared.plausible.votes_over)."""
    MINUTES_IN_THE_FUTURE = "minutes_in_the_future"
    """Rejected: a secretary's minutes start or end after the moment they are sent (clock skew aside)."""
    PUBLISHED_IN_THE_FUTURE = "published_in_the_future"
    """Rejected: a secretary's documents are dated after the moment they are sent (data.published_at, clock skew
    aside)."""
    PUBLISHED_BEFORE_RECORDED = "published_before_recorded"
    """Rejected: a secretary's documents for a meeting they recorded as already held (shared.envelope.HELD_EXTENSION)
    are dated before it was recorded (data.published_at): chibo published nothing of it before then, and its
    documents count as published after the start (README, secretaries)."""
    COMPLETED_IN_THE_FUTURE = "completed_in_the_future"
    """Rejected: a secretary marks a task done on a day after today in Vietnam (data.completed_on, clock skew aside)."""
    NOTIFIED_AFTER_START = "notified_after_start"
    """Rejected: a secretary's schedule says members were notified at or after the meeting's start
    (data.notified_at; shared.plausible.notified_before_start)."""
    TASK_DUE_BEFORE_MEETING = "task_due_before_meeting"
    """Rejected: a task in the minutes is due before the day of the meeting that assigns it."""
    REASON_FOR_PRESENT = "reason_for_present"
    """Rejected: a roster line marks a member present and gives a reason for an absence."""
    REASON_FOR_UNEXCUSED = "reason_for_unexcused"
    """Rejected: a secretary's roster line marks a member absent without leave (unexcused) and gives a reason
    (data.records.N.reason; DOMAIN.md: an absence with a reason is absent-excused)."""
    ABSENT_AT_MEETING = "absent_at_meeting"
    """Rejected: the minutes name as chair, recorder or speaker a member the meeting's roster lists as not present."""
    MINUTES_ADOPTED = "minutes_adopted"
    """Rejected: a secretary's change of minutes the cell has already adopted (they are the adopted record), or of the
    roster of such a meeting (the adopted minutes hold who was present)."""
    ROSTER_INCOMPLETE = "roster_incomplete"
    """Rejected: a secretary's roster (data.records) leaves out members the cell's member snapshots in force at the
    meeting's start put in it (`member_names`: the first few by name, `missing`: how many), or lists nobody;
    attendance.recorded.v1 is a full roster (CONTRACT.md), the exempt and transferred listed with that status."""
    EXCUSED_WITHOUT_REASON = "excused_without_reason"
    """Rejected: a secretary's roster line marks a member excused without a reason (data.records.N.reason; DOMAIN.md:
    absent-excused comes with a reason)."""
    MONITOR_NOT_ASSIGNED = "monitor_not_assigned"
    """Held (an integration's) or rejected (a person's): an assessment as upper_monitor names a person
    (data.assessor.person_id) no monitor.assigned.v1 has assigned to follow the meeting's cell."""
    GUEST_COMMITTEE_UNKNOWN = "guest_committee_unknown"
    """Rejected (a person's; an integration's is held for the unit): a roster guest's committee
    (data.guests.N.committee_id) is no committee above the meeting's cell or inside the sender's subtree that meetings
    knows."""
    TASK_NOT_IN_MINUTES = "task_not_in_minutes"
    """Rejected (a person's; an integration's is held for the task): the task marked done (data.task_id) is not in the
    meeting's recorded minutes."""
    MINUTES_NOT_SUBMITTED = "minutes_not_submitted"
    """Rejected (a person's; an integration's is held for them): an adoption of minutes for a meeting whose minutes
    are not recorded yet."""
    ITEM_NOT_APPLICABLE = "item_not_applicable"
    """Rejected: an assessment's points for an item of the framework that does not apply to the meeting's kind
    (data.points.<code>)."""
    ROSTER_NOT_RECORDED = "roster_not_recorded"
    """Rejected (a person's; an integration's is held for it): an adoption of minutes for a meeting whose attendance
    (the roster the minutes hold: summoned, present, absent, DOMAIN.md "Meetings") is not recorded yet."""
    MEETING_UNKNOWN = "meeting_unknown"
    """Rejected (a person's; an integration's is held for it): the meeting (data.meeting_id) is not scheduled."""
    MEETING_AT_SAME_TIME = "meeting_at_same_time"
    """Conflict: a secretary schedules (or records as held) a meeting within an hour of the start of another meeting
    of the cell not cancelled (shared.plausible.SAME_START_WINDOW; judged by meetings under the cell's lock), without
    `confirm_same_time`: most likely the same meeting entered twice, whose members would be notified twice."""


REASON_REFUSED = {"present": RefusalCode.REASON_FOR_PRESENT, "absent": RefusalCode.REASON_FOR_UNEXCUSED}
"""The roster statuses a secretary's line may not give a reason with, each with its refusal: a reason explains an
excused absence (DOMAIN.md "Meetings"), never a presence or an absence without leave (meetings' domain check of a
secretary's roster; the gateway's form says the same and disables the box)."""

NAMED_MEMBERS = 3
"""How many members a refusal or warning about a roster names by `member_names`; the rest are counted (`missing`)."""


class Refusal(BaseModel):
    """A refusal's code and the structured values that go with it (each set only for the codes that have it)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    code: RefusalCode | str = Field(union_mode="left_to_right")
    """A RefusalCode; a code this reader does not know yet stays readable as text (readers are tolerant)."""
    member_id: str | None = None
    """The member a membership refusal or hold is about."""
    accepted_at: datetime | None = None
    """When the replayed rejection's event was accepted (ALREADY_REPLAYED whose outcome was `accepted`)."""
    replayed_at: datetime | None = None
    """When the rejection was replayed (ALREADY_REPLAYED), whatever the outcome."""
    outcome: str | None = None
    """How the replay judged the event (ALREADY_REPLAYED): accepted, held or duplicate."""
    member_names: list[str] | None = None
    """The full names of the first few members a roster leaves out (ROSTER_INCOMPLETE), or lists who were not in the
    cell at a new start (ROSTER_NOT_IN_CELL_AT_START), or leaves out of the cell's at a new start
    (ROSTER_MISSING_AT_START), in Vietnamese name order."""
    missing: int | None = None
    """How many members a roster leaves out in all (ROSTER_INCOMPLETE; 0 for a roster listing nobody), or lists out of
    the cell at the new start (ROSTER_NOT_IN_CELL_AT_START), or leaves out of the cell's at the new start
    (ROSTER_MISSING_AT_START)."""


def refusal_code(refusal: Refusal | None) -> str | None:
    """The refusal's code as plain text, None without a refusal (for answers that expose only the code)."""
    return None if refusal is None else str(refusal.code)


REPLAY_CAN_PASS: dict[RefusalCode, bool] = {
    # the event's own bytes decide it: whatever arrives or changes later, its replay as sent is refused again
    RefusalCode.DATA_BASE64_UNSUPPORTED: False,  # the envelope's own attribute
    RefusalCode.SOURCE_RESERVED: False,  # an integration's urn:chibo: source (the bytes name it, the route is kept)
    RefusalCode.MEETING_TOO_LONG: False,  # data.started_at and data.ended_at, both in the event
    RefusalCode.SELF_CRITICISM_OVER_MEETING: False,  # against the event's own start and end
    RefusalCode.BEYOND_HORIZON: False,  # a reported date against the event's own time
    RefusalCode.BORN_AFTER_EVENT: False,  # data.birth_year against the event's own time
    RefusalCode.ADMITTED_BEFORE_BIRTH: False,  # data.admitted_on against data.birth_year
    RefusalCode.MINUTES_NOT_ADOPTED: False,  # the adoption's own votes
    RefusalCode.RESOLUTION_NOT_VOTED: False,  # the resolution's own votes
    RefusalCode.REASON_FOR_PRESENT: False,  # the roster line's own status and reason
    RefusalCode.REASON_FOR_UNEXCUSED: False,  # likewise
    RefusalCode.EXCUSED_WITHOUT_REASON: False,  # likewise
    RefusalCode.NOTIFIED_AFTER_START: False,  # data.notified_at against data.starts_at
    RefusalCode.UNIT_WITHOUT_PARENT: False,  # the unit's own kind and parent_id
    RefusalCode.MEETING_ID_NOT_CELLS: False,  # the meeting id against the cell the event names
    # what the system knows (or the account's registrations, or the clock) decides it: a replay may pass later
    RefusalCode.MEMBER_NOT_IN_CELL: True,  # a later member snapshot may place them
    RefusalCode.MEMBER_NOT_PLACED: True,
    RefusalCode.MEMBER_UNKNOWN: True,
    RefusalCode.MEETING_CANCELLED: True,  # the meeting's stored state
    RefusalCode.MEETING_ALREADY_HELD: True,
    RefusalCode.MEETING_MINUTES_RECORDED: True,
    RefusalCode.MEETING_TOOK_PLACE: True,
    RefusalCode.ROSTER_NOT_IN_CELL_AT_START: True,
    RefusalCode.ROSTER_MISSING_AT_START: True,
    RefusalCode.SOURCE_NOT_REGISTERED: True,  # the account may register the source
    RefusalCode.SOURCE_OF_ANOTHER_ACCOUNT: True,  # registrations change
    RefusalCode.ID_REUSED: True,  # judged against the inbox's first copy, which retention may forget
    RefusalCode.APPROVED_BEFORE_MEETING: True,  # the stored meeting's start (a reschedule moves it)
    RefusalCode.MINUTES_OFF_MEETING_DAY: True,
    RefusalCode.MINUTES_FAR_FROM_SCHEDULE: True,
    RefusalCode.COMPLETED_BEFORE_MEETING: True,
    RefusalCode.MONITOR_COMMITTEE_NOT_ABOVE: True,  # the unit tree
    RefusalCode.SCOPE_ROOT_MANAGED_ABOVE: True,  # the account's scope
    RefusalCode.HOLD_EXPIRED: True,  # what it waited for may have arrived since
    RefusalCode.MEETING_NOT_STARTED: True,  # the clock
    RefusalCode.MOVED_INTO_THE_PAST: True,
    RefusalCode.MOVED_BEFORE_NOTICE: True,
    RefusalCode.SCHEDULED_IN_THE_PAST: True,
    RefusalCode.HELD_START_AHEAD: True,
    RefusalCode.HELD_TOO_LONG_AGO: True,
    RefusalCode.VOTES_OVER_PRESENT: True,  # the stored roster
    RefusalCode.VOTES_OVER_MEMBERS: True,
    RefusalCode.MINUTES_IN_THE_FUTURE: True,
    RefusalCode.PUBLISHED_IN_THE_FUTURE: True,
    RefusalCode.PUBLISHED_BEFORE_RECORDED: True,
    RefusalCode.COMPLETED_IN_THE_FUTURE: True,
    RefusalCode.TASK_DUE_BEFORE_MEETING: True,
    RefusalCode.ABSENT_AT_MEETING: True,
    RefusalCode.MINUTES_ADOPTED: True,
    RefusalCode.ROSTER_INCOMPLETE: True,
    RefusalCode.MONITOR_NOT_ASSIGNED: True,
    RefusalCode.GUEST_COMMITTEE_UNKNOWN: True,
    RefusalCode.TASK_NOT_IN_MINUTES: True,
    RefusalCode.MINUTES_NOT_SUBMITTED: True,
    RefusalCode.ITEM_NOT_APPLICABLE: True,
    RefusalCode.ROSTER_NOT_RECORDED: True,
    RefusalCode.MEETING_UNKNOWN: True,
    RefusalCode.MEETING_AT_SAME_TIME: True,
    # answers to an operator's action, never a rejection's reason: nothing to replay by them
    RefusalCode.ALREADY_REPLAYED: True,
    RefusalCode.ALREADY_DISMISSED: True,
    RefusalCode.MEETING_EXISTS: True,
    # a replay as sent is refused for these before it is judged (shared.reading.not_replayable_reason)
    RefusalCode.BODY_NOT_KEPT: False,
    RefusalCode.BODY_READS_NO_JSON: False,
    RefusalCode.REFUSED_AGAIN_AS_SENT: False,
}
"""Every RefusalCode, classified once: whether a rejection refused with it could pass when replayed as sent (the same
bytes, judged again later). False when the event's own bytes decide the refusal, so nothing that changes later fixes
it (an integration's reserved source, dates or votes contradicting each other inside the event); True when what the
system knows, the account's registrations or the clock decide it. shared.reading.not_replayable_reason reads it for
meetings' replay, its reply (RejectionReply) and the command line (shared.rejection_fields): one rule for all."""


def replay_can_pass(refusal: object) -> bool:
    """Whether a stored rejection's `refusal` (its jsonb as text, a dict {"code", ...}, a Refusal or None) leaves its
    replay as sent a chance to pass (REPLAY_CAN_PASS; True without a code, or with one this reader does not know)."""
    if isinstance(refusal, str):
        try:
            refusal = json.loads(refusal)
        except ValueError:
            return True
    code = refusal.code if isinstance(refusal, Refusal) else refusal.get("code") if isinstance(refusal, dict) else None
    try:
        return REPLAY_CAN_PASS.get(RefusalCode(str(code)), True) if code else True
    except ValueError:
        return True
