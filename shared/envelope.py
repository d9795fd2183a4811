"""The CloudEvents 1.0 structured-mode envelope every message travels in (CONTRACT.md)."""

import calendar
import os
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    SerializerFunctionWrapHandler,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_core import to_json

from shared.periods import PERIOD_FORMS_OF, VIETNAM_TZ, period_expected
from shared.plausible import day_problem, meeting_time_problem
from shared.reading import (
    EXTENSION_VALUE,
    MAX_DEPTH,
    MAX_EVENT_BYTES,
    ReadError,
    bounded,
    check_tree,
    field_name,
    read_value,
)
from shared.refusals import Refusal, RefusalCode
from shared.text import BLANK_SAID, has_text

GATEWAY_SOURCE = "urn:chibo:gateway"
"""The `source` of the events the gateway makes of people's commands (a secretary's form or API call), timed by
this system's own clock when the command is made; no integration may send under it (urn:chibo: is reserved)."""
RESERVED_SOURCE_PREFIX = "urn:chibo:"
"""The sources of this system's own producers (urn:chibo:gateway, urn:chibo:meetings, urn:chibo:demo-seed, ...): no
integration sends under one, and no account registers one (is_reserved_source)."""

HELD_EXTENSION = "alreadyheld"
"""The CloudEvents extension attribute (boolean `true`) on the gateway's meeting.scheduled.v1 of a secretary's command
"record a meeting already held" (`already_held` in the API): meetings then takes a start already past, within
shared.plausible.HELD_RECORD_WINDOW, where it refuses it for a plain schedule. Read only on GATEWAY_SOURCE events
(an integration's schedule may be past anyway). CONTRACT.md's data of meeting.scheduled.v1 has no field for it, so
it stays on the command's envelope; the event meetings re-publishes carries the contract's data alone, whose
`notified_at` (the moment it was recorded, after the start, unless the secretary gave an earlier one) tells every
listener that no notice went before the meeting."""

SAME_TIME_EXTENSION = "confirmsametime"
"""The CloudEvents extension attribute (boolean `true`) on the gateway's meeting.scheduled.v1 of a secretary who
confirmed (`confirm_same_time` in the API) that the meeting is another one than a meeting of the cell starting
within shared.plausible.SAME_START_WINDOW of it: meetings then schedules it where it refuses it otherwise
(MEETING_AT_SAME_TIME, judged under the cell's lock). Read only on GATEWAY_SOURCE events; like HELD_EXTENSION, no
part of the contract's data."""


def recorded_as_held(event: "CloudEvent") -> bool:
    """Whether the envelope carries HELD_EXTENSION set to JSON `true` (any other value: not recorded as held)."""
    return (event.model_extra or {}).get(HELD_EXTENSION) is True


def same_time_confirmed(event: "CloudEvent") -> bool:
    """Whether the envelope carries SAME_TIME_EXTENSION set to JSON `true` (any other value: not confirmed)."""
    return (event.model_extra or {}).get(SAME_TIME_EXTENSION) is True


def is_reserved_source(source: str) -> bool:
    """Whether `source` is one of this system's own (urn:chibo:...), in any case: a URN's `urn` and namespace are
    case-insensitive (RFC 8141), so URN:CHIBO:gateway names the same namespace."""
    return source[: len(RESERVED_SOURCE_PREFIX)].lower() == RESERVED_SOURCE_PREFIX


CLOUDEVENT_CONTENT_TYPE = "application/cloudevents+json"
BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"
BATCH_ROUTING_KEY = "batch"
MAX_BATCH_SIZE = 1000

ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
NonEmpty = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
ExtensionValue = Annotated[str, StringConstraints(pattern=EXTENSION_VALUE.pattern)]
"""An extension attribute's value: at most 128 characters of `A-Za-z0-9._:-` (CONTRACT.md)."""
_URI_REFERENCE = re.compile(
    r"(?:[A-Za-z][A-Za-z0-9+.-]*:|(?=[^:/?#]*(?:[/?#]|$)))(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*"
)
"""RFC 3986 URI-reference, as CloudEvents' `source` is: a scheme, or a relative reference whose first segment has no
colon; then only URI characters and whole percent-encodings (no space, no raw non-ASCII)."""


@lru_cache(maxsize=4096)
def is_uri_reference(value: str) -> bool:
    """Whether `value` is a URI-reference (RFC 3986 section 4.1), as a CloudEvents `source` must be (cached: a
    stream names few sources, and the match cost 3 % of meetings' CPU in a province-year profile)."""
    return _URI_REFERENCE.fullmatch(value) is not None


def _uri_reference(value: str) -> str:
    """`value` if it is a URI-reference (is_uri_reference), else ValueError."""
    if not is_uri_reference(value):
        raise ValueError("not a URI reference (RFC 3986), such as urn:example:system or https://example.vn/system")
    return value


URI_REFERENCE_PATTERN = f"^(?:{_URI_REFERENCE.pattern})$"
"""_URI_REFERENCE as a whole-text JSON Schema `pattern` (its lookahead is ECMA-262 as well as Python)."""
Uri = Annotated[
    str,
    StringConstraints(min_length=1, max_length=256),
    AfterValidator(_uri_reference),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": 256,
            "pattern": URI_REFERENCE_PATTERN,
            "description": "An RFC 3986 URI-reference (such as urn:example:system), at most 256 characters.",
        }
    ),
]

