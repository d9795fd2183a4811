"""The published JSON Schemas refuse what chibo's reader refuses wherever JSON Schema can say it (an integrator's
trial: a time without seconds, `datacontenttype: text/plain`, a name holding U+0000 passed the schema of
member.upserted.v1 or minutes.approved.v1 and were rejected); what it cannot say, each schema's description names.

Each case is run through the schema (jsonschema Draft 2020-12 with its FormatChecker, on the parsed JSON text) and
through chibo's reader (parse_envelope, then read_event), with no broker or database."""

import json
from copy import deepcopy
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from shared.contracts.registry import read_event
from shared.contracts.schemas import NOT_EXPRESSED, all_types, component_schemas, event_schema, ingest_types
from shared.envelope import VIETNAM_TZ, InvalidEvent, parse_envelope
from tests.partners.scenario import Scenario

EPOCH = datetime(2026, 11, 2, 8, 0, tzinfo=VIETNAM_TZ)
"""A fixed moment for the scenario's events: no case depends on the clock."""


@cache
def _validator(event_type: str) -> Draft202012Validator:
    schema = event_schema(event_type)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def good_events() -> dict[str, dict[str, Any]]:
    """One accepted event of every type in (the partner scenario's, at EPOCH), by type (its first of a type)."""
    scenario = Scenario(tag="schemaagree")
    scenario.epoch = EPOCH
    events: dict[str, dict[str, Any]] = {}
    for event in scenario.events():
        events.setdefault(event["type"], event)
    return events


GOOD = good_events()


def schema_accepts(text: str) -> bool:
    """Whether the published schema of the event's type accepts the JSON text (parsed as any client parses it)."""
    event = json.loads(text)
    return not list(_validator(event["type"]).iter_errors(event))


def chibo_accepts(text: str) -> tuple[bool, str]:
    """Whether chibo's reader accepts the JSON text, and its reason when not."""
    try:
        read_event(parse_envelope(text))
    except InvalidEvent as exc:
        return False, exc.reason
    return True, ""


