"""The secretary's command bodies read as strictly as the contract's models and within the same limits (a trial's
`"starts_at": 1797000000` and `"2026-12-15T19:30+07:00"` were scheduled, the event route refused both; the API capped
self-criticism at 600 minutes and the form the agenda at 100 items, the contract allows 100,000 and 1,000), and
scheduling never overwrites a meeting (a second schedule under a known id turned a thematic meeting regular)."""

import datetime as dt
import types
import typing
from typing import Any

import httpx
import pytest
from pydantic import AwareDatetime, BaseModel

from services.gateway import schemas
from shared.contracts import meetings as contract
from shared.contracts.base import MAX_COUNT, MAX_ITEMS
from tests.gateway.bodies import put, send_command
from tests.gateway.fakes import World
from tests.support.ids import random_id

START = "2026-12-03T19:00:00+07:00"
MINUTES = {
    "started_at": "2026-11-04T19:00:00+07:00",
    "ended_at": "2026-11-04T20:45:00+07:00",
    "chair_id": "m1",
    "recorder_id": "m2",
    "speakers": ["m1"],
    "resolutions": [{"text": "Thông qua", "votes_for": 10, "votes_against": 0, "abstentions": 0}],
    "tasks": [{"task_id": "t-9", "assignee_id": "m1", "description": "Thu đảng phí", "due_on": "2026-11-30"}],
}
SCHEDULE = {"kind": "regular", "starts_at": START, "location": "Nhà văn hóa", "agenda": ["Kiểm điểm"]}
COMMANDS: dict[str, tuple[str, str, type[BaseModel], type[contract.EventData], dict[str, Any]]] = {
    "schedule": (
        "POST",
        "/v1/cells/{cell}/meetings",
        schemas.MeetingScheduleCreate,
        contract.MeetingScheduled,
        SCHEDULE,
    ),
    "reschedule": (
        "POST",
        "/v1/meetings/{meeting}/reschedule",
        schemas.MeetingRescheduleCreate,
        contract.MeetingRescheduled,
        {"starts_at": START},
    ),
    "cancel": (
        "POST",
        "/v1/meetings/{meeting}/cancel",
        schemas.MeetingCancelCreate,
        contract.MeetingCancelled,
        {"reason": "Bão lớn"},
    ),
    "documents": (
        "POST",
        "/v1/meetings/{meeting}/documents",
        schemas.DocumentsCreate,
        contract.DocumentsPublished,
        {"items": [{"title": "Dự thảo nghị quyết", "kind": "draft_resolution"}]},
    ),
    "attendance": (
        "PUT",
        "/v1/meetings/{meeting}/attendance",
        schemas.AttendanceCreate,
        contract.AttendanceRecorded,
        {"records": [{"member_id": "m1", "status": "present"}]},
    ),
    "minutes": ("PUT", "/v1/meetings/{meeting}/minutes", schemas.MinutesCreate, contract.MinutesSubmitted, MINUTES),
    "approval": (
        "POST",
        "/v1/meetings/{meeting}/minutes/approval",
        schemas.MinutesApprovalCreate,
        contract.MinutesApproved,
        {"votes_for": 10},
    ),
    "assessment": (
        "POST",
        "/v1/meetings/{meeting}/assessments",
        schemas.AssessmentCreate,
        contract.MeetingAssessed,
        {"role": "cell_committee", "points": {"conduct.procedure": 5}},
    ),
    "completion": (
        "POST",
        "/v1/meetings/{meeting}/tasks/t-9/completion",
        schemas.TaskCompletionCreate,
        contract.TaskCompleted,
        {},
    ),
}
"""Every command of the secretary's API: method, path, its body model, the contract model it becomes, a valid body."""

LOOSE_TIMES = [1797000000, 1797000000.5, "1797000000", "2026-12-15T19:30+07:00", "2026-12-15T19:30:00", "2026-12-15"]
"""What the contract refuses as a time: a number (or one in text), no seconds, no offset, a date alone."""
LOOSE_DATES = [20261215, "20261215", "2026-12-15T00:00:00+07:00", "15/12/2026", "2026-12-5"]
"""What the contract refuses as a date: a number, a time, another order, unpadded."""
TIME_FIELDS = [
    ("schedule", "starts_at"),
    ("schedule", "notified_at"),
    ("reschedule", "starts_at"),
    ("documents", "published_at"),
    ("minutes", "started_at"),
    ("minutes", "ended_at"),
    ("approval", "approved_at"),
]
DATE_FIELDS = [("minutes", "tasks.0.due_on"), ("completion", "completed_on")]


