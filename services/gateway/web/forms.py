"""Forms of the web app: reading fields, Vietnamese messages that name the field, and sending commands."""

import dataclasses
import hashlib
import math
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, time, timedelta, tzinfo
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from types import MappingProxyType
from typing import Any, TypeVar
from urllib.parse import unquote_to_bytes

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from services.gateway.handlers import DataRefused
from services.gateway.http.commands import FORM_KEY
from services.gateway.schemas import AssessmentCreate
from services.gateway.web.i18n import LABELS, N_, _, format_moment, format_number, format_short_date, joined
from services.gateway.web.reasons import (
    BY_CODE,
    FIELD_SAID,
    after_label,
    explain_hold,
    explain_time_problem,
    field_label,
    on_field,
)
from shared.contracts.base import MAX_COUNT
from shared.envelope import (
    DATE_ERRORS,
    DATE_SAID,
    DATETIME_ERRORS,
    DATETIME_SAID,
    clock_problem,
    day_text_problem,
    error_location,
    validation_message,
)
from shared.logs import get_logger
from shared.membership import not_listed
from shared.periods import VIETNAM_TZ
from shared.plausible import (
    EARLIEST_DAY,
    HELD_RECORD_WINDOW,
    LATEST_DAY,
    LONGEST_MEETING,
    already_past,
    begins_later,
    day_problem,
    held_too_long_ago,
    meeting_start_problem,
    moved_into_the_past,
)
from shared.reading import unstorable_character
from shared.refusals import NAMED_MEMBERS, Refusal, RefusalCode
from shared.rpc import RpcError
from shared.text import (
    EMOJI,
    INVISIBLE,
    code_point,
    has_text,
    is_ascii_number,
    is_blank_char,
    isolated_name,
    said_or_blank,
    without_controls,
)
from shared.web_address import AddressError

log = get_logger(__name__)

FIELD_LABELS = {
    "kind": N_("Kind of meeting"),
    "topic": N_("Topic"),
    "starts_at": N_("Date and time"),
    "start_date": N_("Date"),
    "start_time": N_("Hour"),
    "notified_at": N_("Members notified at"),
    "notified_date": N_("Date the members were notified"),
    "notified_time": N_("Hour the members were notified"),
    "approved_date": N_("Date the minutes were adopted"),
    "approved_time": N_("Hour the minutes were adopted"),
    "day": N_("Date"),
    "started": N_("Start time"),
    "ended": N_("End time"),
    "comment": N_("Comment"),
    "committee_prepared": N_("The cell committee met to prepare"),
    "confirm_same_time": N_("Schedule it anyway: this is another meeting"),
    "confirm_another_regular": N_("Schedule it anyway: the month's result will be that of its latest held meeting"),
    "confirm_month_left_empty": N_("Move it anyway: the month it leaves will have no regular meeting"),
    "digest": N_("One daily digest instead of single notices"),
    "location": N_("Place"),
    "agenda": N_("Agenda"),
    "reason": N_("Reason"),
    "items": N_("Documents"),
    "title": N_("Document title"),
    "url": N_("Link"),
    "records": N_("Attendance"),
    "started_at": N_("Start time"),
    "ended_at": N_("End time"),
    "chair_id": N_("Chair"),
    "recorder_id": N_("Recorder"),
    "speakers": N_("Speakers"),
    "self_criticism_minutes": N_("Minutes of self-criticism"),
    "content": N_("Content"),
    "conclusions": N_("Conclusions"),
    "resolutions": N_("Resolutions"),
    "tasks": N_("Tasks"),
    "points": N_("Points"),
    "completed_on": N_("Completion date"),
    "channels": N_("Channels"),
    "meeting_id": N_("Meeting"),
    "period_from": N_("First period"),
    "period_to": N_("Last period"),
    "votes_for": N_("In favour"),
    "votes_against": N_("Against"),
    "abstentions": N_("Abstaining"),
}


ROW_LABELS = {
    "items": {"title": N_("Document title"), "kind": N_("Kind of document"), "url": N_("Link of the document")},
    "tasks": {"due_on": N_("Due date of the task"), "assignee_id": N_("Assignee")},
}
"""Fields of a list's rows named for their list (`items.0.kind` is a document's kind, not a meeting's)."""
CHOICES = {"kind": "kind", "items.kind": "document", "status": "attendance", "channels": "channel"}
"""The choice lists (i18n.LABELS) of a form's select fields, by field (or list.field)."""


UNSTORABLE: ContextVar[Mapping[str, str]] = ContextVar("unstorable_fields", default=MappingProxyType({}))
"""The fields of the form being handled (form_of sets it for each request) that hold a character no text is stored
with (U+0000, an unpaired surrogate: unstorable_fields), or, in an input that is no free text, one `text` would drop
(hidden_character_fields: an address, a date, an id read as other than typed), each with its message: every refusal of
that form says them too (FormErrors), and no command of it is sent while there are any (build, send)."""


class FormErrors(Exception):
    """Fields the person must correct, each with a Vietnamese message naming it; with them the form's fields holding
    a character no text is stored with (UNSTORABLE), which the form reports whatever else it finds, over that field's
    other refusal (which the character may cause: the API model refuses a surrogate as no valid string)."""

    def __init__(self, errors: dict[str, str]) -> None:
        unstorable = dict(UNSTORABLE.get())
        # one message a field: another refusal of a field said unstorable (keyed by the API's path, `records.0.status`,
        # or a page's own, `params.days_after`) names it by the same label, and is what the character caused
        named = {said.partition(": ")[0] for said in unstorable.values()}
        errors = {key: said for key, said in errors.items() if said.partition(": ")[0] not in named} | unstorable
        super().__init__(", ".join(errors))
        self.errors = errors


ROW_INPUTS = {"resolution": N_("Resolution %(row)s"), "task": N_("Task %(row)s")}
"""The minutes form's row inputs with no label of their own in FIELD_LABELS, by their name's stem."""


HIDDEN_FIELDS = {
    "csrf": N_("Security code of the form"),
    "form_key": N_("Form code"),
    "next": N_("Page to return to"),
    "unit_id": N_("Unit"),
    "meeting_id": N_("Meeting"),
    "member": N_("Member"),
    "speaker_order": N_("Order of the speakers"),
    "task_id": N_("Task code"),
    "what": N_("Setting to follow the level above for"),
    "was": N_("Settings the form was shown with"),
    "was.approved_date": N_("Adoption date the form was shown with"),
    "was.approved_time": N_("Adoption hour the form was shown with"),
    "queue": N_("Queue"),
    "event_id": N_("Event code"),
    "message_id": N_("Message code"),
    "key": N_("Dead letter code"),
    "through": N_("Newest dead letter listed"),
    "newest": N_("Dead letters listed in the last second"),
    "count": N_("Number of dead letters listed"),
    "service": N_("Service"),
    "id": N_("Outbox row"),
    "source": N_("Event source"),
    "rejection_id": N_("Rejection code"),
    "attempt": N_("Attempt of the rejected event"),
    "matched": N_("Number of rejections counted"),
    "counted_at": N_("Moment the rejections were counted"),
    "kept": N_("Parts kept as typed"),
}
"""The inputs the app's forms hide (templates/*.html, `type="hidden"`), which the page fills in and no one types, by
name (`was.NAME` by `was` unless named itself, `task_id-2` by `task_id`), and `unit_id`, which the API reads; a
refusal of one can only come of an altered form, so it names the field in Vietnamese and asks for the form to be
reloaded (a trial's tampered `form_key` was refused as `form_key: … vui lòng nhập lại`)."""


NOT_ON_FORM = N_("A field that is not on this form")
"""The name of a posted input the form being handled does not have (FORM): never its raw name, which no one sees
on the page (a trial read `held_offset`, `cell_id` in refusals)."""
TEXT, CHOICE, FILLED = "text", "choice", "filled"
"""How a person gives an input's value: typing it, choosing it (a select box, a tick: chosen again, never retyped),
or not at all (filled in by the page: a hidden input, or one the form does not have: the form is reloaded)."""