_RFC3339 = re.compile(
    r"^([0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}):([0-9]{2})(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
TIME_MAX_LENGTH = 128
"""The longest time text read (characters): RFC 3339 allows any number of fraction digits (`time-secfrac = "."
1*DIGIT`), CONTRACT.md bounds every value it reads; 128 is an extension attribute's bound, room for 100 digits.
Digits below the nanosecond are dropped (sub_microsecond): times equal to the nanosecond tie, and break by `id`."""
TIME_TOO_LONG = f"a time is at most {TIME_MAX_LENGTH} characters (RFC 3339; digits below the nanosecond are dropped)"
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
LEAP_SECOND = "60"
"""RFC 3339's second 60: a leap second, only in the last minute of a month in UTC (section 5.6 and 5.7)."""
LEAP_SECOND_PROBLEM = (
    "a leap second (second 60) is only at 23:59 UTC on the last day of a month, such as 2016-12-31T23:59:60Z"
)


DATETIME_SAID = "a time must be RFC 3339 text such as 2026-11-01T08:00:00+07:00"
DATE_SAID = "a date must be YYYY-MM-DD text"
SENT_NUMBER_LENGTH = 40
"""The most characters of a number a reason quotes (`not a number (1733000000)`); a longer one ends in `…`."""


def sent_kind(value: Any) -> str:
    """What a JSON value of the wrong kind is, in JSON's words, as a reason ends `…, not <this>`: `text`, `a number
    (1733000000)` (the number quoted, at most SENT_NUMBER_LENGTH characters), `true or false`, `a list`, `an object`
    (a user trial's `"starts_at": 1733000000` was told only how to write a time, as a time without seconds is)."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        written = str(value)
        if len(written) > SENT_NUMBER_LENGTH:
            written = written[: SENT_NUMBER_LENGTH - 1] + "…"
        return f"a number ({written})"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _rfc3339(value: Any) -> Any:
    """A time is RFC 3339 text with seconds and an offset; a datetime built in code passes as it is. A leap second
    (second 60, where RFC 3339 allows it: 23:59 UTC on a month's last day) is read as the last microsecond of its
    minute (Python's datetime has no second 60)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{DATETIME_SAID}, not {sent_kind(value)}")
    if len(value) > TIME_MAX_LENGTH:
        raise ValueError(TIME_TOO_LONG)
    matched = _RFC3339.match(value)
    if not matched:
        raise ValueError("a time must be RFC 3339 with seconds and an offset (Z or ±hh:mm)")
    if not _plainly_in_range(matched[1], matched[4]):
        problem = time_text_problem(value)
        if problem is not None:
            raise ValueError(problem)
    if matched[2] == LEAP_SECOND:
        return _leap_second(matched[1], matched[4])
    if matched[2] > LEAP_SECOND:
        raise ValueError("a second is 00 to 59 (60 only for a leap second)")
    return value


def _plainly_in_range(minute: str, offset: str) -> bool:
    """True when `YYYY-MM-DDThh:mm` and its offset are surely in range (month 01-12, day 01-28, hour 00-23, minute
    00-59, offset at most ±23:59), by comparing the fixed-width digits as text; False sends the text to
    time_text_problem's full reading (a 29th to 31st, or a part out of range). Most times pass here without it."""
    return (
        "01" <= minute[5:7] <= "12"
        and "01" <= minute[8:10] <= "28"
        and minute[11:13] <= "23"
        and minute[14:16] <= "59"
        and (offset in ("Z", "z") or (offset[1:3] <= "23" and offset[4:6] <= "59"))
    )


def _leap_second(minute: str, offset: str) -> datetime:
    """The last microsecond of the minute (`YYYY-MM-DDThh:mm`, at `offset`) a leap second ends, or ValueError when
    RFC 3339 allows no leap second in it."""
    try:
        moment = datetime.fromisoformat(f"{minute}:59.999999{'+00:00' if offset in 'Zz' else offset}")
    except ValueError:
        raise ValueError("a time must be RFC 3339 with seconds and an offset (Z or ±hh:mm)") from None
    in_utc = moment.astimezone(UTC)
    if (in_utc.hour, in_utc.minute) != (23, 59) or (in_utc + timedelta(microseconds=1)).day != 1:
        raise ValueError(LEAP_SECOND_PROBLEM)
    return moment


def sub_microsecond(value: Any) -> int:
    """The nanoseconds (0-999) an RFC 3339 time text gives below its microsecond: the 7th to 9th digits of its
    fraction (`...T10:00:00.000000100Z` gives 100; any further digits dropped); 0 for a text with at most 6 digits,
    a leap second (read as its minute's last microsecond), a datetime or anything that is no time. Python's datetime
    and PostgreSQL's timestamptz keep microseconds, so the rest is carried beside them: snapshots 100 ns apart must
    not tie (CONTRACT.md: the latest `time` wins)."""
    if not isinstance(value, str) or len(value) < 28 or value[19:20] != ".":
        return 0  # no fraction, or too short for a 7th digit: most times, told without a regex
    matched = _RFC3339.match(value)
    if not matched or matched[3] is None or len(matched[3]) <= 7 or matched[2] == LEAP_SECOND:
        return 0
    return int(matched[3][7:10].ljust(3, "0"))  # digits past the 9th are dropped (TIME_MAX_LENGTH)


_WRITTEN_TIME = re.compile(r"^(.{19})(?:\.([0-9]+))?(.*)$")
_TIME_WRITER: TypeAdapter[datetime] = TypeAdapter(AwareDatetime)


def time_text(moment: datetime, nanoseconds: int = 0) -> str:
    """`moment` written as CloudEvent.to_json writes an envelope's time (pydantic's RFC 3339, `Z` for UTC), with
    `nanoseconds` (0-999, sub_microsecond) as the 7th to 9th digits of the fraction when not 0: a time received is
    re-published with every digit it came with."""
    written = _TIME_WRITER.dump_python(moment, mode="json")
    return with_nanoseconds(written, nanoseconds) if nanoseconds else written


def with_nanoseconds(written: str, nanoseconds: int) -> str:
    """An RFC 3339 text of whole microseconds (as pydantic writes a datetime) with `nanoseconds` (1-999) added
    as the 7th to 9th digits of its fraction."""
    matched = _WRITTEN_TIME.match(written)
    if matched is None:
        return written
    micro = (matched[2] or "").ljust(6, "0")
    return f"{matched[1]}.{micro}{nanoseconds:03d}{matched[3]}"


def _iso_date(value: Any) -> Any:
    """A date is YYYY-MM-DD text of a day that exists; a date built in code passes as it is."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{DATE_SAID}, not {sent_kind(value)}")
    if not _DATE.match(value):
        raise ValueError(DATE_SAID)
    problem = day_text_problem(int(value[:4]), int(value[5:7]), int(value[8:10]))
    if problem is not None:
        raise ValueError(problem)
    return value


def day_text_problem(year: int, month: int, day: int) -> str | None:
    """Why year-month-day as written names no day, in plain words (`month 13 is out of range: a month is 01 to 12`,
    `day 30 is not in 2026-02, which has 28 days`); None for a day that exists. Every reason about a date or a
    date-time says it so (the validation library's "valid datetime or date, day value is outside expected range"
    named the wrong kind of field and no rule)."""
    if not 1 <= month <= 12:
        return f"month {month:02d} is out of range: a month is 01 to 12"
    last = calendar.monthrange(year, month)[1] if year >= 1 else 31
    if not 1 <= day <= last:
        return f"day {day:02d} is not in {year:04d}-{month:02d}, which has {last} days"
    return None


def clock_problem(hour: int, minute: int) -> str | None:
    """Why hour:minute as written is no time of day, in plain words (`hour 24 is out of range: an hour is 00 to 23`);
    None when it is one."""
    if not 0 <= hour <= 23:
        return f"hour {hour:02d} is out of range: an hour is 00 to 23 (midnight is 00:00 of the next day)"
    if not 0 <= minute <= 59:
        return f"minute {minute:02d} is out of range: a minute is 00 to 59"
    return None


def offset_problem(offset: str) -> str | None:
    """Why an RFC 3339 offset (`Z` or `±hh:mm`) as written is none, in plain words (`offset +25:00 is out of range:
    an offset is at most ±23:59`, RFC 3339's hours 00-23 and minutes 00-59); None when it is one."""
    if offset in ("Z", "z"):
        return None
    if int(offset[1:3]) > 23 or int(offset[4:6]) > 59:
        return f"offset {offset} is out of range: an offset is at most ±23:59 (Vietnam is +07:00)"
    return None


_LOOSE_MOMENT = re.compile(
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[Tt ]([0-9]{2}):([0-9]{2})(?::[0-9]{2}(?:\.[0-9]+)?)?([Zz]|[+-][0-9]{2}:[0-9]{2})?)?$"
)
"""A date or a date-time by its shape alone, each part read as written (time_text_problem judges the ranges)."""


def time_text_problem(value: Any) -> str | None:
    """Why a text shaped as a date (`YYYY-MM-DD`) or a date-time (RFC 3339) names no real moment: its month, day,
    hour, minute or offset out of range, in plain words (day_text_problem, clock_problem, offset_problem, first the
    date's, then the time's, then the offset's); None for anything else (a text of another shape, a real moment)."""
    matched = _LOOSE_MOMENT.match(value) if isinstance(value, str) else None
    if matched is None:
        return None
    year, month, day, hour, minute, offset = matched.groups()
    problem = day_text_problem(int(year), int(month), int(day))
    if problem is None and hour is not None:
        problem = clock_problem(int(hour), int(minute))
    if problem is None and offset is not None:
        problem = offset_problem(offset)
    return problem


def _plausible_day(value: date) -> date:
    """`value` (a date, or a time's own date) if an event may carry it (shared.plausible.day_problem), else
    ValueError."""
    problem = day_problem(value.date() if isinstance(value, datetime) else value)
    if problem is not None:
        raise ValueError(problem)
    return value


_YEAR_TEXT = "(?:19|20|21)[0-9]{2}"
_LEAP_YEAR_TEXT = "(?:(?:19|20|21)(?:0[48]|[2468][048]|[13579][26])|2000)"
_MONTH_DAY_TEXT = (
    "(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
DAY_TEXT = f"(?:{_YEAR_TEXT}-{_MONTH_DAY_TEXT}|{_LEAP_YEAR_TEXT}-02-29)"
"""A day that exists in 1900-2199 (EARLIEST_DAY..LATEST_DAY), leap days included, as `YYYY-MM-DD` regex text."""
CLOCK_TEXT = (
    "[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\\.[0-9]+)?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
"""An RFC 3339 time of day after its date, as _rfc3339 reads it: seconds and an offset required, hours 00-23, minutes
00-59, seconds 00-59 or 60 (a leap second), any fraction, an offset Z or at most ±23:59."""
TIME_PATTERN = f"^{DAY_TEXT}{CLOCK_TEXT}$"
"""The JSON Schema `pattern` of a Timestamp: exactly the texts _rfc3339 and _plausible_day accept, but for where a
leap second may fall (LEAP_SECOND_PROBLEM), which depends on the offset."""
DAY_PATTERN = f"^{DAY_TEXT}$"
"""The JSON Schema `pattern` of a Day: exactly the texts _iso_date and _plausible_day accept."""
MEETING_YEARS_PATTERN = "^(?:1999-12-31|2[01])"
"""What a MeetingTime's text begins with besides TIME_PATTERN: a day from 1999-12-31 (2000-01-01 at +07:00 is the
evening before in UTC); whether a time of 1999-12-31 is on or after EARLIEST_MEETING depends on its offset."""
TIME_SCHEMA_SAID = (
    "RFC 3339 text with seconds and an offset (Z or ±hh:mm), such as 2026-11-01T08:00:00+07:00, of a day in"
    " 1900-2199 as written; at most 128 characters. Not checked by this pattern: a second 60 is only a leap second,"
    " at 23:59 UTC on the last day of a month."
)

Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_rfc3339),
    AfterValidator(_plausible_day),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": TIME_PATTERN,
            "maxLength": TIME_MAX_LENGTH,
            "description": TIME_SCHEMA_SAID,
        }
    ),
]
"""RFC 3339 with seconds and an offset, in 1900-2199; never a number or a number in text."""
Day = Annotated[
    date,
    BeforeValidator(_iso_date),
    AfterValidator(_plausible_day),
    WithJsonSchema(
        {"type": "string", "format": "date", "pattern": DAY_PATTERN, "description": "YYYY-MM-DD, a day in 1900-2199."}
    ),
]
"""A calendar date written YYYY-MM-DD, in 1900-2199."""


def _plausible_meeting_time(value: datetime) -> datetime:
    """`value` if a meeting may be at it whatever the clock (shared.plausible.meeting_time_problem), else
    ValueError in the words of the meeting rule (before 2000), not the generic days' bound."""
    problem = meeting_time_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


MeetingTime = Annotated[
    AwareDatetime,
    BeforeValidator(_rfc3339),
    AfterValidator(_plausible_meeting_time),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": TIME_PATTERN,
            "allOf": [{"pattern": MEETING_YEARS_PATTERN}],
            "maxLength": TIME_MAX_LENGTH,
            "description": (
                f"{TIME_SCHEMA_SAID} A meeting is from 2000-01-01T00:00:00+07:00 on (an earlier instant written at"
                " another offset on 1999-12-31 is not checked by the pattern)."
            ),
        }
    ),
]
"""A Timestamp a meeting happens at (its start): from 2000-01-01 (+07:00), as the meeting rule says; the upper bound
against the clock is checked once `now` is known (shared.plausible.meeting_start_problem)."""

