"""A binary-mode event whose body reads clean is not walked again (issue 12, h386): its `data` was read with
json.loads's Python hooks and then walked value by value by check_tree, about a fifth of a binary-mode delivery's CPU
in meetings, on every route and in every consumer. A clean body (read_value: no `\\u` escape, NFC, no number or key
check_tree refuses, nesting within bounds) and plain ASCII attribute headers are taken as they are; anything else is
walked and refused as before, naming the same field."""

import json
from types import SimpleNamespace
from typing import Any

import pytest

import shared.envelope
from shared.bindings import read_message
from shared.consuming import read_delivery
from shared.envelope import InvalidEvent, parse_envelope
from shared.reading import MAX_DEPTH

HEADERS = {
    "ce-id": "evt-1",
    "ce-specversion": "1.0",
    "ce-source": "urn:test",
    "ce-type": "org.unit.upserted.v1",
    "ce-time": "2026-11-01T08:00:00+07:00",
}
DATA = {"id": "cell-1", "name": "Chi bộ Thôn Đông", "kind": "cell", "parent_id": "xa-1", "levels": [1, 2.5, True]}
CLEAN_BODIES = {
    "compact": json.dumps(DATA, ensure_ascii=False, separators=(",", ":")).encode(),
    "spaced": json.dumps(DATA, ensure_ascii=False).encode(),
}


@pytest.fixture
def walks(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The values parse_envelope walks with check_tree."""
    walked: list[Any] = []
    walk = shared.envelope.check_tree

    def counted(value: Any, *args: Any, **kwargs: Any) -> Any:
        walked.append(value)
        return walk(value, *args, **kwargs)

    monkeypatch.setattr(shared.envelope, "check_tree", counted)
    return walked


@pytest.mark.parametrize("form", sorted(CLEAN_BODIES))
def test_a_clean_binary_body_is_read_once_and_not_walked(form: str, walks: list[Any]) -> None:
    body = CLEAN_BODIES[form]
    raw = SimpleNamespace(body=body, headers=HEADERS, content_type="application/json")
    assert read_delivery(raw).data == DATA  # type: ignore[arg-type]  # as evaluation and notifications read one
    assert walks == []
    for route, headers in (("amqp", HEADERS), ("http", list(HEADERS.items()))):
        incoming = read_message(headers, "application/json", body, route=route)
        assert incoming.checked and incoming.event is not None
        envelope = parse_envelope(incoming.event, checked=incoming.checked)
        assert walks == []
        assert envelope == parse_envelope(dict(incoming.event))  # the same envelope as the walked reading's
        assert envelope.data == DATA
        walks.clear()


REFUSED = {
    "a key given twice": (b'{"id":"a","id":"b"}', HEADERS, "data.id"),
    "a NaN": (b'{"score":NaN}', HEADERS, "data.score"),
    "an infinite number": (b'{"score": 1e400}', HEADERS, "data.score"),
    "U+0000 escaped": (b'{"name":"a\\u0000b"}', HEADERS, "data.name"),
    "an unpaired surrogate": (b'{"name":"\\ud800"}', HEADERS, "data.name"),
    "nesting too deep": (b'{"a":' * MAX_DEPTH + b"1" + b"}" * MAX_DEPTH, HEADERS, "data.a.a.a"),
    "a header with U+0000": (b'{"id":"a"}', {**HEADERS, "ce-subject": "a\x00b"}, "subject"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_binary_event_that_is_not_clean_is_walked_and_refused_naming_the_field(case: str) -> None:
    body, headers, field = REFUSED[case]
    incoming = read_message(headers, "application/json", body, route="amqp")
    assert not incoming.checked and incoming.event is not None
    with pytest.raises(InvalidEvent) as refused:
        parse_envelope(incoming.event, checked=incoming.checked)
    assert refused.value.field is not None and refused.value.field.startswith(field)


def test_text_not_in_nfc_or_escaped_is_walked_and_read_as_before(walks: list[Any]) -> None:
    decomposed = "Chi bo\u0323"  # a combining dot below: NFC composes it
    for body in (json.dumps({"name": decomposed}, ensure_ascii=False).encode(), json.dumps({"name": "Bộ"}).encode()):
        incoming = read_message(HEADERS, "application/json", body, route="amqp")
        assert not incoming.checked and incoming.event is not None
        envelope = parse_envelope(incoming.event, checked=incoming.checked)
        assert envelope.data["name"] in ("Chi bọ", "Bộ") and walks


def test_data_may_nest_one_level_less_than_the_event() -> None:
    data_levels = MAX_DEPTH - 1  # data is the event's level 2
    deepest = b'{"a":' * data_levels + b"1" + b"}" * data_levels  # containers 30 levels below data: allowed
    incoming = read_message(HEADERS, "application/json", deepest, route="amqp")
    assert incoming.checked and incoming.event is not None
    parse_envelope(incoming.event, checked=True)
    assert parse_envelope(dict(incoming.event)).data == incoming.event["data"]