def changed(event_type: str, path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """The good event of `event_type` with the field at `path` set to `value` (removed when value is REMOVE)."""
    event = deepcopy(GOOD[event_type])
    holder = event
    for part in path[:-1]:
        holder = holder[part]
    if value is REMOVE:
        holder.pop(path[-1])
    else:
        holder[path[-1]] = value
    return event


REMOVE = object()
MEMBER = "member.upserted.v1"
MINUTES = "minutes.approved.v1"
SCHEDULED = "meeting.scheduled.v1"
CANCELLED = "meeting.cancelled.v1"
SUBMITTED = "minutes.submitted.v1"
ATTENDANCE = "attendance.recorded.v1"
DOCUMENTS = "documents.published.v1"

EXPRESSED: list[tuple[str, dict[str, Any]]] = [
    # the integrator's trial
    ("time without seconds", changed(MEMBER, ("time",), "2026-12-01T10:00+07:00")),
    ("time without offset", changed(MEMBER, ("time",), "2026-12-01T10:00:00")),
    ("data time without seconds", changed(MINUTES, ("data", "approved_at"), "2026-12-01T10:00+07:00")),
    ("datacontenttype text/plain", changed(MINUTES, ("datacontenttype",), "text/plain")),
    ("name with U+0000", changed(MEMBER, ("data", "full_name"), "Nguyễn\x00Văn")),
    # times, by each part the reader judges
    ("month 13", changed(MEMBER, ("time",), "2026-13-01T10:00:00+07:00")),
    ("day 30 of February", changed(MEMBER, ("time",), "2026-02-30T10:00:00+07:00")),
    ("29 February of a common year", changed(MEMBER, ("time",), "2100-02-29T10:00:00Z")),
    ("hour 24", changed(MEMBER, ("time",), "2026-12-01T24:00:00+07:00")),
    ("minute 60", changed(MEMBER, ("time",), "2026-12-01T10:60:00+07:00")),
    ("second 61", changed(MEMBER, ("time",), "2026-12-01T10:00:61+07:00")),
    ("offset +24:00", changed(MEMBER, ("time",), "2026-12-01T10:00:00+24:00")),
    ("offset without colon", changed(MEMBER, ("time",), "2026-12-01T10:00:00+0700")),
    ("space for T", changed(MEMBER, ("time",), "2026-12-01 10:00:00+07:00")),
    ("year 1899", changed(MEMBER, ("time",), "1899-12-31T10:00:00+07:00")),
    ("year 2200", changed(MEMBER, ("time",), "2200-01-01T10:00:00+07:00")),
    ("time over 128 characters", changed(MEMBER, ("time",), "2026-12-01T10:00:00." + "1" * 120 + "+07:00")),
    ("time ending in a line break", changed(MEMBER, ("time",), "2026-12-01T10:00:00+07:00\n")),
    ("id ending in a line break", changed(MEMBER, ("id",), "evt-1\n")),
    ("source ending in a line break", changed(MEMBER, ("source",), "urn:test:feed\n")),
    ("time as a number", changed(MEMBER, ("time",), 1733000000)),
    ("meeting before 2000", changed(SCHEDULED, ("data", "starts_at"), "1999-06-01T19:30:00+07:00")),
    # dates
    ("date 30 February", changed(MEMBER, ("data", "admitted_on"), "2026-02-30")),
    ("date of one-digit month", changed(MEMBER, ("data", "admitted_on"), "2026-1-01")),
    ("date in 1899", changed(MEMBER, ("data", "admitted_on"), "1899-01-01")),
    ("date with a time", changed(MEMBER, ("data", "admitted_on"), "2026-01-01T00:00:00Z")),
    # envelope attributes
    ("specversion 0.3", changed(MEMBER, ("specversion",), "0.3")),
    ("id with a space", changed(MEMBER, ("id",), "evt 1")),
    ("source with a space", changed(MEMBER, ("source",), "urn:test:partner feed")),
    ("source with a raw non-ASCII letter", changed(MEMBER, ("source",), "urn:test:đối-tác")),
    ("source over 256 characters", changed(MEMBER, ("source",), "urn:test:" + "a" * 250)),
    ("subject empty", changed(MEMBER, ("subject",), "")),
    ("subject with U+0000", changed(MEMBER, ("subject",), "a\x00")),
    ("datacontenttype application/xml", changed(MEMBER, ("datacontenttype",), "application/xml")),
    ("datacontenttype with U+0000", changed(MEMBER, ("datacontenttype",), "application/json;\x00")),
    ("extension name with a capital", changed(MEMBER, ("Tenant",), "a")),
    ("extension name over 20 characters", changed(MEMBER, ("a" * 21,), "a")),
    ("extension value with a space", changed(MEMBER, ("tenant",), "a b")),
    ("extension value 2**31", changed(MEMBER, ("tenant",), 2**31)),
    ("extension value a fraction", changed(MEMBER, ("tenant",), 1.5)),
    ("extension value an object", changed(MEMBER, ("tenant",), {"a": 1})),
    ("correlationid with a slash", changed(MEMBER, ("correlationid",), "a/b")),
    ("missing data", changed(MEMBER, ("data",), REMOVE)),
    # data fields
    ("name with an unpaired surrogate", changed(MEMBER, ("data", "full_name"), "Lan\ud800")),
    ("name of 201 characters", changed(MEMBER, ("data", "full_name"), "A" * 201)),
    ("name empty", changed(MEMBER, ("data", "full_name"), "")),
    ("email with U+0000", changed(MEMBER, ("data", "email"), "a\x00@b.vn")),
    ("status unknown", changed(MEMBER, ("data", "status"), "honorary")),
    ("data id over 64 characters", changed(MEMBER, ("data", "id"), "m" * 65)),
    ("birth year as text", changed(MEMBER, ("data", "birth_year"), "1970")),
    ("birth year 1899", changed(MEMBER, ("data", "birth_year"), 1899)),
    ("exempt as 1", changed(MEMBER, ("data", "exempt"), 1)),
    ("votes as text", changed(MINUTES, ("data", "votes_for"), "3")),
    ("votes as true", changed(MINUTES, ("data", "votes_for"), True)),
    ("votes negative", changed(MINUTES, ("data", "votes_for"), -1)),
    ("votes over 100,000", changed(MINUTES, ("data", "votes_for"), 100_001)),
    ("agenda over 1,000 items", changed(SCHEDULED, ("data", "agenda"), ["Mục"] * 1001)),
    # what the reader walks in every value, read by a model or not
    ("unknown data field with U+0000", changed(MEMBER, ("data", "note"), "a\x00")),
    ("unknown data field deep with a surrogate", changed(MEMBER, ("data", "note"), [{"x": ["\udc00"]}])),
    ("data key with U+0000", changed(MEMBER, ("data", "no\x00te"), "a")),
]
"""Events chibo refuses by a rule the schema expresses: both must refuse each."""

NOT_EXPRESSED_CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("votes as 3.0", "3.0", changed(MINUTES, ("data", "votes_for"), 3.0)),
    ("birth year as 1970.0", "3.0", changed(MEMBER, ("data", "birth_year"), 1970.0)),
    ("votes as 3e0", "3e0", changed(MINUTES, ("data", "votes_for"), 3e0)),
    ("extension value 1.0", "3.0", changed(MEMBER, ("tenant",), 1.0)),
    (
        "blank name of zero-width spaces",
        "Default_Ignorable_Code_Point",
        changed(MEMBER, ("data", "full_name"), "\u200b"),
    ),
    ("name of invisible operators", "Default_Ignorable_Code_Point", changed(MEMBER, ("data", "full_name"), "\u2062")),
    ("leap second off the month's end", "leap second", changed(MEMBER, ("time",), "2026-12-01T10:00:60+07:00")),
    (
        "meeting on 1999-12-31 before 2000 at +07:00",
        "2000-01-01T00:00:00+07:00",
        changed(SCHEDULED, ("data", "starts_at"), "1999-12-31T10:00:00+02:00"),
    ),
    ("nesting over 32 levels", "nested", changed(MEMBER, ("data", "note"), json.loads("[" * 40 + "]" * 40))),
    # the visible-text rule holds for every text that must say something, not only names and titles
    ("cancellation reason of spaces", "a cancellation's `reason`", changed(CANCELLED, ("data", "reason"), " \u200b ")),
    ("agenda item of a soft hyphen", "each `agenda` item", changed(SCHEDULED, ("data", "agenda"), ["\u00ad"])),
    (
        "resolution text of invisible characters",
        "a resolution's `text`",
        changed(SUBMITTED, ("data", "resolutions"), [GOOD[SUBMITTED]["data"]["resolutions"][0] | {"text": "\u2060"}]),
    ),
    (
        "task description of invisible characters",
        "a task's `description`",
        changed(SUBMITTED, ("data", "tasks"), [GOOD[SUBMITTED]["data"]["tasks"][0] | {"description": "\u200b"}]),
    ),
    (
        "guest name of invisible characters",
        "a guest's `name`",
        changed(ATTENDANCE, ("data", "guests"), [{"name": "\u200b"}]),
    ),
    (
        "document title of spaces",
        "a document's `title`",
        changed(DOCUMENTS, ("data", "items"), [GOOD[DOCUMENTS]["data"]["items"][0] | {"title": " "}]),
    ),
    ("meeting location of spaces", "`location`", changed(SCHEDULED, ("data", "location"), "\u200b")),
    ("meeting topic of spaces", "`topic`", changed(SCHEDULED, ("data", "topic"), "\u200b")),
]
"""Events chibo refuses by a rule JSON Schema cannot express: the schema's description must name each."""

