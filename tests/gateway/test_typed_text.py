"""A person's free text sent through the API is kept as the web forms keep it: without the characters that only steer
or hide text (bidirectional controls U+202A-U+202E, U+2066-U+2069, U+200E/F, zero-width ones). A title sent with a
right-to-left override through the JSON API reached the event, and every page, mail and PDF showed it reversed; the
same text typed in a form was cleaned (web/forms.text). A text left blank by that is refused naming its field."""

import types
import typing
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter, ValidationError

import services.gateway.main  # noqa: F401 (every request body's model defined)
from tests.gateway.bodies import put, request_bodies, send_command
from tests.gateway.fakes import World
from tests.gateway.test_command_bodies import COMMANDS, SCHEDULE
from tests.support.ids import random_id

STEERING = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u200b\u200c\u200d\u2060\ufeff"
"""Every bidirectional control and zero-width character a person's text is cleaned of."""
SENT = "\u202eBáo cáo\u200b chi bộ\u2066 tháng 11\u2069\u200f"
KEPT = "Báo cáo chi bộ tháng 11"
BLANK = "\u202e\u200b\u2066\u2069\u200e"

TEXT_FIELDS = [
    ("schedule", "topic"),
    ("schedule", "location"),
    ("schedule", "agenda.0"),
    ("reschedule", "location"),
    ("reschedule", "reason"),
    ("cancel", "reason"),
    ("documents", "items.0.title"),
    ("attendance", "records.0.reason"),
    ("attendance", "guests.0.name"),
    ("minutes", "content"),
    ("minutes", "conclusions"),
    ("minutes", "resolutions.0.text"),
    ("minutes", "tasks.0.description"),
    ("assessment", "comment"),
]
"""Every free-text field of the secretary's commands, as the path its 422 names."""
BASES: dict[tuple[str, str], dict[str, Any]] = {
    ("schedule", "topic"): {**SCHEDULE, "kind": "thematic", "topic": "Học tập nghị quyết"},
    ("attendance", "records.0.reason"): {"records": [{"member_id": "m1", "status": "excused", "reason": "Ốm"}]},
    ("attendance", "guests.0.name"): {"records": [{"member_id": "m1", "status": "present"}], "guests": [{"name": "K"}]},
}
"""Valid bodies carrying the field, where the command's listed body does not."""
NOT_TEXT = {
    ("HeldEventCreate", "source"),
    ("HeldEventCreate", "event_id"),
    ("HeldEventDropCreate", "source"),
    ("HeldEventDropCreate", "event_id"),
    ("DeadLetterReplayCreate", "event_id"),
    ("DeadLetterReplayCreate", "message_id"),
    ("DeadLetterReplayCreate", "key"),
    ("AccountCreate", "sources.0"),
    ("RejectionsDismissCreate", "code"),
    ("RejectionsDismissCreate", "source"),
    ("RejectionsDismissCreate", "sender"),
    ("DocumentItemCreate", "url"),
    ("FrameworkCreate", "document.<key>"),
    ("AlertRuleUpdate", "params.<key>"),
}
"""Strings of request bodies that are no person's text, kept exactly: the names of stored events, dead letters,
rejections' refusal codes, sources and senders looked up as they are, a document's address (its own check refuses
any of these characters), and documents their service reads by its own schema (a framework's keys and codes: its
labels are cleaned, framework_as_typed; rule parameters)."""


def _leaves(annotation: Any) -> list[tuple[str, Any]]:
    """The string types below a field's type, by path ("" for the field itself; "0" for a list's items, "<key>" for a
    map's keys); models are judged as bodies of their own."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base = typing.get_args(annotation)[0]
        return [("", annotation)] if base is str else _leaves(base)
    if annotation is str:
        return [("", annotation)]
    if origin is list:
        return [(f".0{path}".rstrip("."), form) for path, form in _leaves(typing.get_args(annotation)[0])]
    if origin is dict:
        key, value = typing.get_args(annotation)
        return [(".<key>", form) for path, form in _leaves(key) if not path] + [
            (f".{{}}{path}", form) for path, form in _leaves(value)
        ]
    if origin is typing.Union or isinstance(annotation, types.UnionType):
        return [leaf for argument in typing.get_args(annotation) for leaf in _leaves(argument)]
    return []


def _string_fields() -> dict[tuple[str, str], Any]:
    """Every string a request body reads that has no pattern (an id's or a code's syntax), by (model, path)."""
    found: dict[tuple[str, str], Any] = {}
    for model in request_bodies():
        for name, field in model.model_fields.items():
            form: Any = typing.Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
            for path, leaf in _leaves(form):
                if "pattern" not in TypeAdapter(leaf).json_schema():
                    found[(model.__name__, name + path)] = leaf
    return found


def test_every_persons_text_in_a_request_body_is_read_as_typed() -> None:
    """A body that grows a string is read as typed unless it is listed as no person's text: fail until it is."""
    strings = _string_fields()
    assert NOT_TEXT <= set(strings), sorted(NOT_TEXT - set(strings))
    for (model, path), leaf in sorted(strings.items()):
        if (model, path) in NOT_TEXT:
            continue
        adapter: TypeAdapter[Any] = TypeAdapter(leaf)
        assert adapter.validate_python(SENT) == KEPT, (model, path)
        with pytest.raises(ValidationError):
            adapter.validate_python(BLANK)
            pytest.fail(f"{model}.{path} takes a text of only controls")