DataT = TypeVar("DataT", bound=BaseModel)

_REQUIRED = frozenset({"specversion", "id", "source", "type", "time", "data"})
_EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,20}$")
_MEDIA_TYPE = re.compile(r"^application/json\s*(;.*)?$", re.IGNORECASE)
MEDIA_TYPE_PATTERN = r"^[Aa][Pp][Pp][Ll][Ii][Cc][Aa][Tt][Ii][Oo][Nn]/[Jj][Ss][Oo][Nn]\s*(;.*)?$"
"""_MEDIA_TYPE as a JSON Schema `pattern`, which has no flags: each letter in either case."""
EXTENSION_NAME_PATTERN = _EXTENSION_NAME.pattern


class CloudEvent(BaseModel):
    """One CloudEvent in structured mode; `data` stays a plain dict until its type is known."""

    model_config = ConfigDict(frozen=True, extra="allow")

    specversion: Literal["1.0"]
    id: Identifier
    source: Uri
    type: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    time: Timestamp
    datacontenttype: Annotated[
        str,
        WithJsonSchema(
            {
                "type": "string",
                "pattern": MEDIA_TYPE_PATTERN,
                "description": "application/json (any case), with or without media-type parameters.",
            }
        ),
    ] = "application/json"
    subject: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    dataschema: Uri | None = None
    """CloudEvents 1.0's optional URI of the schema `data` follows: read as a URI (the type fixes the schema here)."""
    data: dict[str, Any]
    correlationid: ExtensionValue | None = None
    causationid: ExtensionValue | None = None
    originid: Identifier | None = None
    originsource: Uri | None = None
    # The nanoseconds of `time` below its microsecond (sub_microsecond; `time` itself keeps microseconds) live in the
    # model's private dict under TIME_NS, set only for a time that has them (keep_time_ns). Not a declared PrivateAttr:
    # with one, pydantic runs init_private_attributes in Python for every envelope built and reads it through
    # BaseModel.__getattr__ (a failed hasattr per read), together ~10 % of meetings' busy samples in province-year.

    @model_validator(mode="wrap")
    @classmethod
    def _keep_nanoseconds(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> "CloudEvent":
        """Keep the digits of `time` below the microsecond, which the datetime drops (sub_microsecond)."""
        event: CloudEvent = handler(value)
        if isinstance(value, dict):
            nanoseconds = sub_microsecond(value.get("time"))
            if nanoseconds:
                keep_time_ns(event, nanoseconds)
        return event

    @field_serializer("time", mode="wrap", when_used="json")
    def _precise_time(self, value: datetime, handler: SerializerFunctionWrapHandler) -> Any:
        """`time` written with every digit it came with (a re-published time is never cut to microseconds)."""
        written = handler(value)
        nanoseconds = self.time_ns
        return with_nanoseconds(written, nanoseconds) if nanoseconds and isinstance(written, str) else written

    @property
    def time_ns(self) -> int:
        """The nanoseconds (0-999) of `time` below its microsecond: snapshots order by (time, time_ns, id)."""
        private = self.__pydantic_private__
        return private.get(TIME_NS, 0) if private else 0

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, value: Any) -> Any:
        """An optional attribute given as JSON null is the same as absent (CONTRACT.md)."""
        if isinstance(value, dict) and None in value.values():  # most events have no null: no copy for them
            return {key: item for key, item in value.items() if item is not None or key in _REQUIRED}
        return value

    @field_validator("datacontenttype")
    @classmethod
    def _json_media_type(cls, value: str) -> str:
        if not _MEDIA_TYPE.match(value):
            raise ValueError("must be application/json (media-type parameters allowed)")
        return value

    @model_validator(mode="after")
    def _bounded_extensions(self) -> "CloudEvent":
        for name, value in (self.model_extra or {}).items():
            if not _EXTENSION_NAME.match(name):
                raise InvalidEvent(
                    f"{bounded(name, limit=40)}: an extension attribute name is 1-20 of a-z0-9",
                    field=bounded(name, limit=40),
                )
            if isinstance(value, bool) or (isinstance(value, int) and abs(value) < 2**31):
                continue
            if not isinstance(value, str) or not EXTENSION_VALUE.match(value):
                raise InvalidEvent(
                    f"{name}: an extension attribute is at most 128 characters of A-Za-z0-9._:-", field=name
                )
        return self

    def to_json(self) -> bytes:
        """Serialize in structured mode, dropping unset optional attributes."""
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def of_checked(
        cls,
        *,
        id: str,
        source: str,
        type: str,
        time: datetime,
        data: dict[str, Any],
        time_ns: int = 0,
        subject: str | None = None,
        correlationid: str | None = None,
        causationid: str | None = None,
        originid: str | None = None,
        originsource: str | None = None,
    ) -> "CloudEvent":
        """The envelope model_validate would make of these attributes, built without validating them: every value
        must already be one the model accepts (ids, sources and times read from a validated envelope, data dumped
        from a validated model). `time_ns`: the nanoseconds of `time` below its microsecond (sub_microsecond).
        Issue 12: validating meetings' re-published envelope again cost ~5 % of its ingest CPU (~9 µs an event);
        this takes ~1.5 µs. tests/shared/test_envelope.py checks it equals the validated envelope."""
        values = {
            "specversion": "1.0",
            "id": id,
            "source": source,
            "type": type,
            "time": time,
            "datacontenttype": "application/json",
            "subject": subject,
            "dataschema": None,
            "data": data,
            "correlationid": correlationid,
            "causationid": causationid,
            "originid": originid,
            "originsource": originsource,
        }
        event = cls.__new__(cls)
        object.__setattr__(event, "__dict__", values)
        given = {name for name, value in values.items() if value is not None and name != "datacontenttype"}
        object.__setattr__(event, "__pydantic_fields_set__", given)
        object.__setattr__(event, "__pydantic_extra__", {})
        object.__setattr__(event, "__pydantic_private__", {TIME_NS: time_ns} if time_ns else None)
        return event