SCHEMA_STRICTER_CASES: list[tuple[str, str, dict[str, Any]]] = [
    (
        "leap second at 23:59 UTC of a month's end",
        "`date-time` format",
        changed(MEMBER, ("time",), "2016-12-31T23:59:60Z"),
    ),
    ("the same leap second at +07:00", "`date-time` format", changed(MEMBER, ("time",), "2017-01-01T06:59:60+07:00")),
]
"""Events chibo accepts that a validator checking the schema's `"format": "date-time"` strictly refuses (Python
jsonschema's FormatChecker with rfc3339-validator installed takes no second 60): the schema's description and the
guide must say so."""

ALSO_GOOD: list[tuple[str, dict[str, Any]]] = [
    ("lower-case t and z", changed(MEMBER, ("time",), "2026-12-01t03:00:00z")),
    ("nine fraction digits", changed(MEMBER, ("time",), "2026-12-01T10:00:00.123456789+07:00")),
    ("29 February of 2000", changed(MEMBER, ("data", "admitted_on"), "2000-02-29")),
    ("datacontenttype with a parameter", changed(MEMBER, ("datacontenttype",), "application/json; charset=utf-8")),
    ("datacontenttype in capitals", changed(MEMBER, ("datacontenttype",), "APPLICATION/JSON")),
    ("datacontenttype null", changed(MEMBER, ("datacontenttype",), None)),
    ("subject null", changed(MEMBER, ("subject",), None)),
    ("extension true", changed(MEMBER, ("tenant",), True)),
    ("extension integer", changed(MEMBER, ("tenant",), -(2**31) + 1)),
    ("extension null", changed(MEMBER, ("tenant",), None)),
    ("optional field with a default null", changed(MEMBER, ("data", "role"), None)),
    ("optional flag null", changed(MEMBER, ("data", "exempt"), None)),
    ("name with a character beyond the BMP", changed(MEMBER, ("data", "full_name"), "Lan 😀")),
    ("name in NFD", changed(MEMBER, ("data", "full_name"), "Nguye\u0302\u0303n Văn Hùng")),
    ("unknown data field of any JSON", changed(MEMBER, ("data", "note"), {"a": [1, 2.5, None, "x", True]})),
    ("meeting on 1999-12-31 at 2000-01-01 +07:00", changed(SCHEDULED, ("data", "starts_at"), "1999-12-31T17:00:00Z")),
    ("source a relative reference", changed(MEMBER, ("source",), "/partner/feed")),
    ("http source", changed(MEMBER, ("source",), "https://example.vn/feed?x=%C3%A1")),
]
"""Events both accept besides every type's good event."""