def test_the_cases_cover_every_free_text_of_every_command_body() -> None:
    bodies = {command[2].__name__: name for name, command in COMMANDS.items()}
    nested = {"DocumentItemCreate": ("documents", "items.0."), "AttendanceRecordCreate": ("attendance", "records.0.")}
    nested |= {
        "GuestCreate": ("attendance", "guests.0."),
        "ResolutionCreate": ("minutes", "resolutions.0."),
        "TaskCreate": ("minutes", "tasks.0."),
    }
    found = set()
    for model, path in set(_string_fields()) - NOT_TEXT:
        if model in bodies:
            found.add((bodies[model], path))
        elif model in nested:
            command, prefix = nested[model]
            found.add((command, prefix + path))
    assert found == set(TEXT_FIELDS)


def _get(data: Any, path: str) -> Any:
    for part in path.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


@pytest.mark.parametrize(("command", "field"), TEXT_FIELDS)
async def test_a_text_sent_through_the_api_reaches_the_event_without_steering_characters(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, command: str, field: str
) -> None:
    base = BASES.get((command, field), COMMANDS[command][4])
    response = await send_command(client, headers, world, command, put(base, field, SENT))
    assert response.status_code == 202, response.text
    [event] = [event for event in world.ingested if event["id"] == response.json()["event_id"]]
    assert _get(event["data"], field) == KEPT
    assert not set(STEERING) & set(str(event["data"]))


@pytest.mark.parametrize(("command", "field"), TEXT_FIELDS)
async def test_a_text_of_only_steering_characters_is_a_422_naming_the_field(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, command: str, field: str
) -> None:
    before = len(world.ingested)
    base = BASES.get((command, field), COMMANDS[command][4])
    response = await send_command(client, headers, world, command, put(base, field, BLANK))
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert len(world.ingested) == before  # nothing reached meetings


async def test_an_operators_dismissal_reason_is_kept_without_steering_characters(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    first = next(iter(world.rejections.values()))
    rejection = {**first, "rejection_id": random_id("rej"), "status": "open"}
    world.rejections[rejection["rejection_id"]] = rejection
    path = f"/v1/rejections/{rejection['rejection_id']}/dismiss"
    blank = await client.post(path, json={"reason": BLANK + "  "}, headers=headers["operator"])
    assert blank.status_code == 422 and blank.json()["field"] == "reason", blank.text
    assert world.rejections[rejection["rejection_id"]]["status"] == "open"
    closed = await client.post(path, json={"reason": SENT}, headers=headers["operator"])
    assert closed.status_code == 200, closed.text
    assert world.rejections[rejection["rejection_id"]]["dismissal_reason"] == KEPT


async def test_the_labels_of_a_framework_document_are_kept_without_steering_characters(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    """The person-readable texts of a framework (its name, issuer, document number, each criterion's and item's label)
    are shown on pages, in explanations and PDFs like any other: cleaned as typed; its codes and ids are not touched
    (evaluation's own schema judges them as sent)."""
    framework_id = random_id("fw")
    label = "\u202eChuẩn bị\u200b nội dung"
    item = {"code": "preparation.content", "name": label, "max": 3, "rule": {"kind": "manual"}}
    document = {
        "id": framework_id,
        "version": "1",
        "name": "Tiêu chí\u200b 2026\u202e",
        "issuer": "\u2066Tỉnh ủy\u2069 Demo",
        "document_number": "15\u200b-QĐi/TU",
        "groups": [{"code": "3", "name": "Công tác\u202e chuẩn bị", "items": [item]}],
    }
    adopted = await client.post("/v1/frameworks", json={"document": document}, headers=headers["admin"])
    assert adopted.status_code == 201, adopted.text
    stored = world.frameworks[framework_id]
    said = (stored["name"], stored["issuer"], stored["document_number"])
    assert said == ("Tiêu chí 2026", "Tỉnh ủy Demo", "15-QĐi/TU")
    assert stored["groups"][0]["name"] == "Công tác chuẩn bị"
    assert stored["groups"][0]["items"][0]["name"] == "Chuẩn bị nội dung"
    assert stored["groups"][0]["items"][0]["code"] == "preparation.content"
    assert not set(STEERING) & set(str(stored))