TIME_NS = "_time_ns"
"""The key of an envelope's sub-microsecond nanoseconds in its private dict (CloudEvent.time_ns)."""


def keep_time_ns(event: CloudEvent, nanoseconds: int) -> None:
    """Give `event` the nanoseconds (0-999) of its `time` below the microsecond (sub_microsecond), which its datetime
    cannot hold; kept by copies (model_copy), compared by ==, written back by to_json."""
    private = event.__pydantic_private__
    object.__setattr__(event, "__pydantic_private__", {**(private or {}), TIME_NS: nanoseconds})


@dataclass(frozen=True, slots=True)
class Event(Generic[DataT]):
    """An envelope together with its typed, validated data."""

    envelope: CloudEvent
    data: DataT

    @property
    def id(self) -> str:
        """The envelope's id."""
        return self.envelope.id

    @property
    def source(self) -> str:
        """The envelope's source."""
        return self.envelope.source

    @property
    def type(self) -> str:
        """The envelope's type."""
        return self.envelope.type

    @property
    def time(self) -> datetime:
        """The envelope's time."""
        return self.envelope.time

    @property
    def time_ns(self) -> int:
        """The nanoseconds (0-999) of the envelope's time below its microsecond (sub_microsecond)."""
        return self.envelope.time_ns

    @property
    def time_text(self) -> str:
        """The envelope's time as RFC 3339 text with every digit it came with (for re-publishing it)."""
        return time_text(self.envelope.time, self.envelope.time_ns)

    @property
    def order_id(self) -> str:
        """The id that orders snapshots of equal `time`: the incoming event's own id (`originid` when meetings
        re-published it), never an id assigned on the way (CONTRACT.md)."""
        return self.envelope.originid or self.envelope.id

    @property
    def correlation_id(self) -> str:
        """The correlation id, falling back to the event's own id."""
        return self.envelope.correlationid or self.envelope.id