@pytest.mark.parametrize(("case", "event"), EXPRESSED, ids=[case for case, _ in EXPRESSED])
def test_the_schema_refuses_what_chibo_refuses(case: str, event: dict[str, Any]) -> None:
    text = json.dumps(event)
    accepted, reason = chibo_accepts(text)
    assert not accepted, f"{case}: chibo accepted it"
    assert not schema_accepts(text), f"{case}: the schema accepted what chibo refuses ({reason})"


@pytest.mark.parametrize(
    ("case", "named", "event"), NOT_EXPRESSED_CASES, ids=[case for case, _, _ in NOT_EXPRESSED_CASES]
)
def test_what_the_schema_cannot_refuse_its_description_names(case: str, named: str, event: dict[str, Any]) -> None:
    text = json.dumps(event)
    accepted, _ = chibo_accepts(text)
    assert not accepted, f"{case}: chibo accepted it"
    description = event_schema(event["type"])["description"]
    assert named in description and NOT_EXPRESSED in description, case


@pytest.mark.parametrize(
    ("case", "named", "event"), SCHEMA_STRICTER_CASES, ids=[case for case, _, _ in SCHEMA_STRICTER_CASES]
)
def test_what_chibo_accepts_but_a_strict_format_check_refuses_the_description_names(
    case: str, named: str, event: dict[str, Any]
) -> None:
    text = json.dumps(event)
    accepted, reason = chibo_accepts(text)
    assert accepted, f"{case}: {reason}"
    if "date-time" in FormatChecker().checkers:  # rfc3339-validator installed: the gap is real here
        assert not schema_accepts(text), f"{case}: the schema accepted it; the gap is gone"
    description = event_schema(event["type"])["description"]
    assert named in description and NOT_EXPRESSED in description, case


GOOD_CASES = [(f"good {event_type}", event) for event_type, event in GOOD.items()] + ALSO_GOOD


@pytest.mark.parametrize(("case", "event"), GOOD_CASES, ids=[case for case, _ in GOOD_CASES])
def test_good_events_pass_both(case: str, event: dict[str, Any]) -> None:
    text = json.dumps(event)
    accepted, reason = chibo_accepts(text)
    assert accepted, f"{case}: {reason}"
    assert schema_accepts(text), case


def test_every_type_in_has_a_good_event() -> None:
    assert sorted(GOOD) == ingest_types()


def test_every_schema_and_component_is_valid_draft_2020_12() -> None:
    for event_type in all_types():
        Draft202012Validator.check_schema(event_schema(event_type))
    components = component_schemas(all_types(), prefix="Event.", ref_prefix="#/components/schemas/")
    document = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": components}
    Draft202012Validator.check_schema(document)
    assert "Event.AnyJsonValue" in components


def test_the_integration_guide_lists_what_the_schemas_cannot_refuse() -> None:
    guide = " ".join((Path(__file__).parents[2] / "docs/integrations.md").read_text(encoding="utf-8").split())
    assert "exactly as chibo checks them" not in guide
    for case, named, _ in NOT_EXPRESSED_CASES + SCHEMA_STRICTER_CASES:
        assert named in guide, case