def _holds(annotation: Any, kind: type) -> list[str]:
    """The paths below a field's type that hold `kind` ("" for the field itself; "0.x" inside a list's models)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [f".{path}" for path in _paths(annotation, kind)]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _holds(typing.get_args(annotation)[0], kind)
    if origin is list:
        return [f".0{path}" for path in _holds(typing.get_args(annotation)[0], kind)]
    if origin is not None or isinstance(annotation, types.UnionType):
        return sorted({path for argument in typing.get_args(annotation) for path in _holds(argument, kind)})
    if kind is dt.datetime:
        return [""] if annotation in (dt.datetime, AwareDatetime) else []
    return [""] if annotation is dt.date else []


def _paths(model: type[BaseModel], kind: type) -> list[str]:
    return [name + path for name, info in model.model_fields.items() for path in _holds(info.annotation, kind)]


def test_the_cases_cover_every_time_and_date_of_every_command_body() -> None:
    """A command body that grows a time or a date is read strictly only if it is listed here: fail until it is."""
    times = {(name, path) for name, command in COMMANDS.items() for path in _paths(command[2], dt.datetime)}
    dates = {(name, path) for name, command in COMMANDS.items() for path in _paths(command[2], dt.date)}
    assert times == set(TIME_FIELDS)
    assert dates == set(DATE_FIELDS)


@pytest.mark.parametrize(("command", "field"), TIME_FIELDS)
@pytest.mark.parametrize("value", LOOSE_TIMES, ids=repr)
async def test_a_loose_time_in_any_command_is_a_422_naming_the_field(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, command: str, field: str, value: Any
) -> None:
    before = len(world.ingested)
    response = await send_command(client, headers, world, command, put(COMMANDS[command][4], field, value))
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert len(world.ingested) == before  # nothing reached meetings
    # the contract's model refuses it too: one reading on both routes
    assert _contract_refuses(command, field, value)


@pytest.mark.parametrize(("command", "field"), DATE_FIELDS)
@pytest.mark.parametrize("value", LOOSE_DATES, ids=repr)
async def test_a_loose_date_in_any_command_is_a_422_naming_the_field(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, command: str, field: str, value: Any
) -> None:
    before = len(world.ingested)
    response = await send_command(client, headers, world, command, put(COMMANDS[command][4], field, value))
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert len(world.ingested) == before
    assert _contract_refuses(command, field, value)


@pytest.mark.parametrize(
    ("command", "field", "value"),
    [
        ("minutes", "self_criticism_minutes", "30"),
        ("minutes", "self_criticism_minutes", 30.5),
        ("minutes", "resolutions.0.votes_for", "10"),
        ("minutes", "resolutions.0.votes_for", True),
        ("approval", "votes_for", "10"),
        ("approval", "votes_against", 1.5),
        ("assessment", "points.conduct.procedure", "5"),
    ],
)
async def test_a_number_in_text_or_a_fraction_for_a_count_is_a_422_naming_the_field(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, command: str, field: str, value: Any
) -> None:
    body = COMMANDS[command][4]
    if field.startswith("points."):
        body = {**body, "points": {field.removeprefix("points."): value}}
    else:
        body = put(body, field, value)
    response = await send_command(client, headers, world, command, body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


def _contract_data(command: str, body: dict[str, Any]) -> dict[str, Any]:
    """The event data a command's body becomes (enough of it for the contract's model to judge the body's fields)."""
    if command == "assessment":
        return {"meeting_id": "m-1", "assessor": {"role": body["role"]}, "points": body["points"]}
    # and the moments a command stamps when the body leaves them out
    stamps = {"published_at": START, "approved_at": START, "completed_on": "2026-11-20"}
    return {"meeting_id": "m-1", "cell_id": "c-1", "task_id": "t-9", **stamps, **body}


def _contract_refuses(command: str, field: str, value: Any) -> bool:
    model = COMMANDS[command][3]
    try:
        model.model_validate(_contract_data(command, put(COMMANDS[command][4], field, value)))
    except ValueError:
        return True
    return False


@pytest.mark.parametrize(
    ("command", "field", "accepted", "refused"),
    [
        ("minutes", "self_criticism_minutes", [0, 601, MAX_COUNT], [-1, MAX_COUNT + 1]),
        ("minutes", "resolutions.0.votes_for", [MAX_COUNT], [MAX_COUNT + 1]),
        ("approval", "votes_for", [MAX_COUNT], [MAX_COUNT + 1]),
        ("schedule", "agenda", [["Mục"] * MAX_ITEMS], [["Mục"] * (MAX_ITEMS + 1)]),
        ("minutes", "speakers", [["m1"] * MAX_ITEMS], [["m1"] * (MAX_ITEMS + 1)]),
        ("attendance", "guests", [[{"name": "Khách"}] * MAX_ITEMS], [[{"name": "Khách"}] * (MAX_ITEMS + 1)]),
        (
            "documents",
            "items",
            [[{"title": "Tài liệu", "kind": "content"}] * MAX_ITEMS],
            [[{"title": "Tài liệu", "kind": "content"}] * (MAX_ITEMS + 1)],
        ),
    ],
)
async def test_the_api_accepts_what_the_contract_accepts_and_refuses_what_it_refuses(
    client: httpx.AsyncClient,
    headers: dict[str, dict[str, str]],
    world: World,
    command: str,
    field: str,
    accepted: list[Any],
    refused: list[Any],
) -> None:
    """The limits are the contract's (shared.contracts.base): a value at its bound passes both, one past it neither."""
    for value in accepted:
        assert not _contract_refuses(command, field, value), value
        response = await send_command(client, headers, world, command, put(COMMANDS[command][4], field, value))
        assert response.status_code == 202, (field, response.text[:300])
    for value in refused:
        assert _contract_refuses(command, field, value), value
        response = await send_command(client, headers, world, command, put(COMMANDS[command][4], field, value))
        assert response.status_code == 422, response.text[:300]
        assert response.json()["field"] == field