class InvalidEvent(Exception):
    """An event that cannot be accepted, with the reason and the field that is wrong."""

    def __init__(
        self, reason: str, *, field: str | None = None, problem: str | None = None, refusal: Refusal | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.problem = problem
        """For a body that is not an event at all: `syntax` (not JSON), `shape` (not an object or array),
        `too_large`; `header` for a binary-mode attribute header that cannot be read; None for an event whose content
        breaks a rule."""
        self.refusal = refusal
        """The machine-readable reason (shared.refusals) when a reader words this refusal itself; None otherwise."""


def now() -> datetime:
    """The current time in Vietnam (+07:00), the offset events carry."""
    return datetime.now(VIETNAM_TZ)  # the same as now(UTC).astimezone(VIETNAM_TZ), one conversion less


_ID_POOL_BYTES = 16 * 256
"""Random bytes fetched at once for new_id: 256 ids per os.urandom call instead of one system call each."""
_VARIANT = "89ab" * 4
"""RFC 4122's variant digit (binary 10xx) for each value of a random hex digit."""


class _IdPool:
    """The random hex (32 digits an id) new_id takes its ids from; emptied in a forked child, which must not repeat
    its parent's ids."""

    hexes: Iterator[str] = iter(())

    @classmethod
    def refill(cls) -> str:
        """Fetch the next random bytes (os.urandom) and return the first id's hex."""
        blob = os.urandom(_ID_POOL_BYTES).hex()
        cls.hexes = iter([blob[start : start + 32] for start in range(32, len(blob), 32)])
        return blob[:32]

    @classmethod
    def forget(cls) -> None:
        """Drop the fetched bytes (after a fork: the parent may use them too)."""
        cls.hexes = iter(())


os.register_at_fork(after_in_child=_IdPool.forget)


def new_id() -> str:
    """A new time-ordered UUID (RFC 9562 version 7) as text: the milliseconds since the epoch (48 bits), then 74 random
    bits (os.urandom, fetched 256 ids at a time), the RFC 4122 variant; written as str(uuid.UUID) writes one.

    Issue 12: each id is the key of a row in every consumer's inbox (processed_message's primary key, source then id)
    and was a random version 4: every insert landed on a random page of an index of every event received, so after
    each checkpoint nearly every insert logged a full page of it. Ids of one millisecond onwards sort after those
    before, so the inboxes take them at their right edge, as the bulk path's ids already are (repository.bulk). The
    ids order nothing else: snapshots of equal time are ordered by the incoming event's own id (Event.order_id)."""
    h = next(_IdPool.hexes, None) or _IdPool.refill()
    t = f"{time.time_ns() // 1_000_000:012x}"
    return f"{t[:8]}-{t[8:]}-7{h[13:16]}-{_VARIANT[int(h[16], 16)]}{h[17:20]}-{h[20:]}"


def new_event(
    *,
    type: str,
    source: str,
    data: BaseModel,
    subject: str | None = None,
    time: datetime | str | None = None,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    event_id: str | None = None,
) -> CloudEvent:
    """Build an outgoing envelope around a validated data model; `time` as a datetime, or as RFC 3339 text to carry
    digits below the microsecond (Event.time_text of a time received)."""
    return CloudEvent(
        specversion="1.0",
        id=event_id or new_id(),
        source=source,
        type=type,
        time=time or now(),
        subject=subject,
        data=data.model_dump(mode="json"),
        correlationid=correlation_id,
        causationid=causation_id,
    )


def new_event_of_checked(
    *, type: str, source: str, data: BaseModel, subject: str | None = None, correlation_id: str | None = None
) -> CloudEvent:
    """new_event's envelope, now, for a `type` and `source` of this system's own (constants the model accepts), built
    without validating it again (CloudEvent.of_checked); a subject or correlation id the model would refuse (subject
    1-256 characters, correlation id EXTENSION_VALUE) goes through new_event and is refused as before. Issue 12: a
    scoring round builds one per score it publishes; the envelope's validation was ~2 % of evaluation's CPU."""
    if (subject is not None and not 0 < len(subject) <= 256) or (
        correlation_id is not None and not EXTENSION_VALUE.match(correlation_id)
    ):
        return new_event(type=type, source=source, data=data, subject=subject, correlation_id=correlation_id)
    return CloudEvent.of_checked(
        id=new_id(),
        source=source,
        type=type,
        time=now(),
        data=data.model_dump(mode="json"),
        subject=subject,
        correlationid=correlation_id,
    )


KEY_PART = "[key]"
"""The last part of a pydantic error's location when a mapping's key (not its value) is at fault."""


def error_location(problem: Mapping[str, Any]) -> tuple[str | int, ...]:
    """A pydantic error's location as a field path: a key at fault is named by the key's own path
    (`data.points.ZZ9`), never pydantic's `data.points.ZZ9.[key]`, which names no field a sender wrote."""
    location = tuple(part for part in problem.get("loc", ()) if isinstance(part, str | int))
    return location[:-1] if location[-1:] == (KEY_PART,) else location


def describe_validation_error(error: ValidationError, *, prefix: str = "", every: bool = False) -> InvalidEvent:
    """Turn the first pydantic error into a reason that names the offending field (bounded); `every`: the first
    error of each field at fault, joined by `; ` (`specversion: …; data: …`), the InvalidEvent's `field` the first
    of them (an envelope wrong in two attributes names both: a user trial's was told of only one)."""
    said: dict[str | None, str] = {}
    for problem in error.errors(include_url=False)[: None if every else 1]:
        location = error_location(problem)
        field = field_name(location, prefix=prefix) if location else prefix.rstrip(".") or None
        if field not in said:
            message = validation_message(problem)
            said[field] = f"{field}: {message}" if field else message
    return InvalidEvent("; ".join(said.values()), field=next(iter(said)))


DATETIME_ERRORS = frozenset({"datetime_parsing", "datetime_from_date_parsing", "datetime_type"})
DATE_ERRORS = frozenset({"date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact", "date_type"})
"""The validation library's error types of a date-time field and of a date field that it read itself."""
NULL_EXPECTED = {
    "string_type": "text",
    "int_type": "a whole number",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
}
"""The validation library's error types of a field that JSON null cannot fill, and what it needs in JSON's words."""
WRONG_KIND = frozenset({"string_type", "int_type", "float_type", "bool_type", "list_type", "dict_type"})
"""The validation library's error types of a value of another JSON kind than the field's, whose message is ended by
what was sent (sent_kind): `Input should be a valid string, not a number (1733000000)`."""


def validation_message(error: Mapping[str, Any]) -> str:
    """What one pydantic error (an item of ValidationError.errors()) says, as our reasons say it: without pydantic's
    "Value error, " prefix to a validator's own words, an id or extension value by its syntax, not its regex, and a
    blank text (empty, or empty once spaces and invisible characters are dropped) as BLANK_SAID, a null where a value
    is needed as such (NULL_EXPECTED)."""
    message = str(error.get("msg") or "invalid value")
    kind = error.get("type")
    if kind in DATETIME_ERRORS or kind in DATE_ERRORS:
        # the library's own reading of a date or date-time field (one typed `date` or `datetime` without our
        # validators): what is wrong with the text in plain words, never "valid datetime or date" of a date-time
        problem = time_text_problem(error.get("input"))
        if problem is not None:
            return problem
        said = DATETIME_SAID if kind in DATETIME_ERRORS else DATE_SAID
        sent = error.get("input")
        return said if sent is None or isinstance(sent, str | date) else f"{said}, not {sent_kind(sent)}"
    context = error.get("ctx") or {}
    value = error.get("input")
    if value is None and kind in NULL_EXPECTED:
        # JSON null where a value is needed ("location": null of a new meeting): said so, not "Input should be a valid
        # string" of the library, whose "input" reads as the field's content
        return f"null is not a value here; give {NULL_EXPECTED[kind]}"
    if kind in WRONG_KIND:
        # a value of another kind (`"starts_at": 1733000000`, `"birth_year": [1980]`): what was sent said, so a
        # number where text belongs is not told "not a string of characters"
        return f"{message}, not {sent_kind(value)}"
    if kind == "string_too_short" and context.get("min_length", 1) <= 1 and isinstance(value, str):
        # a text left empty once its spaces or invisible characters are dropped (`"\u200b"`): said as require_text
        # says one that keeps them, never "at least 1 character" of what was sent as one
        if not has_text(value):
            return BLANK_SAID
    pattern = context.get("pattern")
    if pattern == ID_PATTERN:
        message = "an id is 1-64 characters of A-Za-z0-9._:-"
    elif pattern == EXTENSION_VALUE.pattern:
        message = "at most 128 characters of A-Za-z0-9._:-"
    elif pattern in PERIOD_FORMS_OF:  # a period field: its forms in words, never its regex
        message = period_expected(value, PERIOD_FORMS_OF[pattern])
    return message.removeprefix("Value error, ")


def read_json(raw: bytes | str) -> Any:
    """Strictly parse one event's JSON text (see shared.reading); InvalidEvent naming `body` or the field."""
    try:
        value, clean = read_value(raw)
        return value if clean else check_tree(value)
    except ReadError as exc:
        raise InvalidEvent(exc.reason, field=exc.field, problem=exc.problem) from None


NOT_AN_OBJECT = "body: an event must be a JSON object"
"""Why a body, or an item of a batch, that is JSON but no object (an array, a text, a number, a literal) is refused."""


DATA_BASE64 = "data_base64"
"""CloudEvents' structured-mode attribute for binary data (base64 in place of `data`), which chibo does not read."""
DATA_BASE64_SAID = (
    "data_base64: not supported; chibo's events carry their data as a JSON object in `data` (datacontenttype"
    " application/json, CONTRACT.md)"
)
"""Why an event carrying data_base64 is refused, on every route alike (before its missing `data` is named)."""


def parse_envelope(raw: bytes | str | dict[str, Any], *, checked: bool = False) -> CloudEvent:
    """Read one structured-mode CloudEvent strictly and bounded, raising InvalidEvent that names the field.

    Every door (AMQP, the HTTP route through meetings, replay, bulk load, consumers of chibo.events)
    reads through here: text is parsed by `shared.reading.read_value`, and every value, parsed here or by
    someone else, is walked by `check_tree` (depth, U+0000, surrogates, non-finite numbers, NFC), unless the
    reading found its text clean or the value is an item of a batch `read_batch` found `checked`.
    """
    try:
        if isinstance(raw, bytes | str):
            value, clean = read_value(raw)
        else:
            value, clean = raw, checked
        if not isinstance(value, dict):
            raise InvalidEvent(NOT_AN_OBJECT, field="body", problem="shape")
        if not clean:
            value = check_tree(value)
    except ReadError as exc:
        raise InvalidEvent(exc.reason, field=exc.field, problem=exc.problem) from None
    if DATA_BASE64 in value:
        raise InvalidEvent(
            DATA_BASE64_SAID, field=DATA_BASE64, refusal=Refusal(code=RefusalCode.DATA_BASE64_UNSUPPORTED)
        )
    try:
        return CloudEvent.model_validate(value)
    except ValidationError as exc:
        raise describe_validation_error(exc, every=True) from exc


@dataclass(frozen=True, slots=True)
class Batch:
    """A batch body's raw items; `checked` when its whole text was found clean (shared.reading.read_value), so
    each item may skip its own walk (`parse_envelope(item, checked=True)`)."""

    items: list[Any]
    checked: bool
    sizes: dict[int, int] = dataclass_field(default_factory=dict)
    """The items larger than one event may be (MAX_EVENT_BYTES as compact JSON): {index: size}. Each is refused
    alone; measured only when the whole body is larger than that."""


def read_batch(raw: bytes | str) -> Batch:
    """Parse a batch body into its raw items, checking its text once for all of them when it is clean
    (each item is then judged on its own by parse_envelope), and find the items over the per-event limit;
    InvalidEvent naming `body` when it is no batch."""
    try:
        items, clean = read_value(raw, limit=None, levels=MAX_DEPTH + 1)  # an item's level 1 is the body's 2
    except ReadError as exc:
        raise InvalidEvent(exc.reason, field="body", problem=exc.problem) from None
    if not isinstance(items, list):
        raise InvalidEvent("body: a batch must be a JSON array of events", field="body", problem="shape")
    if not items:
        raise InvalidEvent("body: a batch holds at least one event", field="body", problem="shape")
    if len(items) > MAX_BATCH_SIZE:
        raise InvalidEvent(
            f"body: a batch holds at most {MAX_BATCH_SIZE} events, got {len(items)}", field="body", problem="too_large"
        )
    sizes: dict[int, int] = {}
    if len(raw) > MAX_EVENT_BYTES:  # a smaller body holds no item over the limit: nothing to measure
        for index, item in enumerate(items):
            size = len(to_json(item, fallback=str))  # an unclean item keeps markers check_tree names later
            if size > MAX_EVENT_BYTES:
                sizes[index] = size
    return Batch(items=items, checked=clean, sizes=sizes)


def parse_batch(raw: bytes | str) -> list[Any]:
    """Parse a batch body into its raw items (each is checked and judged on its own by parse_envelope)."""
    return read_batch(raw).items


ATTRIBUTE_HEADER_PREFIXES = ("ce-", "ce_", "cloudevents-", "cloudevents:", "cloudevents_")
"""How a header meant as a CloudEvents attribute begins (lower-cased), on HTTP or AMQP: with any of them, a message
is in binary mode, never a batch; shared.bindings reads those of the route's binding and refuses the others naming
the header (misprefixed)."""


def has_attribute_headers(headers: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> bool:
    """Whether any header is a CloudEvents attribute (`ce-id`, `cloudEvents:id`, ...)."""
    names = headers.keys() if isinstance(headers, Mapping) else (name for name, _ in headers or ())
    return any(str(name).lower().startswith(ATTRIBUTE_HEADER_PREFIXES) for name in names)


def is_batch(
    content_type: str | None,
    routing_key: str | None = None,
    body: bytes = b"",
    *,
    headers: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
) -> bool:
    """Whether a body is a batch: the batch content type, the `batch` routing key, or a JSON array sent as
    plain `application/json` without any attribute header (with one it is binary mode: the array is its `data`)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == BATCH_CONTENT_TYPE or routing_key == BATCH_ROUTING_KEY:
        return True
    return media == "application/json" and body.lstrip()[:1] == b"[" and not has_attribute_headers(headers)


ENVELOPE_MARKERS = ("specversion", "source", "type", "time", "data")
"""Attributes only a CloudEvents envelope has at its top (no data of a type in has one): a JSON object without any of
them is no envelope, so its `id` is no event's (a binary message's `data` read as a body, e.g. a member's `id`)."""


def is_envelope_like(raw: Any) -> bool:
    """Whether a parsed body reads as a CloudEvents envelope, however broken: a dict with an ENVELOPE_MARKERS key."""
    return isinstance(raw, dict) and any(key in raw for key in ENVELOPE_MARKERS)


def peek_identity(raw: Any, *, attributes: bool = False) -> tuple[str, str, str]:
    """Best-effort, bounded (source, id, type) of a raw event, for rejections of unreadable input: a body's only when
    it is an envelope (is_envelope_like), never the `id` of a body that is no envelope (trial 15: a member's id taken
    for the event's); `attributes`: `raw` holds binary-mode headers' attributes, each an envelope's by where it came."""
    if isinstance(raw, dict) and (attributes or is_envelope_like(raw)):
        return (bounded(raw.get("source")), bounded(raw.get("id")), bounded(raw.get("type"), limit=128))
    return ("", "", "")


def is_identifier(value: Any) -> bool:
    """Whether a value follows the id syntax (1-64 of A-Za-z0-9._:-), so it may travel in a short property."""
    return isinstance(value, str) and _ID.match(value) is not None


_ID = re.compile(ID_PATTERN)
