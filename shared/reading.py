"""Strict, bounded reading of JSON (CONTRACT.md "Reading an event"): the one place every door goes through.

`loads` turns bytes into Python values without ever crashing on hostile input (bad UTF-8, NaN and
Infinity, numbers too large for a float, nesting deep enough to blow the parser's stack); `check_tree`
then walks a parsed value and refuses what no event may hold (nesting beyond 32 levels, U+0000, an
unpaired surrogate, a non-finite number, a key given twice in one object), naming the field, and returns
it with every text in NFC.
Both the AMQP consumer and the gateway's HTTP route (through meetings' `ingest_body`), replays and bulk
loads read events through `shared.envelope.parse_envelope`, which calls these.
"""

import json
import math
import re
import sys
import unicodedata
from itertools import chain
from typing import Any

from pydantic_core import from_json, to_json

from shared.refusals import replay_can_pass

MAX_EVENT_BYTES = 1 << 20
"""One event at most 1 MiB."""
MAX_DEPTH = 32
"""JSON nested at most 32 levels (the event object itself is level 1)."""
MAX_FIELD_TEXT = 200
"""A field path quoted in a reason is cut to this many characters (keys are client text too)."""
EXTENSION_VALUE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
"""The syntax of an extension attribute such as `correlationid`."""


_COMPACT_LOOKING = '": '
"""What the default `json.dumps` writes after each key and the compact form never outside a text: text without it
is worth reading the fast way first (read_compact), text with it goes straight to the hooks."""