BOUNDS = ("maxItems", "maxLength", "maximum", "exclusiveMaximum", "maxProperties", "pattern", "format", "type")
"""The JSON Schema keywords that say how much a field may hold and what it is; the API may ask more (a text to fill)
but never allow more or less than the contract."""


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return _resolve(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "anyOf" in schema:  # an optional field: its non-null form
        [kept] = [item for item in schema["anyOf"] if item.get("type") != "null"]
        return _resolve(kept, defs)
    return schema


def _bounds(schema: dict[str, Any], defs: dict[str, Any], path: str) -> dict[str, Any]:
    """Every bound of a property, nested lists, maps and models included, by path."""
    schema = _resolve(schema, defs)
    found = {f"{path}:{key}": schema[key] for key in BOUNDS if key in schema}
    if "items" in schema:
        found |= _bounds(schema["items"], defs, f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        found |= _bounds(schema["additionalProperties"], defs, f"{path}{{}}")
    if isinstance(schema.get("propertyNames"), dict):
        found |= _bounds(schema["propertyNames"], defs, f"{path}<key>")
    for name, inner in schema.get("properties", {}).items():
        found |= _bounds(inner, defs, f"{path}.{name}")
    return found


def _shared_bounds(model: type[BaseModel], other: type[BaseModel]) -> dict[str, Any]:
    schema, theirs = model.model_json_schema(), other.model_json_schema()
    names = set(schema["properties"]) & set(theirs["properties"])
    defs = schema.get("$defs", {})
    found: dict[str, Any] = {}
    for name in sorted(names):
        found |= _bounds(schema["properties"][name], defs, name)
    return found


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_bodys_limits_are_the_contracts(command: str) -> None:
    """Field by field, nested ones included: the same maxima, patterns and formats as the contract's model."""
    _method, _path, body, event, _valid = COMMANDS[command]
    ours, theirs = _shared_bounds(body, event), _shared_bounds(event, body)
    common = set(ours) & set(theirs)
    assert {key: ours[key] for key in common} == {key: theirs[key] for key in common}
    # every bound the contract sets on a field the body carries is set by the body too
    assert set(theirs) <= set(ours), sorted(set(theirs) - set(ours))


async def test_scheduling_a_known_meeting_id_is_a_409_naming_meeting_id_and_changes_nothing(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    meeting = random_id(world.cell_a1)
    url = f"/v1/cells/{world.cell_a1}/meetings"
    thematic = {**SCHEDULE, "meeting_id": meeting, "kind": "thematic", "topic": "Học tập nghị quyết"}
    first = await client.post(url, json=thematic, headers=headers["secretary"])
    assert first.status_code == 202 and first.json()["outcome"] == "accepted", first.text
    before = len(world.ingested)
    moved = {**SCHEDULE, "meeting_id": meeting, "starts_at": "2026-12-10T19:00:00+07:00"}
    again = await client.post(url, json=moved, headers=headers["secretary"])
    assert again.status_code == 409, again.text
    error = again.json()
    assert (error["code"], error["field"], error["reason_code"]) == ("conflict", "meeting_id", "meeting_exists")
    assert f"/v1/meetings/{meeting}/reschedule" in error["message"]
    assert len(world.ingested) == before


@pytest.mark.parametrize(
    ("command", "field", "value", "said"),
    [
        ("reschedule", "starts_at", "2026-12-15T19:30+07:00", "starts_at: "),
        ("documents", "items.0.url", "ftp://example.vn/a.pdf", "items.0.url: must begin with http:// or https://"),
        ("schedule", "topic", None, "topic: a thematic meeting needs a topic"),
    ],
)
async def test_a_refused_body_says_the_reason_without_the_validation_librarys_wording(
    client: httpx.AsyncClient,
    headers: dict[str, dict[str, str]],
    world: World,
    command: str,
    field: str,
    value: Any,
    said: str,
) -> None:
    """A trial read "items.0.url: Value error, …" and "starts_at: Value error, …" from the secretary API: the reason is
    ours (shared.envelope.validation_message), as the event route says it, never pydantic's "Value error, " prefix."""
    body = put(COMMANDS[command][4], field, value) if value is not None else {**SCHEDULE, "kind": "thematic"}
    response = await send_command(client, headers, world, command, body)
    assert response.status_code == 422, response.text
    message = response.json()["message"]
    assert message.startswith(said) and "Value error" not in message, message