@dataclasses.dataclass(frozen=True, slots=True)
class FormLabels:
    """One form's inputs as its page shows them: `fields`, typed in, and `choices`, chosen, each by input name with
    its label (N_ marked); a name ending in `-` is the stem of a row's inputs (`task-` for `task-2`), its label
    taking the row as %(row)s when it has one; `hidden`, the inputs the page fills in (HIDDEN_FIELDS names them)."""

    fields: Mapping[str, str] = dataclasses.field(default_factory=dict)
    choices: Mapping[str, str] = dataclasses.field(default_factory=dict)
    hidden: frozenset[str] = frozenset({"csrf", "form_key"})
    named: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Labels of row stems keyed by an id that the page labels with the row's name (`status-` → `Attendance of
    %(name)s`), said for a row whose name is known (`names`), else the stem's label in `fields` or `choices`."""
    names: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """The rows' names by their key (a member's id → their full name), given by the handler once it knows them
    (with_row_names)."""
    order: tuple[str | tuple[str, ...], ...] = ()
    """The form's inputs top to bottom as its page shows them, the order its errors are listed in (in_form_order):
    input names (`start_date`), the API fields some feed (`starts_at`, said of the date and the hour), and for rows a
    tuple of one row's stems (`("task-", "assignee-", "due-", "tasks.")`, `tasks.` the API list the rows fill); a
    form with more than one input says it, else its errors are listed as they were found."""
    free: frozenset[str] = frozenset()
    """The inputs (names, or row stems such as `reason-`) whose characters that only steer or hide text are not
    refused: a person's free text, which `text` leaves them out of as the API's typed_text does (a topic, a reason),
    and inputs a handler reads as sent (the sign-in's username and password). Every other input (an address, a date,
    a number, a choice, an id the page fills in) holding one is refused naming it (hidden_character_fields), never
    read as other than typed: a trial's document link `https://ví-dụ.vn/a` with a U+00AD inside was stored without
    it, where the API refuses it naming the character."""
    options: Mapping[str, Mapping[str, str]] = dataclasses.field(default_factory=dict)
    """The options (value → label, N_ marked) the page offers in each choice input (by name or row stem) it fills
    from a fixed list (a meeting's kind, an attendance status); a choice with neither these nor `people` is a tick
    (a checkbox sent `on` when ticked)."""
    people: frozenset[str] = frozenset()
    """The choice inputs (names or row stems) whose options are the cell's members (chair, assignee): `names`, once
    the handler knows them (with_row_names), else none can be offered (meetings did not answer)."""
    many: frozenset[str] = frozenset()
    """The choice inputs of which several options may be ticked (a list of checkboxes: the speakers, the channels)."""
    types: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """The HTML type of typed inputs (by name or row stem) other than a line of text: `date`, `time`, `number`,
    `month`, `url`, or `area` for a textarea, as the page draws them."""
    sets_values: bool = False
    """Whether sending this form again sets the same values (settings replaced, not a record added), so a resend is
    the same change even without a one-time key (`form_key`)."""
    again_note: str | None = None
    """Said (N_ marked) over this form drawn again (core.form_again_page) besides whether it was saved: what its
    handler could not learn for it (the channels on offer while notifications does not answer)."""
    unanswered: tuple[str, str] | None = None
    """(title, note), N_ marked, of this form drawn again after it was sent and not answered (core.form_again_page),
    for a form that acts on what a list shows rather than records something (an operator's replay, retry, drop): it
    may have been done, which the list tells, and what sending it again does; None: "perhaps already saved"."""
    back: tuple[str, str] | None = None
    """(address, label N_ marked) of the page whose list tells whether the form drawn again was acted on."""
    confirmations: frozenset[str] = frozenset()
    """The ticks that answer a warning the form's page shows only with them (schedule.html's "Vẫn lên lịch…"): drawn
    again (core.form_again) without that warning, one would read as a question no one asked (a trial's 503 page
    offered both confirmations, the regular-meeting one for a thematic meeting); kept hidden as sent when ticked
    (the warning was answered), left out when not (the page asks again should the warning still hold)."""

    def is_free(self, name: str) -> bool:
        """Whether input `name` (`reason-<member>` by its stem) is one of `free`."""
        stem, dash, _row = name.partition("-")
        return name in self.free or bool(dash) and f"{stem}-" in self.free

    def of_stem(self, values: Mapping[str, Any] | frozenset[str], name: str) -> Any:
        """What `values` (one of this form's maps or sets) holds for input `name` or its row stem (`assignee-` for
        `assignee-2`): the value for a map (None when neither is in it), membership for a set."""
        stem, dash, _row = name.partition("-")
        keys = (name, f"{stem}-") if dash else (name,)
        if isinstance(values, frozenset):
            return any(key in values for key in keys)
        return next((values[key] for key in keys if key in values), None)

    def find(self, name: str) -> tuple[str, str] | None:
        """(label in Vietnamese, TEXT or CHOICE or FILLED) of input `name` on this form; None when it has none."""
        stem, dash, row = name.partition("-")
        for kind, labels in ((TEXT, self.fields), (CHOICE, self.choices)):
            if name in labels:
                return _(labels[name]), kind
            if dash and f"{stem}-" in labels and f"{stem}-" in self.named and row in self.names:
                return _(self.named[f"{stem}-"], name=isolated_name(self.names[row])), kind
            if dash and f"{stem}-" in labels:
                said = labels[f"{stem}-"]
                if "%(row)s" in said:
                    return _(said, row=row), kind
                if is_ascii_number(row):
                    return _("%(field)s, row %(row)s", field=_(said), row=row), kind
                return _(said), kind  # a row keyed by an id (a member's), which the label says in words
        if name in self.hidden or (dash and stem in self.hidden) or name.partition(".")[0] in self.hidden:
            return hidden_label(name) or _(NOT_ON_FORM), FILLED
        return None


FORM: ContextVar[FormLabels | None] = ContextVar("form_labels", default=None)
"""The labels of the form being handled (form_of sets them for each request): what its refusals call its inputs."""
ANSWERED: ContextVar[list[str] | None] = ContextVar("commands_answered", default=None)
"""The commands of this request a service answered (send adds each; core.WebRoute gives each request its own list):
a later silence of a service is then no longer "nothing was saved"."""

POSTED_LABELS = "posted_form_labels"
"""The attribute of a page route's handler holding the labels of the form it takes (posts)."""
Handler = TypeVar("Handler", bound=Callable[..., Any])


def posts(labels: FormLabels) -> Callable[[Handler], Handler]:
    """Mark a page route's POST handler as taking the form `labels` name (core.WebRoute reads them, declared_form):
    a post that meets a service's silence before the handler reads its form (the person's standing or the unit asked
    of meetings first, once the gateway's 30 s copies are gone) still comes back as sent, nothing saved."""

    def marked(handler: Handler) -> Handler:
        setattr(handler, POSTED_LABELS, labels)
        return handler

    return marked


def declared_form(handler: Any) -> FormLabels | None:
    """The labels a page route's `handler` declared with posts, None when it declared none."""
    labels = getattr(handler, POSTED_LABELS, None)
    return labels if isinstance(labels, FormLabels) else None


def known(*names: str) -> dict[str, str]:
    """{input: label} of inputs whose page labels them as FIELD_LABELS does (`known("topic")` → Chủ đề)."""
    return {name: FIELD_LABELS[name] for name in names}


def hidden_label(field: str) -> str | None:
    """The Vietnamese name of a hidden form field or API path (`form_key` → `Mã biểu mẫu`, `data.unit_id` → `Đơn vị`,
    `task_id-2` → `Mã nhiệm vụ, dòng 2`, `was.days_after` → `Thiết lập đang hiển thị trên biểu mẫu`, a `was.NAME`
    named itself as its own: `was.approved_time` → `Giờ thông qua biên bản đã hiển thị trên biểu mẫu`); None for any
    other."""
    name = field.removeprefix("data.")
    stem, dash, row = name.partition("-")
    if dash and stem in HIDDEN_FIELDS and is_ascii_number(row):
        return _("%(field)s, row %(row)s", field=_(HIDDEN_FIELDS[stem]), row=row)
    if name.startswith("was.") and name not in HIDDEN_FIELDS:
        return _(HIDDEN_FIELDS["was"])
    return _(HIDDEN_FIELDS[name]) if name in HIDDEN_FIELDS else None


def hidden_refused(field: str) -> str:
    """`<Tên>: giá trị này do trang tự điền nhưng bản gửi đi bị thiếu hoặc không hợp lệ. Vui lòng tải lại biểu mẫu
    rồi gửi lại.` for hidden field `field` (hidden_label names it)."""
    return _(
        "%(field)s: the page fills in this value itself, but what was sent is missing or not valid. Please reload the"
        " form and send it again.",
        field=hidden_label(field) or _(NOT_ON_FORM),
    )


def input_name(name: str) -> str:
    """The Vietnamese name of a form input `name` as the person sees it: the label the form being handled gives it
    (FORM: `location` → `Địa điểm`, `task-2` → `Nhiệm vụ 2`, `form_key` → `Mã biểu mẫu`), NOT_ON_FORM for an input
    that form does not have; outside a form's handling, the labels the forms share (label)."""
    form = FORM.get()
    if form is not None:
        found = form.find(name)
        return found[0] if found is not None else _(NOT_ON_FORM)
    stem, dash, row = name.partition("-")
    if dash and stem in ROW_INPUTS and is_ascii_number(row):
        return _(ROW_INPUTS[stem], row=row)
    return hidden_label(name) or label(name)


def input_kind(name: str) -> str:
    """How a person gives input `name` of the form being handled (FORM): TEXT, CHOICE, or FILLED (a hidden input, or
    one the form does not have: no one can type it again, the form is reloaded)."""
    form = FORM.get()
    if form is not None:
        found = form.find(name)
        return found[1] if found is not None else FILLED
    return FILLED if hidden_label(name) is not None else TEXT


def unstorable_fields(form: Any) -> dict[str, str]:
    """{input: message} for each input of `form` whose text holds a character no text is stored with, by the API's
    own rule (shared.reading.unstorable_character: U+0000, an unpaired surrogate), which forms.text would otherwise
    drop without a word (a trial's location `a\\x00b` was stored as `ab`):
    `Địa điểm: có một ký tự không lưu được (U+0000); vui lòng nhập lại.`"""
    found: dict[str, str] = {}
    for name, value in form.multi_items():
        unstorable = unstorable_character(value) if isinstance(value, str) and name not in found else None
        if unstorable is not None:
            found[name] = unstorable_message(input_name(name), unstorable, kind=input_kind(name))
    return found


def dropped_character(value: str) -> tuple[int, str] | None:
    """(position, 1-based, in `value` composed as NFC; the character) of the first character `text` would leave out
    of `value` other than whitespace at its ends: a format or control character other than a line break or tab (a
    soft hyphen U+00AD, a zero-width space U+200B, a right-to-left override: shared.text.without_controls) anywhere,
    or one that shows nothing at either end (a Hangul filler U+3164: said_or_blank); None when `text` keeps it all.
    A joiner, selector or tag within an emoji sequence (shared.text.EMOJI: 👨\u200d👩\u200d👧) is kept, so not named."""
    composed = unicodedata.normalize("NFC", value)
    kept = composed.strip()
    offset = len(composed) - len(composed.lstrip())
    emoji = {index for match in EMOJI.finditer(kept) for index in range(match.start(), match.end())}
    for index, char in enumerate(kept):
        if char not in "\n\r\t" and (unicodedata.category(char) in ("Cf", "Cc") or char in INVISIBLE):
            if index not in emoji:
                return offset + index + 1, char
    if kept and is_blank_char(kept[0]):
        return offset + 1, kept[0]
    if kept and is_blank_char(kept[-1]) and len(kept) - 1 not in emoji:
        return offset + len(kept), kept[-1]
    return None


def hidden_character_fields(form: Any) -> dict[str, str]:
    """{input: message} for each input of `form` that is not free text (FormLabels.free, of the form being handled)
    whose value `text` would read as other than typed (dropped_character: an invisible or steering character inside
    it; one of such characters alone is said empty, as every blank field is), as the API refuses such an address
    (shared.web_address) or id (its syntax):
    `Đường dẫn: có ký tự không nhìn thấy (U+00AD, ký tự thứ 18); vui lòng xóa ký tự này hoặc nhập lại.`"""
    labels = FORM.get()
    found: dict[str, str] = {}
    for name, value in form.multi_items():
        if name in found or not isinstance(value, str) or (labels is not None and labels.is_free(name)):
            continue
        dropped = dropped_character(value) if has_text(value) else None  # nothing visible: said empty (require_text)
        if dropped is not None:
            found[name] = hidden_character_message(input_name(name), *dropped, kind=input_kind(name))
    return found


def hidden_character_message(field: str, position: int, character: str, *, kind: str = TEXT) -> str:
    """`<field>: có ký tự không nhìn thấy (U+00AD, ký tự thứ 18); vui lòng xóa ký tự này hoặc nhập lại.`: the refusal
    of an input that is no free text holding `character` at `position` (hidden_character_fields); of a CHOICE:
    `…; vui lòng chọn lại.`; of one FILLED by the page: `…; trường này do trang tự điền, vui lòng tải lại biểu mẫu rồi
    gửi lại.`"""
    said = {"field": field, "character": code_point(character), "position": position}
    if kind == CHOICE:
        return _(
            "%(field)s: holds an invisible character (%(character)s, character %(position)s); please choose again.",
            **said,
        )
    if kind == FILLED:
        return _(
            "%(field)s: holds an invisible character (%(character)s, character %(position)s); the page fills in this"
            " field itself, so please reload the form and send it again.",
            **said,
        )
    return _(
        "%(field)s: holds an invisible character (%(character)s, character %(position)s); please delete it or type"
        " the value again.",
        **said,
    )


def refused_characters(form: Any, undecodable: Sequence[str] = ()) -> dict[str, str]:
    """{input: message} for each input of `form` the form is refused for whatever else it holds (UNSTORABLE): one
    `text` would read as other than typed (hidden_character_fields), bytes that are not valid UTF-8 (`undecodable`,
    their names), a character no text is stored with (unstorable_fields), the last said over the others."""
    return (
        hidden_character_fields(form) | {name: not_utf8_message(name) for name in undecodable} | unstorable_fields(form)
    )


def unstorable_message(field: str, character: str, *, kind: str = TEXT) -> str:
    """`<field>: có một ký tự không lưu được (U+0000); vui lòng nhập lại.`: the refusal of text holding `character`,
    one no text is stored with (shared.reading.unstorable_character), in the field labelled `field`; of a CHOICE
    (a select box): `…; vui lòng chọn lại.`; of one FILLED by the page (HIDDEN_FIELDS, or not on the form), which no
    one types in: `…; trường này do trang tự điền, vui lòng tải lại biểu mẫu rồi gửi lại.`"""
    if kind == CHOICE:
        return _(
            "%(field)s: contains a character that cannot be stored (%(character)s); please choose again.",
            field=field,
            character=code_point(character),
        )
    if kind == FILLED:
        return _(
            "%(field)s: contains a character that cannot be stored (%(character)s); the page fills in this field"
            " itself, so please reload the form and send it again.",
            field=field,
            character=code_point(character),
        )
    return _(
        "%(field)s: contains a character that cannot be stored (%(character)s); please type it again.",
        field=field,
        character=code_point(character),
    )


def undecodable_fields(content_type: str, body: bytes) -> list[str]:
    """The inputs of a posted form body (urlencoded or multipart, `content_type` its header) whose value's bytes are
    not valid UTF-8, named as the parsed form names them; Starlette decodes them with errors replaced (urlencoded:
    `topic=A%ED%A0%80B` read as `A\ufffd\ufffd\ufffdB`) or as Latin-1 (multipart), which would be stored as such. A
    file's content is not text and not judged; any other body: []."""
    media = _media(content_type)
    found: list[str] = []
    if media == URLENCODED:
        for pair in body.split(b"&"):
            raw_name, _equals, raw_value = pair.partition(b"=")
            if not _is_utf8(unquote_to_bytes(raw_value.replace(b"+", b" "))):
                found.append(_form_text(raw_name))
    elif media == "multipart/form-data":
        head = b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n"
        message = BytesParser(policy=HTTP).parsebytes(head + body)
        parts = message.get_payload() if message.is_multipart() else []
        for part in parts if isinstance(parts, list) else []:
            if not isinstance(part, Message) or part.get_filename() is not None:
                continue
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and not _is_utf8(payload):
                found.append(name)
    return list(dict.fromkeys(found))


def _is_utf8(raw: bytes) -> bool:
    """Whether `raw` is valid UTF-8 (strict: no surrogate, no stray byte)."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def not_utf8_message(name: str) -> str:
    """`<Nhãn>: có một ký tự không lưu được (không phải UTF-8 hợp lệ); vui lòng nhập lại.` for input `name`; a hidden
    one's (HIDDEN_FIELDS, or one not on the form) asks for the form to be reloaded instead, a select box's to choose
    again."""
    kind = input_kind(name)
    if kind == CHOICE:
        return _(
            "%(field)s: contains a character that cannot be stored (not valid UTF-8); please choose again.",
            field=input_name(name),
        )
    if kind == FILLED:
        return _(
            "%(field)s: contains a character that cannot be stored (not valid UTF-8); the page fills in this field"
            " itself, so please reload the form and send it again.",
            field=input_name(name),
        )
    return _(
        "%(field)s: contains a character that cannot be stored (not valid UTF-8); please type it again.",
        field=input_name(name),
    )


def refuse_unstorable() -> None:
    """FormErrors with the form's fields that hold an unstorable character (UNSTORABLE), if any: before a command is
    built or sent."""
    if UNSTORABLE.get():
        raise FormErrors({})


def in_form_order(errors: Mapping[str, str], order: Sequence[str | tuple[str, ...]] | None = None) -> dict[str, str]:
    """`errors` (field to message) listed in the form's field `order` (FormLabels.order of the form being handled,
    FORM, when not given), as every page's error box lists them (`_errors.html`): top to bottom, a row's inputs
    together and the rows in turn, the fields `order` does not name after them as they came; whatever found each
    error first (the form's own checks, the API model's, an invisible character's by the input's name: a trial's
    `Giờ` was listed after `Địa điểm`, its empty schedule form `Ngày`, `Giờ` before `Loại`)."""
    if order is None:
        labels = FORM.get()
        order = labels.order if labels is not None else ()
    if not order:
        return dict(errors)
    rows: dict[str, int] = {}
    found = {key: form_place(key, order, rows) for key in errors}
    return {key: errors[key] for key in sorted(errors, key=found.__getitem__)}


def form_place(key: str, order: Sequence[str | tuple[str, ...]], rows: dict[str, int]) -> tuple[int, int, int]:
    """Where the error keyed `key` stands in the form's `order` (in_form_order): (its entry, its row, its place in the
    row), found by the first part of its path the order names (`data.location` → `location`, `items.0.url` → `url`,
    `agenda.2` → `agenda`, `tasks.0.due_on` → the task rows' `tasks.`, row 1); a row keyed by an id (`status-<member>`)
    is placed where its id was first met (`rows`), as its page lists the rows as the errors were found."""
    parts = key.removeprefix("data.").split(".")
    for index, part in enumerate(parts):
        stem, dash, row = part.partition("-")
        following = parts[index + 1] if index + 1 < len(parts) else ""
        for rank, entry in enumerate(order):
            names = (entry,) if isinstance(entry, str) else entry
            for inner, name in enumerate(names):
                if name == part:
                    return rank, 0, inner
                if dash and name in (stem, f"{stem}-"):
                    return rank, _row_place(row, rows), inner
                if name == f"{part}." and is_ascii_number(following):
                    return rank, int(following) + 1, inner
    return len(order), 0, 0


def _row_place(row: str, rows: dict[str, int]) -> int:
    """A row's place: its number (`task-2`), or for a row keyed by an id the order its id was first met."""
    if is_ascii_number(row):
        return int(row)
    return rows.setdefault(row, len(rows))


@contextmanager
def reported_with(errors: dict[str, str]) -> Iterator[None]:
    """Report `errors` (the form's checks so far: rows, the meeting not begun) together with the FormErrors the block
    raises (an earlier error of a field keeps its message), and on their own when it raises none: every independent
    mistake on the first sending."""
    try:
        yield
    except FormErrors as exc:
        raise FormErrors(errors | {key: said for key, said in exc.errors.items() if key not in errors}) from None
    if errors:
        raise FormErrors(errors)


def label(field: str) -> str:
    """The Vietnamese name of a form field: the label the form being handled gives its input (FORM), else the first
    known part of a dotted path (`votes_for-2`, a field of a form's second row, is `Tán thành, dòng 2`), else the
    contract field's (`data.approved_at` → `Thời điểm thông qua biên bản`); NOT_ON_FORM for a name none of them
    knows, never the raw name or path a person cannot act on (`cell_id`)."""
    form, own = FORM.get(), field.removeprefix("data.")
    found = form.find(own) if form is not None and "." not in own else None
    if found is not None and found[1] != FILLED:
        return found[0]
    base, dash, row = field.partition("-")
    if dash and base in FIELD_LABELS and is_ascii_number(row):
        return _("%(field)s, row %(row)s", field=_(FIELD_LABELS[base]), row=row)
    parts = field.removeprefix("data.").split(".")
    if len(parts) >= 3 and is_ascii_number(parts[1]):
        # a field of a list's row (`items.0.title`): the row's own field, and which row (counted from 1)
        name = ROW_LABELS.get(parts[0], {}).get(parts[2]) or FIELD_LABELS.get(parts[2]) or FIELD_LABELS.get(parts[0])
        if name:
            return _("%(field)s, row %(row)s", field=_(name), row=int(parts[1]) + 1)
    for part in reversed(parts):
        if part in FIELD_LABELS:
            return _(FIELD_LABELS[part])
    if field == WHOLE_FORM:
        return _("This form")
    said = hidden_label(field) or next(
        (said for path in (field, f"data.{field}") if not (said := field_label(path)).startswith("“")), None
    )
    return said[:1].upper() + said[1:] if said else _(NOT_ON_FORM)


WHOLE_FORM = "form"
"""The key of a refusal about the whole form, no one field of it (a command refused without a field)."""


def refused_label(field: str) -> str:
    """A refused field's Vietnamese name (label): the form's own label, else the contract field's, never the raw
    path."""
    return label(field)


def required(field: str, *, name: str | None = None) -> str:
    """`<Trường>: vui lòng nhập trường này.` (`name` instead of the field's own label)."""
    return _("%(field)s: please fill in this field.", field=name or label(field))


def invalid(field: str, *, name: str | None = None) -> str:
    """`<Trường>: giá trị không hợp lệ.`"""
    return _("%(field)s: the value is not valid.", field=name or label(field))


def not_a_choice(
    field: str,
    value: object,
    *,
    name: str | None = None,
    expected: str | None = None,
    offered: Sequence[str] | None = None,
) -> str:
    """`<Trường>: không được để trống.` when nothing was chosen (as `required`); otherwise `<Trường>: “x” không nằm
    trong các lựa chọn (...)`, listing the choices in Vietnamese when the field is a known select (only the codes
    `offered`, when given: those the page lets the person choose), else the codes pydantic `expected` (`'a', 'b' or
    'c'`)."""
    shown = name or label(field)
    text = "" if value is None else str(value)
    if not has_text(text):  # nothing chosen: said empty as every required field left empty is
        return required(field, name=shown)
    quoted = _shortened(text)
    options = _choice_options(field, expected=expected, offered=offered)
    if not options:
        return _("%(field)s: “%(value)s” is not one of the choices.", field=shown, value=quoted)
    return _(
        "%(field)s: “%(value)s” is not one of the choices (%(choices)s).", field=shown, value=quoted, choices=options
    )


def not_choices(field: str, values: Sequence[str], *, offered: Sequence[str] | None = None) -> str:
    """Several values none of the choices, in one message: `<Trường>: “a”, “b” và “c” đều không nằm trong các lựa
    chọn cho phép (...)`, the choices listed as not_a_choice lists them; not_a_choice's own words for one value."""
    if len(values) < 2:
        return not_a_choice(field, values[0] if values else None, offered=offered)
    shown = label(field)
    said = joined([f"“{_shortened(value)}”" for value in values])
    options = _choice_options(field, offered=offered)
    if not options:
        return _("%(field)s: %(values)s are none of them among the choices.", field=shown, values=said)
    return _(
        "%(field)s: %(values)s are none of them among the choices (%(choices)s).",
        field=shown,
        values=said,
        choices=options,
    )


def _shortened(text: str) -> str:
    """A value as a refusal quotes it: at most 40 characters, the rest said with `…`."""
    return text if len(text) <= 40 else text[:39] + "…"


def _choice_options(field: str, *, expected: str | None = None, offered: Sequence[str] | None = None) -> str:
    """The choices of `field` as a refusal lists them: in Vietnamese when it is a known select (only the codes
    `offered`, when given), else the codes pydantic `expected`; "" when there are none to list."""
    parts = [part for part in field.removeprefix("data.").split(".") if not is_ascii_number(part)]
    group = CHOICES.get(".".join(parts[-2:])) or CHOICES.get(parts[-1]) if parts else None
    if group is not None:
        codes = LABELS[group] if offered is None else [code for code in offered if code in LABELS[group]]
        return ", ".join(_(LABELS[group][code]) for code in codes)
    return ", ".join(f"“{code}”" for code in re.findall(r"'([^']*)'", expected or ""))


HELD_PATH = N_("If the meeting has already taken place, record it with “Record a meeting already held”.")
"""What a new meeting's refused past start adds: the way to record a meeting held and not entered beforehand."""


def meeting_start(
    form: Any,
    errors: dict[str, str],
    *,
    now: datetime | None = None,
    allow_past: bool = False,
    held_path: bool = False,
    moving: bool = False,
) -> datetime | None:
    """The start of an upcoming meeting from the schedule and reschedule forms' date and hour inputs: within
    shared.plausible's window (from 2000 to two years ahead) and not already past (shared.plausible.already_past,
    the rule meetings refuses a secretary's new meeting or move by: a past day names the date, an hour already past
    today the hour); an error on `starts_at` naming the input to correct otherwise. A trial's meeting scheduled for
    an hour already past today sent no notice and lost the notice item of its score unsaid. An integration still
    sends past meetings (a backfill of history). `allow_past`: the reschedule form of a meeting whose start has
    passed, where a past start corrects when it really took place. `held_path`: the schedule form, whose refusal of a
    past start adds HELD_PATH (a meeting already held is recorded on its own form, held_start). `moving`: the
    reschedule form of a meeting still ahead, whose new start is refused once past with no clock allowance
    (shared.plausible.moved_into_the_past, as meetings refuses the move) and said as a move."""
    starts = moment(form, "start_date", "start_time", errors, field="starts_at")
    if starts is None:
        return None
    now = now or datetime.now(VIETNAM_TZ)
    today = now.astimezone(VIETNAM_TZ).date()
    hint = f" {_(HELD_PATH)}" if held_path else ""
    # any past day is said as past, whatever its year (a trial's 1999 read "from 2000 to two years ahead"): the
    # window's message is left for a start too far ahead, or a past one a past meeting's move may take
    if meeting_start_problem(starts, now=now) and (allow_past or starts.date() >= today):
        errors["starts_at"] = _(
            "%(field)s: a meeting is dated from the year 2000 to at most two years from today.",
            field=label("start_date"),
        )
        return None
    if starts.date() < today and not allow_past:
        errors["starts_at"] = (
            _(
                "%(field)s: %(day)s has already passed; a meeting scheduled here is dated from today (%(today)s) on.",
                field=label("start_date"),
                day=format_short_date(starts.date()),
                today=format_short_date(today),
            )
            + hint
        )
        return None
    if moving and not allow_past and moved_into_the_past(starts, now):
        local = now.astimezone(VIETNAM_TZ)
        # a start in the very minute it is now reads "09:00 has passed (it is 09:00 now)" without the seconds
        shown = "%H:%M:%S" if starts.strftime("%H:%M") == local.strftime("%H:%M") else "%H:%M"
        errors["starts_at"] = _(
            "%(field)s: %(hour)s today has already passed; a meeting still ahead is moved to a time still ahead "
            "(it is %(now)s now), so that its members are told of the new time before it.",
            field=label("start_time"),
            hour=starts.strftime("%H:%M"),
            now=local.strftime(shown),
        )
        return None
    if already_past(starts, now) and not allow_past:
        errors["starts_at"] = (
            _(
                "%(field)s: %(hour)s today has already passed; a meeting scheduled here starts at a time still ahead "
                "(it is %(now)s now).",
                field=label("start_time"),
                hour=starts.strftime("%H:%M"),
                now=now.astimezone(VIETNAM_TZ).strftime("%H:%M"),
            )
            + hint
        )
        return None
    return starts


def held_start(form: Any, errors: dict[str, str], *, now: datetime | None = None) -> datetime | None:
    """The start of a meeting already held from the "record a meeting already held" form's date and hour inputs: it
    has begun (shared.plausible.begins_later, CLOCK_SKEW aside) and began at most HELD_RECORD_WINDOW (7 days) ago
    (held_too_long_ago), the bounds meetings' check_held_start refuses by; an error on `starts_at` naming the input
    to correct and the days allowed otherwise."""
    starts = moment(form, "start_date", "start_time", errors, field="starts_at")
    if starts is None:
        return None
    now = now or datetime.now(VIETNAM_TZ)
    local = now.astimezone(VIETNAM_TZ)
    if begins_later(starts, now):
        errors["starts_at"] = _(
            "%(field)s: %(when)s has not come yet (it is %(now)s now); a meeting still ahead is scheduled with "
            "“Schedule a meeting”, so that its members are notified.",
            field=label("start_date" if starts.date() > local.date() else "start_time"),
            when=format_moment(starts),
            now=format_moment(local),
        )
        return None
    if held_too_long_ago(starts, now):
        errors["starts_at"] = _(
            "%(field)s: %(day)s is more than %(days)s days ago; a meeting already held is recorded here within "
            "%(days)s days of its start (from %(earliest)s on).",
            field=label("start_date"),
            day=format_short_date(starts.date()),
            days=HELD_RECORD_WINDOW.days,
            earliest=format_moment(local - HELD_RECORD_WINDOW),
        )
        return None
    return starts


def notified_moment(form: Any, errors: dict[str, str]) -> datetime | None:
    """When the members were told of a meeting already held by other means than chibo, from the optional
    `notified_date` and `notified_time` inputs (both left empty: None, nobody was told beforehand); an error on
    `notified_at` naming what to correct otherwise."""
    if not text(form, "notified_date") and not text(form, "notified_time"):
        return None
    return moment(form, "notified_date", "notified_time", errors, field="notified_at")


def text(form: Any, name: str) -> str:
    """A trimmed text field in Unicode NFC (CONTRACT.md stores text composed): Vietnamese typed or pasted decomposed
    (NFD: `ê` + U+0301) counts as the characters stored, never as its code points; "" when it holds only spaces or
    invisible characters (shared.text.has_text); the characters that only steer or hide text (a right-to-left
    override, zero-width ones) are left out wherever they are (shared.text.without_controls). Of an input that is no
    free text (FormLabels.free) the form is refused by then when that changes it (form_of, hidden_character_fields):
    what is read is what was typed, or nothing is sent."""
    return said_or_blank(without_controls(unicodedata.normalize("NFC", str(form.get(name) or ""))))


def multiline(form: Any, name: str) -> str:
    """A trimmed textarea with LF line breaks: browsers send a textarea's lines joined by CRLF, so a text shown in a
    form and sent back unchanged stays the same text."""
    return text(form, name).replace("\r\n", "\n")


NumberT = TypeVar("NumberT", int, float)


def _ascii_number(raw: str, kind: type[NumberT]) -> NumberT | None:
    """`raw` read as `kind`, or None when it is no finite number written in ASCII (int() and float() also read ٥ and
    ５ as 5, which the API refuses; float() reads "nan", "inf", "Infinity" and an overflowing "1e400", which are
    said as no number, not as out of range, and which the API refuses too: PointValue's allow_inf_nan=False)."""
    if not raw.isascii():
        return None
    try:
        value = kind(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


MINUTES_FORM_LONGEST = timedelta(hours=12)
"""The minutes form has one date: an end time before the start time is read as past midnight when the meeting is
then at most this long (a meeting from 19:30 to 00:30), and refused otherwise. Shorter than the day meetings accepts
(shared.plausible.LONGEST_MEETING): with a day, any end time before the start would pass, a mistyped 09:00-08:00 as a
23-hour meeting."""


def minutes_end(started: datetime, ended: datetime) -> datetime:
    """The minutes' end from the form's one date: `ended` a day later when it is before `started` and the meeting then
    lasts at most MINUTES_FORM_LONGEST (past midnight), else as typed."""
    if ended < started and ended + timedelta(days=1) - started <= MINUTES_FORM_LONGEST:
        return ended + timedelta(days=1)
    return ended


def past_midnight_note() -> str:
    """What the minutes form says under its times: an end time before the start is the next day's (minutes_end)."""
    return _(
        "A meeting that ends after midnight: enter the end time as it was (for example 00:30); an end time before the "
        "start time is read as the next day's when the meeting then lasts at most %(hours)s hours.",
        hours=format_number(MINUTES_FORM_LONGEST.total_seconds() / 3600, digits=0),
    )


def end_before_start(field: str) -> str:
    """The minutes form's refusal of an end time at or before the start that minutes_end does not read as past
    midnight, naming `field` and the bound."""
    return _(
        "%(field)s: must be after the start time; an end time before the start time is read as the next day's only "
        "when the meeting then lasts at most %(hours)s hours.",
        field=field,
        hours=format_number(MINUTES_FORM_LONGEST.total_seconds() / 3600, digits=0),
    )


SELF_CRITICISM_MOST = int(LONGEST_MEETING.total_seconds() // 60)
"""The most minutes of self-criticism the minutes form takes (1,440): no more than the meeting lasted, which is at
most a day (shared.plausible.LONGEST_MEETING; meetings refuses more than the meeting lasted, so the form's `max`, its
error and the service state one bound)."""


def whole_number(form: Any, name: str, errors: dict[str, str], *, low: int = 0, high: int = MAX_COUNT) -> int | None:
    """A whole number in [low, high] (by default the contract's counts: 0 to 100,000); an error naming the field
    otherwise; None when empty."""
    raw = text(form, name)
    if not raw:
        return None
    value = _ascii_number(raw, int)
    if value is None:
        errors[name] = _("%(field)s: enter a whole number.", field=label(name))
        return None
    if not low <= value <= high:
        errors[name] = _(
            "%(field)s: between %(low)s and %(high)s.",
            field=label(name),
            low=format_number(low, digits=0),
            high=format_number(high, digits=0),
        )
        return None
    return value


def moment(form: Any, date_name: str, time_name: str, errors: dict[str, str], *, field: str) -> datetime | None:
    """A local (+07:00) moment from a date and a time input; an error on `field` naming each input that is empty or
    not a date or an hour (with the form to write it in), both at once when both are wrong."""
    day, clock = text(form, date_name), text(form, time_name)
    problems: list[str] = []
    parsed_day: date | None = None
    parsed_clock: time | None = None
    if not day:
        problems.append(required(date_name, name=input_label(date_name, field)))
    elif (parsed_day := parse_day(day)) is None:
        problems.append(not_a_day(date_name, day))
    elif (outside := day_outside(input_label(date_name, field), parsed_day)) is not None:
        problems.append(outside)
        parsed_day = None
    if not clock:
        problems.append(required(time_name, name=input_label(time_name, field)))
    else:
        parsed_clock = parse_clock(clock)
        if parsed_clock is None:
            out_of_range = _out_of_range(clock_shape(clock), clock_problem)
            problems.append(
                field_said(input_label(time_name, field), out_of_range)
                if out_of_range
                else _(
                    "%(field)s: “%(value)s” is not an hour of the day; enter it as 19:30.",
                    field=input_label(time_name, field),
                    value=clock[:20],
                )
            )
    if problems or parsed_day is None or parsed_clock is None:
        errors[field] = " ".join(problems)
        return None
    return datetime.combine(parsed_day, parsed_clock, tzinfo=VIETNAM_TZ)


def input_label(name: str, field: str) -> str:
    """The label of a form input (`start_time` → `Giờ`), or of the API field it feeds when the input has none of
    its own (the minutes' `started` → `Giờ bắt đầu`)."""
    return label(name) if name in FIELD_LABELS else label(field)


def parse_day(raw: str) -> date | None:
    """A date as a date input sends it (2026-12-04, a four-digit first part is the year) or as a person types it
    where there is no date picker (TYPED_DAY: 04/12/2026, 4-12-2026, 04.12.2026, day first, the year in four digits);
    None when it is none of them, no such day, a two-digit year (SHORT_YEAR_DAY: 16/12/26 is refused, not guessed) or
    written in other digits than 0-9 (`1５/12/2026` is no 15th)."""
    if not raw.isascii():
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        pass
    matched = TYPED_DAY.match(raw)  # its digits are [0-9]
    if matched is None:
        return None
    try:
        return date(int(matched[4]), int(matched[3]), int(matched[1]))
    except ValueError:
        return None


TYPED_DAY = re.compile(r"^([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4})$")
"""A date as a person in Vietnam types it, day first and one separator throughout: 04/12/2026, 4/12/2026,
04-12-2026, 04.12.2026 (groups: day 1, separator 2, month 3, year 4; `04/12-2026` is no date)."""
SHORT_YEAR_DAY = re.compile(r"^([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{2})$")
"""A typed date whose year has two digits (16/12/26): refused with a request for the four-digit year, since the
dates the system takes span 1900-2199 and a guessed century would file a meeting or a due day in the wrong one."""


CLOCK_SHAPE = re.compile(r"^([0-9]{2}):([0-9]{2})(?::[0-9]{2}(?:\.[0-9]+)?)?$")
"""An hour as a time input sends it (19:30, 19:30:15), each part read as written."""
TYPED_CLOCK = re.compile(r"^([0-9]{1,2})\s*(?::|h|g|giờ)\s*(?:([0-9]{2})\s*(?:phút|p)?)?$", re.IGNORECASE)
"""An hour as a person writes it in Vietnamese where there is no time picker, each part read as written: 19h30, 19h,
19g30, 19 giờ 30 (phút), 19 giờ, 7h05, 7:05 (minutes two digits, ASCII digits only: ١٩h٣٠ is no hour)."""


def parse_day_and_clock(raw: str, zone: tzinfo) -> datetime | None:
    """A moment as a `datetime-local` input sends it (`2026-12-04T19:30`, an offset kept when it says one) or as a
    person types it, a day (parse_day) then its hour (parse_clock: `04/12/2026 19:30`, `04/12/2026 19h30`; a day
    alone its midnight), read in `zone` unless it says its offset; None for anything else."""
    moment = None
    if raw.isascii():  # fromisoformat reads no other digits, but say so
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            pass
    if moment is None:
        day_part, _space, clock_part = raw.strip().partition(" ")
        parsed_day = parse_day(day_part)
        parsed_clock = parse_clock(clock_part.strip()) if clock_part.strip() else time(0, 0)
        if parsed_day is None or parsed_clock is None:
            return None
        moment = datetime.combine(parsed_day, parsed_clock)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def clock_shape(raw: str) -> re.Match[str] | None:
    """The hour and minute of `raw` as written, by shape alone (CLOCK_SHAPE, TYPED_CLOCK; a minute left out is
    group 2 None), None when it is none of them: what clock_problem judges out of range (24h00, 19h60)."""
    return CLOCK_SHAPE.match(raw) or TYPED_CLOCK.match(raw)


def parse_clock(raw: str) -> time | None:
    """An hour of the day as a time input sends it (19:30, 19:30:15) or as a person types it in Vietnamese
    (TYPED_CLOCK: 19h30, 19h, 19g30, 19 giờ 30, 7h05); None when it is none of them, out of range (24h00, 19h60) or
    written in other digits than 0-9."""
    if raw.isascii():
        try:
            return time.fromisoformat(raw)
        except ValueError:
            pass
    matched = TYPED_CLOCK.match(raw)  # its digits are [0-9]: ١٩h٣٠ and １９h３０ are no hour
    if matched is None:
        return None
    hour, minute = int(matched[1]), int(matched[2] or 0)
    return time(hour, minute) if clock_problem(hour, minute) is None else None


DAY_SHAPES = (
    (re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$"), (1, 2, 3)),
    (TYPED_DAY, (4, 3, 1)),
)
"""A date as a date input sends it (2026-12-04) and as a person types it (04/12/2026, 04-12-2026, 04.12.2026), with
where its year, month and day are."""


def field_said(name: str, why: str) -> str:
    """`why` said of the field `name` as the forms say a problem (`Giờ: giờ 24 không hợp lệ; …`): the field's name
    first, always, even when `why` begins with the same word."""
    return _(FIELD_SAID, field=name, why=after_label(why))


def _out_of_range(matched: re.Match[str] | None, problem: Any, order: Sequence[int] = (1, 2)) -> str | None:
    """The Vietnamese of what `problem` (shared.envelope's day_text_problem or clock_problem) finds out of range in
    the parts `matched` holds (in `order`), None when nothing is."""
    if matched is None:
        return None
    found = problem(*(int(matched[index] or 0) for index in order))
    return explain_time_problem(found) if found else None


def not_a_day(name: str, value: str) -> str:
    """`<Ngày>: “x” không phải ngày hợp lệ; hãy chọn ngày trên lịch hoặc nhập theo dạng ngày/tháng/năm, ví dụ
    04/12/2026, 04-12-2026 hoặc 04.12.2026.` (a date input shows the day as day/month/year, and parse_day takes it
    typed so); for a date of the right shape whose month or day does not exist, which (`Ngày: ngày 30 không có trong
    tháng 02/2026 …`); for a two-digit year (16/12/26), that the year needs its four digits."""
    for shape, order in DAY_SHAPES:
        said = _out_of_range(shape.match(value), day_text_problem, order)
        if said:
            return field_said(label(name), said)
    if SHORT_YEAR_DAY.match(value):
        return _(
            "%(field)s: “%(value)s” has a two-digit year; enter the year in four digits, e.g. %(example)s.",
            field=label(name),
            value=value[:20],
            example="04/12/2026",
        )
    return _(
        "%(field)s: “%(value)s” is not a date; pick the day in the calendar or enter it as day/month/year, e.g."
        " %(example)s, %(dashed)s or %(dotted)s.",
        field=label(name),
        value=value[:20],
        example="04/12/2026",
        dashed="04-12-2026",
        dotted="04.12.2026",
    )


def day(form: Any, name: str, errors: dict[str, str], *, field: str | None = None) -> date | None:
    """A date input."""
    raw = text(form, name)
    if not raw:
        return None
    parsed = parse_day(raw)
    if parsed is None:
        errors[field or name] = not_a_day(field or name, raw)
    elif (outside := day_outside(label(field or name), parsed)) is not None:
        errors[field or name] = outside
        return None
    return parsed


def day_outside(field: str, parsed: date) -> str | None:
    """`<field>: ngày 01/01/0001 nằm ngoài …` for a date before EARLIEST_DAY (1900) or after LATEST_DAY (2199), the
    days any event may carry (shared.plausible.day_problem): a mistyped year, never said as a day already past; None
    for a date within them."""
    if day_problem(parsed) is None:
        return None
    return _(
        "%(field)s: %(day)s is outside the dates the system takes (%(earliest)s to %(latest)s); check the year.",
        field=field,
        day=format_short_date(parsed),
        earliest=format_short_date(EARLIEST_DAY),
        latest=format_short_date(LATEST_DAY),
    )


def typed_point(raw: str) -> float | None:
    """An assessment point as typed (`7,5` or `7.5`, ASCII digits; outer spaces ignored) as a number of points; None
    when it is no finite number (assessment_points refuses it, the record page keeps it as typed)."""
    return _ascii_number(raw.strip().replace(",", "."), float)


def assessment_points(form: Any, items: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """The points of an assessment form (`point-<code>`) for the manual `items` the server read (data.manual_items:
    each its `code`, `name` and `max`, of the framework in force): {code: points}; FormErrors naming the item by its
    framework name when a value is not a number in [0, max], or when none is given. Posted fields of other codes
    are not read: a client chooses neither an item's name nor its maximum (CONTRACT.md, assessment points)."""
    errors: dict[str, str] = {}
    points: dict[str, float] = {}
    for item in items:
        code = str(item["code"])
        key = f"point-{code}"
        name = str(item.get("name") or code)
        raw = text(form, key)
        if not raw:
            continue
        value = typed_point(raw)
        if value is None:
            errors[key] = _("%(field)s: enter a number.", field=name)
            continue
        top = float(item["max"])
        if not 0 <= value <= top:
            errors[key] = _("%(field)s: between 0 and %(max)s points.", field=name, max=format_number(top))
        points[code] = value
    if not points and not errors:
        errors["points"] = required("points")
    if errors:
        raise FormErrors(errors)
    return points


def single_rows(data: Mapping[str, Any]) -> dict[str, str]:
    """Names without a row number for the fields of the lists of a form that has one row of each (the documents
    form's one document: `items.0.title` is `Tên tài liệu`, not `Tên tài liệu, dòng 1`), by each row field's path.
    Not for a form of several rows (the minutes' resolutions), whose row numbers say which row to correct."""
    names: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], Mapping):
            for field in value[0]:
                name = ROW_LABELS.get(key, {}).get(field) or FIELD_LABELS.get(field)
                if name:
                    names[f"{key}.0.{field}"] = names[f"data.{key}.0.{field}"] = _(name)
    return names


def build(model: type[BaseModel], data: dict[str, Any], *, names: dict[str, str] | None = None) -> Any:
    """The API body model from the form's data; FormErrors naming each refused field (`names`: a path's own name,
    such as `records.3.status` → `Điểm danh đồng chí Nguyễn Văn A`; single_rows for a form of one row)."""
    try:
        built = model.model_validate(data)
    except ValidationError as exc:
        raise FormErrors(messages(exc.errors(include_url=False), names=names)) from None
    refuse_unstorable()
    return built


def fields_refused(
    model: type[BaseModel], data: Mapping[str, Any], *, names: dict[str, str] | None = None
) -> dict[str, str]:
    """The messages `model` gives of the fields `data` holds (a form's inputs no check of its own covers, such as free
    text), as build says them, the model's other fields not judged; {} when they pass. A form whose own checks
    refused something says these along (a comment over 10,000 characters was said only once the points were right)."""
    try:
        model.model_validate(data)
    except ValidationError as exc:
        own = [error for error in exc.errors(include_url=False) if str((error.get("loc") or ("",))[0]) in data]
        return messages(own, names=names)
    return {}


def refused_with(errors: dict[str, str], model: type[BaseModel], data: Mapping[str, Any]) -> None:
    """FormErrors with `errors` (the form's own checks) and what `model` refuses of the fields of `data`
    (fields_refused), each field once, the form's own message first; nothing when `errors` is empty."""
    if errors:
        raise FormErrors(errors | {key: said for key, said in fields_refused(model, data).items() if key not in errors})


def assessment_model(form: Any, items: Sequence[Mapping[str, Any]], *, role: str) -> Any:
    """The AssessmentCreate of an assessment form (the cell's and the monitor's): its points (assessment_points) and
    comment, FormErrors with every mistake of both at once."""
    comment = {"comment": text(form, "comment") or None}
    try:
        points = assessment_points(form, items)
    except FormErrors as exc:
        refused_with(exc.errors, AssessmentCreate, comment)
        raise
    return build(AssessmentCreate, {"role": role, "points": points, **comment})


def messages(errors: Iterable[Mapping[str, Any]], *, names: Mapping[str, str] | None = None) -> dict[str, str]:
    """Pydantic's errors as Vietnamese messages by field path, the first for each path."""
    found: dict[str, str] = {}
    for error in errors:
        path = ".".join(str(part) for part in error_location(error))
        if hidden_label(path) is not None and path not in (names or {}):
            # a field the page fills in (a form's hidden input, an id from the address): never the person's typing
            found.setdefault(path, hidden_refused(path))
        found.setdefault(path, message(error, path=path, name=(names or {}).get(path)))
    return found


EMPTY: tuple[object, ...] = (None, "", [], {})
LIMITS = {
    "string_too_long": N_("%(field)s: at most %(limit)s characters (%(count)s entered)."),
    "too_long": N_("%(field)s: at most %(limit)s items (%(count)s entered)."),
    "string_too_short": N_("%(field)s: at least %(limit)s characters."),
    "too_short": N_("%(field)s: at least %(limit)s items."),
    "greater_than_equal": N_("%(field)s: at least %(limit)s."),
    "greater_than": N_("%(field)s: more than %(limit)s."),
    "less_than_equal": N_("%(field)s: at most %(limit)s."),
    "less_than": N_("%(field)s: less than %(limit)s."),
}
"""Errors about a bound, each naming the bound (pydantic's ctx: max_length, min_length, ge, gt, le, lt)."""
LIMIT_KEYS = ("max_length", "min_length", "ge", "gt", "le", "lt")
KINDS = (
    (("int_parsing", "int_type", "int_from_float"), N_("%(field)s: enter a whole number.")),
    (("float_parsing", "float_type", "finite_number", "decimal_parsing"), N_("%(field)s: enter a number.")),
    (
        ("date_parsing", "date_type", "date_from_datetime_parsing", "date_from_datetime_inexact"),
        N_("%(field)s: enter a date."),
    ),
    (
        ("datetime_parsing", "datetime_type", "datetime_from_date_parsing", "timezone_aware"),
        N_("%(field)s: enter a date and a time."),
    ),
    (("string_pattern_mismatch",), N_("%(field)s: contains characters that are not allowed here.")),
    (
        ("url_parsing", "url_scheme", "url_type", "url_syntax_violation"),
        N_("%(field)s: enter a full link (https://…)."),
    ),
)
"""Errors about the kind of value, each saying what to enter."""


def message(error: Mapping[str, Any], *, path: str, name: str | None = None) -> str:
    """The Vietnamese message of one pydantic error: to fill in, to choose among the choices it lists, or within the
    limit it names (`Địa điểm: tối đa 200 ký tự (đã nhập 300).`)."""
    kind = str(error.get("type"))
    context = error.get("ctx") or {}
    value = error.get("input")
    if kind == "missing" or (kind in ("string_too_short", "too_short") and context.get("min_length", 1) <= 1):
        return required(path, name=name)
    if is_blank(value):
        # left empty (or only spaces, invisible characters): said so whatever else the field holds to, before its
        # pattern (an id's `chair_id=` read "có ký tự không được phép"), its choices or its kind of value; a rule
        # that wants the value (a thematic meeting's topic) says why it is needed
        needs = TOPIC_NEEDED.search(validation_message(error))
        if needs is not None:
            return _(TOPIC_MISSING, field=name or label(path), kind=_(TOPIC_KINDS[needs[1]]))
        return required(path, name=name)
    if kind in ("enum", "literal_error"):
        return not_a_choice(path, value, name=name, expected=context.get("expected"))
    if kind in LIMITS:
        limit = next((context[key] for key in LIMIT_KEYS if key in context), None)
        if limit is not None:
            count = context.get("actual_length", len(value) if isinstance(value, str | list | dict) else 0)
            return _(
                LIMITS[kind],
                field=name or label(path),
                limit=format_number(limit, digits=2),
                count=format_number(count, digits=0),
            )
    if kind == "value_error" or kind in DATETIME_ERRORS or kind in DATE_ERRORS:
        # a date or date-time whose month, day, hour, minute or offset is out of range: said which (shared.envelope)
        english = validation_message(error)
        said = explain_time_problem(english) if english not in (DATE_SAID, DATETIME_SAID) else None
        if said is not None:
            return field_said(name or label(path), said)
    for kinds, text in KINDS:
        if kind in kinds:
            return _(text, field=name or label(path))
    refused = context.get("error")
    if kind == "value_error" and isinstance(refused, AddressError):
        # an http(s) address (shared.web_address), which the person types without a picker: which part is wrong
        return _(ADDRESS_PROBLEMS[refused.problem.code], field=name or label(path), **refused.problem.values)
    if value in EMPTY:  # an empty list or object a rule wants filled
        return required(path, name=name)
    return invalid(path, name=name)


def is_blank(value: object) -> bool:
    """Whether a refused input was left empty: None, or text of only spaces or invisible characters (has_text)."""
    return value is None or (isinstance(value, str) and not has_text(value))


ADDRESS_PROBLEMS = {
    "scheme": N_("%(field)s must begin with http:// or https://."),
    "host_missing": N_(
        "%(field)s: no domain name after http:// or https://; enter the whole address, such as "
        "https://example.vn/nghi-quyet.pdf."
    ),
    "host": N_("%(field)s: the domain name “%(host)s” is not valid (a domain name such as ví-dụ.vn or example.vn)."),
    "userinfo": N_(
        "%(field)s: holds a user name or password before the domain name (the text up to “@”); the link would open "
        "“%(host)s” whatever that text says, so an address holds none."
    ),
    "ipv4_hex": N_(
        "%(field)s: the address “%(host)s” is opened by browsers as the IP address %(ip)s (its part “%(part)s” is "
        "read as a hexadecimal number); write %(ip)s."
    ),
    "ipv4_octal": N_(
        "%(field)s: the address “%(host)s” is opened by browsers as the IP address %(ip)s (its part “%(part)s” "
        "begins with 0, so it is read as an octal number); write %(ip)s."
    ),
    "ipv4_parts": N_(
        "%(field)s: the address “%(host)s” is opened by browsers as the IP address %(ip)s (it has %(parts)s parts "
        "instead of 4); write %(ip)s."
    ),
    "ipv4_dot": N_(
        "%(field)s: the address “%(host)s” is opened by browsers as the IP address %(ip)s (it ends in a dot); "
        "write %(ip)s."
    ),
    "ipv4_character": N_(
        "%(field)s: the address “%(host)s” is opened by browsers as the IP address %(ip)s (its character “%(char)s” "
        "(%(point)s) is read as “%(read)s”); write %(ip)s."
    ),
    "ipv6_mapped": N_(
        "%(field)s: the address “%(host)s” is opened by browsers as the IP address %(ip)s (it is an IPv4-mapped IPv6 "
        "address); write %(ip)s."
    ),
    "ipv6_compatible": N_(
        "%(field)s: the address “%(host)s” stands for the IP address %(ip)s in the deprecated IPv4-compatible IPv6 "
        "form; write %(ip)s."
    ),
    "port": N_("%(field)s: the port “%(port)s” is not valid; a port is a number from 1 to 65535."),
    "hidden": N_(
        "%(field)s: holds a space or an invisible character (%(point)s, character %(position)s); an address holds "
        "none (write a space as %%20)."
    ),
    "character": N_(
        "%(field)s: holds the character “%(char)s” (character %(position)s), which an address may hold only "
        "percent-encoded."
    ),
    "percent": N_(
        "%(field)s: the “%%” at character %(position)s is not followed by two hexadecimal digits (write “%%” itself "
        "as %%25)."
    ),
}
"""What shared.web_address finds wrong with an address, by its code, naming the field and the part."""


TOPIC_NEEDED = re.compile(r"\ban? (thematic|combined) meeting needs a topic\b")
"""The contract's refusal of a thematic or combined meeting without a topic (meetings.topic_for_kind)."""
TOPIC_KINDS = {"thematic": N_("a thematic"), "combined": N_("a combined")}
TOPIC_MISSING = N_("%(field)s: no topic entered; %(kind)s meeting must have a topic.")
"""`Chủ đề: chưa nhập chủ đề; buổi sinh hoạt chuyên đề phải có chủ đề.`, not a bare "fill in this field": why the
meeting's kind needs one."""


HOLD_HOURS = 24
"""How long meetings holds an event before rejecting it: its default (hold_timeout_seconds, CONTRACT.md's 24 h)."""
HELD_WHAT = {
    "minutes.submitted.v1": N_("the minutes"),
    "attendance.recorded.v1": N_("the attendance"),
    "meeting.assessed.v1": N_("the assessment"),
    "task.completed.v1": N_("the task's completion"),
    "minutes.approved.v1": N_("the adoption of the minutes"),
    "documents.published.v1": N_("the documents"),
}
"""What a held command would have recorded, by its event type, as the held message names it."""
HELD_OTHER = N_("this record")
HELD_ON_ROSTER = frozenset({RefusalCode.MEMBER_NOT_PLACED, RefusalCode.MEMBER_NOT_IN_CELL})
"""Meetings' codes for a member that no record (yet) puts in the cell on the meeting's date."""


class StateRefusal(str):
    """A form's refusal about the meeting's own state (cancelled, held, not begun, its minutes adopted), which nothing
    on the form fixes: its error box opens "Không thực hiện được:" (error_box_title), not "Vui lòng sửa:"."""

    __slots__ = ()


def error_box_title(errors: Mapping[str, str] | None) -> str:
    """The opening of a form's error box: "Không thực hiện được:" when every message is a StateRefusal (nothing on
    the form to correct: a trial read "Vui lòng sửa: Buổi sinh hoạt này đã bị hủy…"), else "Vui lòng sửa:"."""
    said = list((errors or {}).values())
    if said and all(isinstance(message, StateRefusal) for message in said):
        return _("Could not be done:")
    return _("Please correct:")


MEETING_STATE_REFUSALS = {
    RefusalCode.MEETING_CANCELLED: N_("This meeting was cancelled, so nothing more is recorded for it."),
    RefusalCode.MEETING_ALREADY_HELD: N_(
        "This meeting has already been held (its minutes are recorded), so it cannot be cancelled."
    ),
    RefusalCode.MEETING_MINUTES_RECORDED: N_(
        "This meeting has already been held (its minutes are recorded), so it cannot be rescheduled."
    ),
    RefusalCode.MEETING_TOOK_PLACE: N_(
        "This meeting has already taken place and its attendance is recorded, so it can no longer be cancelled; "
        "record its minutes."
    ),
}
"""Meetings' refusals about the meeting's own state (domain.require_not_cancelled, check_cancel, check_reschedule), by
the code they carry, each said as a person reads it instead of "not accepted by the system"."""
TOOK_PLACE_MOVED_AHEAD = N_(
    "This meeting has already taken place and its attendance is recorded: only the time it took place can be "
    "corrected, it cannot be moved to a time still to come."
)
"""Meetings' MEETING_TOOK_PLACE naming `data.starts_at`: a meeting that took place moved to a start still ahead (a
start already past corrects when it took place and is taken), which the form fixes by a start already past."""
HELD_RECORDED_MOVED_AHEAD = N_(
    "This meeting was recorded as already held: only the time it took place can be corrected, to a time already "
    "past; it cannot be moved to a time still to come. If it did not take place, cancel it and schedule a new meeting."
)
"""A move of a meeting recorded as already held, its roster not yet taken, to a start still ahead (meetings'
check_not_taken_place): its members were never told of it, so it is not moved ahead but cancelled if it did not take
place."""
STATE_CODES = frozenset(
    {
        *MEETING_STATE_REFUSALS,
        RefusalCode.MEETING_NOT_STARTED,
        RefusalCode.MINUTES_ADOPTED,
        RefusalCode.MINUTES_NOT_SUBMITTED,
        RefusalCode.ROSTER_NOT_RECORDED,
        RefusalCode.MINUTES_OFF_MEETING_DAY,
        RefusalCode.MEETING_UNKNOWN,
    }
)
"""Meetings' refusals about the meeting's state rather than what a form says: said as StateRefusal."""
MEETING_EXISTS_SAID = N_(
    "This meeting is already scheduled, and scheduling never overwrites a meeting. To change its time or place, use "
    "“Reschedule” on the meeting's record page."
)
"""A schedule form sent for a meeting already scheduled (refused with a 409 by the API: domain.check_schedule)."""
SAME_TIME_SAID = N_("Another meeting of the cell starts within an hour of this one.")
"""A schedule form refused by the API's 409 meeting_at_same_time (the page's own check names the other meeting)."""


def held_errors(result: Any, *, names: Mapping[str, str] | None = None) -> dict[str, str]:
    """What a held command waits for and why, in Vietnamese, under the field it names (not recorded yet)."""
    field = result.field or "form"
    name = (names or {}).get(field.removeprefix("data.")) or label(field)
    what = _(HELD_WHAT.get(result.type, HELD_OTHER))
    kind, _colon, ident = (result.waiting_for or "").partition(":")
    code = getattr(result, "reason_code", None)
    if kind == "member" and code in HELD_ON_ROSTER:
        message = _(
            "%(field)s: comrade %(member)s is not on this cell's roster on the meeting's date, so %(what)s are not "
            "recorded yet: they are held until that comrade's record arrives, and will be refused after %(hours)s "
            "hours if it does not.",
            field=name,
            member=ident,
            what=what,
            hours=HOLD_HOURS,
        )
    elif kind == "member" and code == RefusalCode.MEMBER_UNKNOWN:
        message = _(
            "%(field)s: the system has no record of comrade %(member)s yet, so %(what)s are not recorded yet: they "
            "are held until that comrade's record arrives, and will be refused after %(hours)s hours if it does not.",
            field=name,
            member=ident,
            what=what,
            hours=HOLD_HOURS,
        )
    else:
        message = _(
            "%(why)s So %(what)s are not recorded yet: they are held, and will be refused after %(hours)s hours "
            "unless it arrives.",
            # the API names the body's field (handlers.body_field); explain_hold reads the event's path
            why=explain_hold(result.waiting_for, result.reason, held_path(result.field)),
            what=what,
            hours=HOLD_HOURS,
        )
    return {field: message}


def held_path(field: str | None) -> str | None:
    """The event's path (`data.meeting_id`) of a held command's field, which the API names as its body does
    (`meeting_id`: handlers.body_field); None for none."""
    return f"data.{field.removeprefix('data.')}" if field else None


ROSTER_MISSING = N_(
    "Attendance: the roster leaves out comrade %(names)s. Every member of the cell at the meeting's start is listed, "
    "those exempt or transferred with that status; the roster was not recorded."
)
"""A secretary's roster leaving out members (meetings' ROSTER_INCOMPLETE), the first few named."""
ROSTER_MISSING_MORE = N_("%(names)s and %(count)s other comrades")
"""The missing members named, then how many more (`Nguyễn Văn An, Lê Thị Bình và 12 đồng chí khác`)."""
ROSTER_EMPTY = N_("Attendance: the roster lists nobody; give the attendance of every member of the cell.")
"""A roster listing nobody, of a cell with no member at the meeting's start (meetings' ROSTER_INCOMPLETE)."""


def named_comrades(refusal: Any) -> str:
    """The members a roster refusal names (ROSTER_INCOMPLETE, ROSTER_NOT_IN_CELL_AT_START, ROSTER_MISSING_AT_START),
    the first few by name (`member_names`) then how many others (`missing`): `Nguyễn Văn An, Lê Thị Bình và 2 đồng
    chí khác`."""
    names = list(refusal.member_names or [])
    said = ", ".join(isolated_name(name) for name in names)
    others = (refusal.missing or len(names)) - len(names)
    return _(ROSTER_MISSING_MORE, names=said, count=others) if others > 0 else said


ROSTER_NOT_IN_CELL_AT_START = N_(
    "The attendance recorded for this meeting lists comrade %(names)s, who at the new time had not yet joined the cell "
    "or had already left it. The attendance lists only the cell's members on the day of the meeting, so the time was "
    "not corrected: check the day the cell really met."
)
"""A secretary's correction of when a meeting took place refused by meetings' ROSTER_NOT_IN_CELL_AT_START, the first
few members named (`Nguyễn Văn An, Lê Thị Bình và 2 đồng chí khác`)."""


def roster_not_in_cell_at_start(refusal: Any) -> str:
    """What the move form says of meetings' ROSTER_NOT_IN_CELL_AT_START, under the new start: the members the recorded
    attendance lists who were not in the cell then, the first few by name
    (`member_names`) then how many others (`missing`)."""
    said = named_comrades(refusal)
    return _(ROSTER_NOT_IN_CELL_AT_START, names=said)


ROSTER_MISSING_AT_START = N_(
    "The attendance recorded for this meeting leaves out comrade %(names)s, who at the new time was a member of the "
    "cell. The attendance lists every member of the cell on the day of the meeting, so the time was not corrected: "
    "check the day the cell really met."
)
"""A secretary's correction of when a meeting took place refused by meetings' ROSTER_MISSING_AT_START, the first few
members named (`Nguyễn Văn An, Lê Thị Bình và 2 đồng chí khác`)."""


def roster_missing_at_start(refusal: Any) -> str:
    """What the move form says of meetings' ROSTER_MISSING_AT_START, under the new start: the members of the cell then
    whom the recorded attendance leaves out, the first few by name (`member_names`) then how many others
    (`missing`)."""
    said = named_comrades(refusal)
    return _(ROSTER_MISSING_AT_START, names=said)


def roster_incomplete(refusal: Any) -> str:
    """What the roster form says of meetings' ROSTER_INCOMPLETE: the members left out by name, the first few
    (`member_names`) then how many others (`missing`), beside the roster."""
    if not refusal.member_names:
        return _(ROSTER_EMPTY)
    return _(ROSTER_MISSING, names=named_comrades(refusal))


ROSTER_LACKS = N_(
    "Attendance: the recorded roster leaves out comrade %(names)s, a member of the cell at the meeting's start. The "
    "roster was recorded as sent, but the attendance rate counts only those on it: record the attendance of every "
    "member below."
)
"""A stored roster (an integration's: a secretary's is refused, ROSTER_INCOMPLETE) leaving out members of the cell."""


def roster_lacks(members: Mapping[str, Mapping[str, Any]], roster: Mapping[str, Any]) -> str | None:
    """What the record page says of a stored `roster` (member id to its record) leaving out any of `members` (the
    cell's at the meeting's start, id to member, in the order to name them: data.members_by_id), in the words of the
    form's ROSTER_INCOMPLETE (named_comrades: the first NAMED_MEMBERS by name, then how many more); None with no
    roster or a full one. Meetings answers the integration the same warning (ingest `warnings`)."""
    missing = not_listed(members, roster) if roster else []
    if not missing:
        return None
    names = [str(members[member_id].get("full_name") or member_id) for member_id in missing[:NAMED_MEMBERS]]
    refusal = Refusal(code=RefusalCode.ROSTER_INCOMPLETE, member_names=names, missing=len(missing))
    return _(ROSTER_LACKS, names=named_comrades(refusal))


def hold_expired_message(field: str, *, member: str | None) -> str:
    """Why a form sent again is not recorded: its first sending was held and refused when the wait ran out; and what
    to do (have the missing record entered or correct the form, then open the form anew)."""
    if member:
        return _(
            "%(field)s: this form was not recorded: it waited %(hours)s hours for the record of comrade %(member)s, "
            "which did not arrive, so it was refused when the wait ran out. Ask for that comrade's record to be "
            "entered (or correct the form), then open the form again and send it anew.",
            field=field,
            member=member,
            hours=HOLD_HOURS,
        )
    return _(
        "%(field)s: this form was not recorded: it waited %(hours)s hours for data it refers to, which did not "
        "arrive, so it was refused when the wait ran out. Check the form, then open it again and send it anew.",
        field=field,
        hours=HOLD_HOURS,
    )


async def send(
    call: Any,
    *,
    names: dict[str, str] | None = None,
    members: Mapping[str, str] | None = None,
    wording: Mapping[RefusalCode, str] | None = None,
) -> Any:
    """Await a command; a refusal naming a field, or a hold (recorded only later, if ever), becomes FormErrors in
    Vietnamese (`members`, member id to full name: the member a refusal names, by name; `wording`, refusal code to the
    form's own message, N_ marked, over the generic one); the command's answer otherwise. A form with a field holding
    an unstorable character (UNSTORABLE) sends nothing: FormErrors naming it."""
    if UNSTORABLE.get():
        getattr(call, "close", lambda: None)()  # never sent: the coroutine is closed unawaited
        refuse_unstorable()
    try:
        result = await call
        answered = ANSWERED.get()
        if answered is not None:
            answered.append("answered")
    except DataRefused as exc:
        # the shared contract's own limits, which the API body's model may not repeat
        log.info("web_command_refused", field=exc.field, message=exc.message)
        raise FormErrors(messages(exc.errors, names=names)) from None
    except RpcError as exc:
        if exc.code == "conflict" and exc.refusal is not None and exc.refusal.code == RefusalCode.MEETING_EXISTS:
            # a schedule under a meeting id already scheduled (http.commands.meeting_exists): never an overwrite
            log.info("web_command_refused", field=exc.field, message=exc.message)
            raise FormErrors({exc.field or "meeting_id": _(MEETING_EXISTS_SAID)}) from None
        if exc.code == "conflict" and exc.refusal is not None and exc.refusal.code == RefusalCode.MEETING_AT_SAME_TIME:
            # another meeting starts within the hour (http.commands.same_time_conflict), found only now
            log.info("web_command_refused", field=exc.field, message=exc.message)
            raise FormErrors({"confirm_same_time": _(SAME_TIME_SAID)}) from None
        if exc.code != "invalid":
            raise
        log.info("web_command_refused", field=exc.field, message=exc.message)
        field = exc.field or "form"
        name = (names or {}).get(field.removeprefix("data.")) or refused_label(field)
        refusal = exc.refusal  # what meetings says by code: the page never reads its English message
        code = refusal.code if refusal is not None else None
        if refusal is not None and code == RefusalCode.MEMBER_NOT_IN_CELL and refusal.member_id:
            # meetings knows the member was in another cell (or none) on the meeting's date
            message = _(
                "%(field)s: comrade %(member)s is not a member of this cell on the meeting's date, so this was not "
                "recorded. Please choose a member of the cell.",
                field=name,
                member=refusal.member_id,
            )
            raise FormErrors({field: message}) from None
        if refusal is not None and code == RefusalCode.ROSTER_INCOMPLETE:
            raise FormErrors({field: roster_incomplete(refusal)}) from None
        if refusal is not None and code == RefusalCode.ROSTER_NOT_IN_CELL_AT_START:
            # a correction of when a meeting took place to a day some members on its attendance were not the cell's
            raise FormErrors({field: on_field(name, roster_not_in_cell_at_start(refusal))}) from None
        if refusal is not None and code == RefusalCode.ROSTER_MISSING_AT_START:
            # a correction of when a meeting took place to a day members of the cell are not on its attendance
            raise FormErrors({field: on_field(name, roster_missing_at_start(refusal))}) from None
        if code == RefusalCode.MEETING_TOOK_PLACE and field.removeprefix("data.") == "starts_at":
            # a move of a meeting that took place to a start still ahead: a past start (a correction) is taken
            raise FormErrors({field: on_field(name, _(TOOK_PLACE_MOVED_AHEAD))}) from None
        if code is not None and wording and code in wording:
            said = on_field(name, _(wording[RefusalCode(code)]), said=N_("%(field)s: %(why)s"))
            raise FormErrors({field: StateRefusal(said) if code in STATE_CODES else said}) from None
        if code == RefusalCode.ABSENT_AT_MEETING:
            # the roster changed since the form checked it: still the member by name, not "this member", and the one
            # role at fault
            member = refusal.member_id if refusal is not None else None
            said = absent_at_meeting(field, (members or {}).get(member or "") or member)
            raise FormErrors({field: said}) from None
        if code == RefusalCode.HOLD_EXPIRED:
            # the same form sent again after its first sending waited out the hold: not recorded, and not sent again
            raise FormErrors(
                {field: hold_expired_message(name, member=refusal.member_id if refusal else None)}
            ) from None
        if code in MEETING_STATE_REFUSALS:
            raise FormErrors({field: StateRefusal(_(MEETING_STATE_REFUSALS[RefusalCode(code)]))}) from None
        if code in BY_CODE:  # any other rule with a code (minutes adopted before the meeting began, ...)
            why = on_field(name, _(BY_CODE[RefusalCode(code)]), said=N_("%(field)s: %(why)s"))
            raise FormErrors({field: StateRefusal(why) if code in STATE_CODES else why}) from None
        raise FormErrors({field: _("%(field)s: not accepted by the system.", field=name)}) from None
    if getattr(result, "outcome", None) == "held":
        # meetings parked the command (it names something it does not know on the meeting's date): the page must
        # not say it was recorded, since it is refused after the wait unless what it waits for arrives
        log.info("web_command_held", field=result.field, waiting_for=result.waiting_for, reason=result.reason)
        raise FormErrors(held_errors(result, names=names))
    return result


ABSENT_IN_ROLE = {
    "chair_id": (
        N_("Comrade %(name)s is absent according to the roster, so cannot be the chair."),
        N_("This member is absent according to the roster, so cannot be the chair."),
    ),
    "recorder_id": (
        N_("Comrade %(name)s is absent according to the roster, so cannot be the recorder."),
        N_("This member is absent according to the roster, so cannot be the recorder."),
    ),
    "speakers": (
        N_("Comrade %(name)s is absent according to the roster, so cannot be a speaker."),
        N_("This member is absent according to the roster, so cannot be a speaker."),
    ),
}
"""What the minutes form says of a chair, recorder or speaker the roster lists as not present (named, or unnamed):
the one role at fault (a trial read "cannot chair, record or speak" under each field alike)."""
NOT_PRESENT_IN_ROLE = {
    "chair_id": N_("Comrade %(name)s is marked “%(status)s” on the roster, so cannot be the chair."),
    "recorder_id": N_("Comrade %(name)s is marked “%(status)s” on the roster, so cannot be the recorder."),
    "speakers": N_("Comrade %(name)s is marked “%(status)s” on the roster, so cannot be a speaker."),
}
"""The same of a member the roster lists as neither present nor absent (exempt, temporarily elsewhere), by the status
the roster gives: a trial's exempt speaker was said "absent according to the roster", which the roster did not say."""
ABSENT_STATUSES = frozenset({"absent", "excused"})


def absent_at_meeting(field: str, name: str | None, *, status: str | None = None) -> str:
    """`Đồng chí <tên> vắng mặt theo điểm danh nên không thể là người chủ trì.`: a chair, recorder or speaker the
    meeting's roster lists as not present (meetings' check_minutes_people_present), named when `name` is known, by
    the role its `field` (`chair_id`, `data.recorder_id`, `speakers-<id>`, `data.speakers.2`) gives it; a known
    roster `status` other than absent (exempt, transferred) is said as the roster says it (`được ghi “Miễn sinh
    hoạt”`)."""
    role = field.removeprefix("data.").partition("-")[0].split(".")[0]
    if role not in ABSENT_IN_ROLE:
        why = _(BY_CODE[RefusalCode.ABSENT_AT_MEETING])
        return on_field(refused_label(field), why, said=N_("%(field)s: %(why)s"))
    if name and status is not None and status not in ABSENT_STATUSES and status in LABELS["attendance"]:
        return _(NOT_PRESENT_IN_ROLE[role], name=isolated_name(name), status=_(LABELS["attendance"][status]))
    named, unnamed = ABSENT_IN_ROLE[role]
    return _(named, name=isolated_name(name)) if name else _(unnamed)


FORM_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
"""A form's one-time key as core.new_form_key writes it."""


async def posted_form(request: Request) -> Any:
    """The request's parsed form (Starlette's FormData), its raw body read and kept first (Request.body caches it) so
    form_of can judge the bytes Starlette's parsing replaces: every reading of a posted form goes through here. An
    urlencoded body is read as UTF-8 whether its bytes are percent-encoded or not (urlencoded_pairs): Starlette
    reads raw bytes as Latin-1 (a trial's raw `Chi bộ Đồng Tâm` was stored as `Chi bá»…`, a character a byte)."""
    body = await request.body()
    form = await request.form()  # Starlette's limits (fields, sizes) and its cache, which later readings take
    if _media(request.headers.get("content-type", "")) == URLENCODED:
        form = FormData([(name, value) for name, value in urlencoded_pairs(body)])
        request._form = form  # the cache Request.form answers from: one reading for the CSRF check and the handler
    return form


URLENCODED = "application/x-www-form-urlencoded"


def _media(content_type: str) -> str:
    """The media type of a Content-Type header (`application/x-www-form-urlencoded; charset=utf-8` → its first
    part), lower-cased."""
    return content_type.partition(";")[0].strip().lower()


def urlencoded_pairs(body: bytes) -> list[tuple[str, str]]:
    """[(name, value)] of an application/x-www-form-urlencoded body, as the WHATWG URL standard parses one: split on
    `&` (empty sequences skipped), name and value at the first `=`, `+` read as a space, then percent-decoded to
    bytes and those decoded as UTF-8 (an invalid sequence as U+FFFD, which undecodable_fields refuses), raw bytes and
    percent-encoded ones alike."""
    pairs = []
    for sequence in body.split(b"&"):
        if sequence:
            name, _equals, value = sequence.partition(b"=")
            pairs.append((_form_text(name), _form_text(value)))
    return pairs


def _form_text(raw: bytes) -> str:
    """An urlencoded name or value as text: `+` a space, percent-decoded, UTF-8 (invalid bytes U+FFFD)."""
    return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8", "replace")


async def form_of(request: Request, labels: FormLabels) -> Any:
    """The submitted form (already parsed once for the CSRF check; Starlette caches it), its `labels` (FORM: what its
    refusals call its inputs, as its page shows them), its unstorable fields (UNSTORABLE: a character no text is
    stored with, bytes that are not valid UTF-8, or in an input that is no free text a character `text` would drop)
    noted for every refusal; its one-time key goes on the request's state (FORM_KEY) and in USED_KEY, where the
    command it sends and the ids it makes read it (a resent form is the same event): the key it carries, or, for a
    form without one (a page kept open from before forms had keys, a form typed by hand), session_form_key."""
    FORM.set(labels)
    form = await posted_form(request)
    undecodable = undecodable_fields(request.headers.get("content-type", ""), await request.body())
    UNSTORABLE.set(refused_characters(form, undecodable))
    key = text(form, FORM_KEY)
    used = key if FORM_KEY_PATTERN.match(key) else session_form_key(text(form, "csrf"), request.url.path)
    USED_KEY.set(used)
    if used is not None:
        setattr(request.state, FORM_KEY, used)
    return form


USED_KEY: ContextVar[str | None] = ContextVar("form_key_used", default=None)
"""The one-time key of the form being handled (form_of sets it): its own, else the one session_form_key derives."""


def session_form_key(csrf: str, path: str) -> str | None:
    """The one-time key of a form sent without one (no valid `form_key`): derived from the session's CSRF token, which
    it carries (a secret of the session), and the address it is sent to, so the same form sent again from the same
    session is the same command (its event id also covers what was asked: a changed form is another command), and a
    "perhaps saved" answer can give it back to change and send again as a keyed form's is (core.form_again_page);
    None without a token (nothing to derive it from)."""
    if not csrf:
        return None
    return hashlib.sha256(f"chibo-form-key\n{csrf}\n{path}".encode()).hexdigest()[:32]


def with_row_names(form: Any, names: Mapping[str, str]) -> None:
    """Name the rows of the form being handled (FORM) that are keyed by an id (`reason-<member>`) by `names` (id →
    name, as the page shows them: a member's full name) in every refusal from now on, its unstorable fields already
    noted (UNSTORABLE, read from the posted `form`) said again: `Lý do vắng của đồng chí Nguyễn Văn An: có một ký tự
    không lưu được (U+0000); …`, never the same `Lý do vắng` for every member."""
    labels = FORM.get()
    if labels is None:
        return
    FORM.set(named := dataclasses.replace(labels, names={**labels.names, **names}))
    said = dict(UNSTORABLE.get())
    for name in said:
        if named.find(name) is None:
            continue  # an input this form has not (another part of its page's: kept as that part names it)
        found = refused_characters(FormData([(name, value) for value in form.getlist(name)]))
        said[name] = found.get(name) or not_utf8_message(name)
    UNSTORABLE.set(said)


def derived_id(form: Any, *parts: object, prefix: str, length: int = 20) -> str:
    """An id of something the form creates (a task of the minutes): the same for the same form sent again (derived
    from its one-time key, or the one form_of derived for it: USED_KEY), a new one when it has neither."""
    key = text(form, FORM_KEY)
    if not FORM_KEY_PATTERN.match(key):
        key = USED_KEY.get() or ""
    if not FORM_KEY_PATTERN.match(key):
        return f"{prefix}{uuid.uuid4().hex[:length]}"
    said = "\n".join(str(part) for part in (key, *parts))
    return f"{prefix}{hashlib.sha256(said.encode()).hexdigest()[:length]}"