class ReadError(ValueError):
    """Input that breaks a reading rule: `reason` for people, `field` the dotted path (or `body`).

    `problem` says what kind of body-level fault it is, for the HTTP status: `syntax` (not JSON at all),
    `too_large`, or None for a value that was read but breaks a rule.
    """

    def __init__(self, reason: str, *, field: str, problem: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.problem = problem


class _NonFinite:
    """Stands for a NaN, an Infinity or a number too large for a float until `check_tree` names its field."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


MAX_NUMBER_DIGITS = sys.get_int_max_str_digits() or 4300
"""The most digits a JSON integer may have: Python reads no longer one (its integer string conversion limit)."""


class _TooLong:
    """Stands for an integer of more digits than MAX_NUMBER_DIGITS until `check_tree` names its field (Python's own
    refusal names no field and tells the reader to call sys.set_int_max_str_digits())."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


def number_too_long(text: str) -> str:
    """What a refusal says of an integer of too many digits, after its field's name."""
    return digits_too_many(len(text.lstrip("-")))


def digits_too_many(digits: int, most: int = MAX_NUMBER_DIGITS) -> str:
    """number_too_long's words for an integer of `digits` digits where at most `most` are read."""
    return f"number too long ({digits} digits; at most {most})"


def integer(text: str) -> Any:
    """The `parse_int` of a JSON read that met an integer Python does not read: the integer, or a stand-in for one
    of too many digits that `check_tree` refuses naming its field."""
    try:
        return int(text)
    except ValueError:
        return _TooLong(text)


def loads_numbers(text: str, **hooks: Any) -> Any:
    """`json.loads(text, **hooks)`, whose integers of too many digits are read as stand-ins check_tree names (never
    Python's ValueError telling the sender about sys.set_int_max_str_digits()); the plain read first, the hook only
    when it failed for such an integer, so nothing is slower for the bodies that have none."""
    try:
        return json.loads(text, **hooks)
    except json.JSONDecodeError:
        raise
    except ValueError:  # an integer of more digits than Python reads: read again, each such integer a stand-in
        return json.loads(text, parse_int=integer, **hooks)


class _Duplicated(dict[str, Any]):
    """An object that named a key twice (its last value kept), until `check_tree` names the key's path."""

    __slots__ = ("duplicate",)

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                self.duplicate = key
                break
            seen.add(key)


class Unreadable:
    """Stands for a part of a message that should hold JSON but does not read (a binary-mode body under a JSON
    content type), until `check_tree` names its field and says why; its text is kept for the rejection."""

    __slots__ = ("text", "problem", "reason")

    def __init__(self, text: str, problem: str, *, reason: str | None = None) -> None:
        self.text = text
        self.problem = problem
        self.reason = reason
        """What the refusal says after the field's name, when not `not valid JSON (problem)`."""

    def __str__(self) -> str:
        return self.text


def json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """The `object_pairs_hook` of every JSON read: a dict, marked when a key repeats (JSON leaves that undefined;
    an event must not mean two things, so `check_tree` refuses it naming the key)."""
    found = dict(pairs)
    return found if len(found) == len(pairs) else _Duplicated(pairs)


NOT_JSON = "body: not valid JSON"
"""How the refusal of a body that is not JSON begins (read_json): kept whole, it is refused again for the same reason
when replayed as it was (body_reads_no_json)."""
TOO_DEEP = "body: JSON nested deeper than"
"""How the refusal of a body nested deeper than MAX_DEPTH begins: as unreadable again when replayed as it was."""
_READS_NO_JSON = re.compile(r"(?:body|data): not valid JSON|[^\n]*?: JSON nested deeper than [0-9]+ levels$")
"""Every refusal of a body that cannot be read again, whatever the route and content mode (CONTRACT.md "Routes in"):
a structured body not JSON or nested too deep (NOT_JSON, TOO_DEEP, or deep under a field: `data.agenda: JSON nested
deeper than`), and a binary-mode body, the event's `data`, that is not JSON (not UTF-8 either) or nested too deep
(shared.bindings: `data: not valid JSON (why)`, `data: JSON nested deeper than`). Stored as its structured form with
that text as a string, such a body replayed as it was is only refused again."""


def body_reads_no_json(reason: str | None) -> bool:
    """Whether a rejection's `reason` says its body (a structured body, or a binary-mode body as its `data`) could not
    be read as JSON or was nested too deep (_READS_NO_JSON), so replayed as it was it can only be refused again."""
    return bool(reason) and _READS_NO_JSON.match(str(reason)) is not None


_REFUSED_AS_SENT = re.compile(
    r"datacontenttype: the content type .* is no CloudEvents content type"
    r"|not a CloudEvent: .* but the content type is absent"
    r"|body: a batch must be a JSON array|body: a batch holds at (?:most [0-9]+ events|least one event)"
    r"|body: an event must be a JSON object"
    r"|body: "
)
"""Every refusal of a body kept whole that a replay as it was would refuse again for the same reason, besides one
that reads as no JSON (_READS_NO_JSON) or of a header (_HEADER_REFUSED): sent under a content type no mode reads
(shared.bindings.neither_mode: not a CloudEvents content type, or none and no attribute header), a batch envelope
that is no batch (not an array, empty, over MAX_BATCH_SIZE events: shared.envelope.read_batch), a body or batch
item that is no JSON object, and every other refusal of the body as a whole (`body: `: empty, not an event; a body
over a size limit is kept cut, body_not_kept): the message's own bytes decide those (a trial's empty AMQP body was
offered "Xét lại" and its replay answered `body: empty` again). Nothing a later fix of referenced data changes
makes such a body pass; only a corrected event (or the sender again) can."""
_HEADER_REFUSED = re.compile(
    r"(?s:.*?): (?:the header prefix '.*?' is not one CloudEvents attributes are read under on "
    r"|given more than once in the headers \(|the header's value is not UTF-8 \(|the header's percent-encoding is "
    r"malformed \()"
    r"|datacontenttype: in binary mode it travels in the message's content type"
    r"|time: the AMQP timestamp -?[0-9]+ ms in (?s:.*) is no time a calendar has$"
)
"""Every refusal of a binary-mode message's attribute header, whatever the route (shared.bindings: misprefixed, a
`ce_type` or `cloudevents-id` under a prefix the route does not read; binary_attributes, an attribute given twice,
`datacontenttype` as a header, a value not UTF-8 or wrongly percent-encoded, an AMQP timestamp no calendar has).
The headers are not kept: the rejection keeps the event as the sender meant it, each refused header's value among
its attributes, so a replay of that body read it as a structured event and let through what the headers' first
reading refused (a trial's `ce_type` came back held). As sent, the headers are refused again for the same reason."""


def refused_again_as_sent(reason: str | None) -> bool:
    """Whether a rejection's `reason` says its message, replayed as it was, is certain to be refused again for the
    same reason (body_reads_no_json; _REFUSED_AS_SENT: content type refused, in no content mode, batch envelope invalid
    or over the count, no JSON object; _HEADER_REFUSED: an attribute header refused, on either route); meetings'
    not_replayable_as_sent judges by it, the one rule the API, the command line and (by the reply's
    `not_replayable_reason`) the operations page replay by."""
    if body_reads_no_json(reason):
        return True
    text = str(reason or "")
    return bool(text) and (_REFUSED_AS_SENT.match(text) is not None or _HEADER_REFUSED.match(text) is not None)


NOT_UTF8 = "body: not valid UTF-8"
"""How the refusal of a body whose bytes are not UTF-8 begins: its text, kept with a rejection, has U+FFFD in place of
the bytes that did not decode, so it is not the body as sent (meetings' body_not_kept)."""


KEPT_MARK = "… ("
"""How the end KEPT_PREFIX recognises begins: a match starts at the stored text's last KEPT_MARK (what follows it in
a match holds none), so that text from there on decides as the whole does (KEPT_TAIL_SQL)."""
KEPT_PREFIX = re.compile(re.escape(KEPT_MARK) + r"(?:more than )?[0-9]+ bytes in all\)$")
"""How meetings' bounded_text ends the stored prefix of an event too large to keep whole (and cut_text a body the
gateway cut at its limit: "more than" when it streamed in without a length)."""
KEPT_TAIL_SQL = "right({raw}, strpos(reverse({raw}), '" + KEPT_MARK[::-1] + "') + " + str(len(KEPT_MARK) - 1) + ")"
"""SQL for a stored body's text from its last KEPT_MARK on (its last few characters when it has none), `{raw}` the
column: where any kept-prefix ending must begin, so body_not_kept decides by it as by the whole text, which is not
read (up to a megabyte a row)."""


def body_not_kept(raw: str | None, reason: str | None) -> str | None:
    """Why a stored rejection's (or attempt's) body `raw` (or its KEPT_TAIL_SQL tail) is not the body as sent: `cut`
    (only a prefix and its size were kept, KEPT_PREFIX), `not_utf8` (its `reason` says its bytes were not UTF-8, so
    the text kept has U+FFFD for them); None when it was kept whole."""
    if KEPT_PREFIX.search(str(raw or "")):
        return "cut"
    if str(reason or "").startswith(NOT_UTF8):
        return "not_utf8"
    return None


def names_an_event(source: str | None, event_id: str | None, event_type: str | None) -> bool:
    """Whether a stored rejection's body named an event (its `source` or `id`, as its row keeps them) or is a batch
    (`type` batch, whose events name themselves); a single body that named neither is no event, and read again as it
    was it can only be refused again for the same reason (meetings' replay reads it so: handlers.ingest.read_body)."""
    return bool(source or event_id) or event_type == "batch"


def not_replayable_reason(
    raw: str | None, reason: str | None, refusal: object = None, *, names_event: bool = True
) -> str | None:
    """Why a stored rejection (or attempt: its body `raw`, or its KEPT_TAIL_SQL tail, and `reason`) cannot be judged
    again as it was sent, the first that applies, as a RefusalCode value (shared.refusals): `body_not_kept`
    (body_not_kept), `body_reads_no_json`, `refused_again_as_sent` (by its reason's text, or by its `refusal`'s code
    when the event's own bytes decide it: shared.refusals.REPLAY_CAN_PASS, e.g. a reserved source, or because the
    body named no event: `names_event` False, names_an_event); None when it can.
    The one rule meetings' replay refuses by (handlers.ingest.not_replayable_as_sent), its reply's
    `not_replayable_reason` says and the command line's `rejections list` shows."""
    if body_not_kept(raw, reason):
        return "body_not_kept"
    if body_reads_no_json(reason):
        return "body_reads_no_json"
    if refused_again_as_sent(reason) or not replay_can_pass(refusal) or not names_event:
        return "refused_again_as_sent"
    return None


def replayable_fields(
    raw: str | None, reason: str | None, refusal: object = None, *, names_event: bool = True
) -> dict[str, Any]:
    """A stored rejection's (or attempt's) body `raw` (or its KEPT_TAIL_SQL tail) and `reason` as its readers are told
    them: `body_not_kept` (body_not_kept), `not_replayable_reason` (not_replayable_reason, `names_event` as there) and
    `replayable_as_sent` (exactly when that is None); meetings' rejection reply and the command line's `rejections
    list` say these."""
    code = not_replayable_reason(raw, reason, refusal, names_event=names_event)
    return {
        "body_not_kept": body_not_kept(raw, reason),
        "not_replayable_reason": code,
        "replayable_as_sent": code is None,
    }


def loads(raw: bytes | str, *, limit: int | None = MAX_EVENT_BYTES) -> Any:
    """Parse JSON text; ReadError(field="body") for empty, oversized, non-UTF-8, malformed or too deep input."""
    return read_value(raw, limit=limit)[0]


def read_value(raw: bytes | str, *, limit: int | None = MAX_EVENT_BYTES, levels: int = MAX_DEPTH) -> tuple[Any, bool]:
    """Parse JSON text as `loads` does; with it, whether the value is certainly clean: `check_tree` would find
    nothing to refuse or change in it (at most `levels` levels, no U+0000, surrogate, non-finite number or key
    given twice, text in NFC), so a caller may skip that walk. False only means "walk it": the walk names the field."""
    if limit is not None and len(raw) > limit:
        raise ReadError(f"body: larger than {limit} bytes", field="body", problem="too_large")
    decoded = isinstance(raw, bytes | bytearray)  # text decoded here as UTF-8 holds no surrogate
    if isinstance(raw, bytes | bytearray):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ReadError(f"{NOT_UTF8} ({exc.reason} at byte {exc.start})", field="body", problem="syntax") from None
    if _COMPACT_LOOKING not in raw:  # json.dumps writes `": ` after every key; the relay's compact form never does
        compact = read_compact(raw, limit=None, levels=levels)
        if compact is not None:
            return compact, True
    if not raw.strip():
        raise ReadError("body: empty", field="body", problem="syntax")
    marked: list[bool] = []  # something check_tree must name: a non-finite number, an object with a key twice

    def constant(text: str) -> _NonFinite:
        marked.append(True)
        return _NonFinite(text)

    def number(text: str) -> float | _NonFinite:
        value = float(text)
        return value if math.isfinite(value) else constant(text)

    def json_object_marked(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        found = dict(pairs)
        if len(found) == len(pairs):
            return found
        marked.append(True)
        return _Duplicated(pairs)

    try:
        try:
            value = json.loads(raw, parse_constant=constant, parse_float=number, object_pairs_hook=json_object_marked)
        except json.JSONDecodeError:
            raise
        except ValueError:  # an integer of more digits than Python reads: read again, check_tree names its field
            marked.append(True)
            value = json.loads(
                raw,
                parse_constant=constant,
                parse_float=number,
                parse_int=integer,
                object_pairs_hook=json_object_marked,
            )
    except RecursionError:
        raise ReadError(f"{TOO_DEEP} {MAX_DEPTH} levels", field="body", problem="syntax") from None
    except ValueError as exc:
        raise ReadError(f"{NOT_JSON} ({exc})", field="body", problem="syntax") from None
    return value, not marked and _clean(raw, value, levels=levels, decoded=decoded)


def _clean(text: str, value: Any, *, levels: int, decoded: bool) -> bool:
    """Whether `value`, read by JSON from `text`, holds nothing `check_tree` refuses or changes, without walking
    its text: no `\\u` escape in the text (the only way JSON writes U+0000, a surrogate or a combining mark
    that escapes the text's NFC; a raw control character is no JSON), the whole text in NFC (a quote composes
    with nothing, so each string in it is NFC too), and containers nested at most `levels` levels. Text given
    as `str` (not `decoded` here from UTF-8) may hold a surrogate itself: it must encode."""
    if "\\u" in text:
        return False
    if not text.isascii():
        if not decoded and not _encodes(text):
            return False
        if not unicodedata.is_normalized("NFC", text):
            return False
    # no more brackets than levels: no deeper nesting either (brackets in text only count more), no walk needed
    return text.count("{") + text.count("[") <= levels or _nested_within(value, levels)


_CONTAINERS = frozenset({dict, list})


def _nested_within(value: Any, levels: int) -> bool:
    """Whether no container sits `levels` levels below the value (check_tree's depth rule), level by level."""
    level = [value] if type(value) in _CONTAINERS else []
    for _ in range(levels):
        if not level:
            return True
        values = chain.from_iterable(item.values() if type(item) is dict else item for item in level)
        level = [item for item in values if type(item) in _CONTAINERS]
    return not level


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def event_over_limit(size: int) -> str:
    """Why an event of `size` bytes is refused: over the per-event limit MAX_EVENT_BYTES (CONTRACT.md, 1 MiB), alone or
    in a batch, on every route and in every consumer; the reason names `body` (its size), as the HTTP route's 413."""
    return f"body: larger than {MAX_EVENT_BYTES} bytes ({size} bytes)"


def body_over_limit(limit: int) -> str:
    """Why an HTTP ingestion body over the gateway's limit (CHIBO_MAX_BODY_BYTES) is refused, in the gateway's 413 and
    in the rejection meetings stores alike: none of its events was judged, and the sender splits the batch."""
    return (
        f"body: larger than {limit} bytes, the limit of one HTTP request (CHIBO_MAX_BODY_BYTES); none of its events"
        " was judged: split the batch into smaller ones (each event at most 1 MiB) and send each"
    )


def field_name(path: tuple[str | int, ...], *, prefix: str = "") -> str:
    """A dotted field path (`data.records.3.member_id`), cut to a bounded length."""
    name = prefix + ".".join(
        bounded(part, limit=MAX_FIELD_TEXT) if isinstance(part, str) else str(part) for part in path
    )
    name = name or "body"
    return name if len(name) <= MAX_FIELD_TEXT else name[: MAX_FIELD_TEXT - 1] + "…"


def unstorable_character(value: str) -> str | None:
    """The character of `value` no stored text may hold (U+0000, else its first surrogate), or None: the one rule.

    U+0000 PostgreSQL's text refuses; a surrogate no UTF-8 encodes (text decoded from UTF-8 or JSON holds one only
    unpaired). check_text (every event, API body) and the web forms (forms.unstorable_fields) both refuse by it."""
    if "\x00" in value:
        return "\x00"
    if value.isascii():
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return value[exc.start]
    return None


def check_text(value: str, path: tuple[str | int, ...]) -> str:
    """The text in NFC; ReadError naming the field holding U+0000 or an unpaired surrogate: unstorable_character."""
    unstorable = unstorable_character(value)
    if unstorable is not None:
        said = "U+0000" if unstorable == "\x00" else "an unpaired surrogate"
        raise ReadError(f"{field_name(path)}: contains {said}", field=field_name(path))
    if value.isascii():
        return value
    return value if unicodedata.is_normalized("NFC", value) else unicodedata.normalize("NFC", value)


def _deep_field(path: tuple[str | int, ...]) -> str:
    """The named part of a too-deep path: its keys up to the first list index (`data.agenda`)."""
    named: list[str | int] = []
    for part in path:
        if isinstance(part, int):
            break
        named.append(part)
    return field_name(tuple(named)) if named else "body"


def check_tree(value: Any, path: tuple[str | int, ...] = (), *, levels: int = MAX_DEPTH) -> Any:
    """The value with NFC text, or ReadError naming the field that breaks a reading rule (`levels`: the deepest
    nesting allowed, an event's by default; the gateway's API bodies have their own limit)."""
    if len(path) >= levels and isinstance(value, dict | list):
        field = _deep_field(path)
        raise ReadError(f"{field}: JSON nested deeper than {levels} levels", field=field)
    if isinstance(value, str):
        return check_text(value, path)
    if isinstance(value, dict):
        if type(value) is _Duplicated:
            field = field_name((*path, value.duplicate))
            raise ReadError(f"{field}: duplicate key", field=field)
        checked: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ReadError(f"{field_name(path)}: keys must be text", field=field_name(path))
            key = check_text(key, (*path, key))
            checked[key] = check_tree(item, (*path, key), levels=levels)
        return checked
    if isinstance(value, list):
        return [check_tree(item, (*path, index), levels=levels) for index, item in enumerate(value)]
    if isinstance(value, _NonFinite) or (isinstance(value, float) and not math.isfinite(value)):
        raise ReadError(f"{field_name(path)}: not a finite number", field=field_name(path))
    if isinstance(value, _TooLong):
        raise ReadError(f"{field_name(path)}: {number_too_long(value.text)}", field=field_name(path))
    if isinstance(value, Unreadable):
        said = value.reason or f"not valid JSON ({value.problem})"
        raise ReadError(f"{field_name(path)}: {said}", field=field_name(path))
    return value


def bounded(value: Any, *, limit: int = 256) -> str:
    """Text copied from unjudged input (a peeked id, source or type) cut to `limit` characters."""
    if not isinstance(value, str):
        return ""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    value = value.replace("\x00", "")
    return value if len(value) <= limit else value[: limit - 1] + "…"


def read_compact(text: str, *, limit: int | None = MAX_EVENT_BYTES, levels: int = MAX_DEPTH) -> Any | None:
    """The value of JSON text that `read_value` would find clean, read at native speed, when the text is in the
    compact form (`json.dumps(value, ensure_ascii=False, separators=(",", ":"))`, which pydantic's writer matches,
    writes it back exactly), nested at most `levels` levels; else None (also for the text `null`), and the caller
    reads it with `read_value` (which tries this first for text that looks compact). Writing the value back exactly
    proves it is the value `json.loads` reads and that what the hooks of `read_value` look for is absent: a key
    given twice would be written once, a NaN or an overflowing number as null, a number read otherwise otherwise."""
    if limit is not None and len(text) > limit:
        return None
    try:
        value = from_json(text, allow_inf_nan=False)  # pydantic's JSON reader (jiter): a third of json.loads's time
        if to_json(value, inf_nan_mode="null") != text.encode():
            return None
    except (ValueError, TypeError, RecursionError):  # not JSON, a surrogate in the text, too deep: the slow path
        return None
    return value if _clean(text, value, levels=levels, decoded=False) else None
