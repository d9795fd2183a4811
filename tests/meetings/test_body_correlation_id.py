"""The one correlation id a POST /v1/events body's events name (docs/operations.md) is found in meetings' one strict
reading of the body: the gateway parsed every body a second time only to find it (about 6 ms of a 1,000-event batch's
gateway time). Each case is what the gateway's own parse answered: refused events count, a body naming none or
several ids, or one not of the extension syntax, is followed by the request's id."""

import json
from typing import Any

import pytest

from services.meetings.handlers.ingest import binary_reading, body_correlation_id, read_batch_body, read_raw
from shared.bindings import read_message
from shared.envelope import InvalidEvent


def event(**extensions: Any) -> dict[str, Any]:
    """A valid org.unit.upserted.v1 with any extension attributes given."""
    return {
        "specversion": "1.0",
        "id": "evt-1",
        "source": "urn:test:correlation",
        "type": "org.unit.upserted.v1",
        "time": "2026-11-01T08:00:00+07:00",
        "data": {"id": "cell-1", "name": "Chi bộ thôn Đông", "kind": "committee", "parent_id": None},
        **extensions,
    }


def refused_data(**extensions: Any) -> dict[str, Any]:
    """An event refused for its data (no name), its envelope read."""
    refused = event(**extensions)
    del refused["data"]["name"]
    return refused


def refused_envelope(**extensions: Any) -> dict[str, Any]:
    """An event whose envelope does not read (no specversion)."""
    refused = event(**extensions)
    del refused["specversion"]
    return refused


BATCHES: dict[str, tuple[list[Any], str | None]] = {
    "all-name-one": ([event(correlationid="c-1"), event(correlationid="c-1")], "c-1"),
    "two-ids": ([event(correlationid="c-1"), event(correlationid="c-2")], None),
    "one-names-none": ([event(correlationid="c-1"), event()], None),
    "none-named": ([event(), event()], None),
    "refused-for-data-counts": ([event(correlationid="c-1"), refused_data(correlationid="c-1")], "c-1"),
    "refused-envelope-counts": ([event(correlationid="c-1"), refused_envelope(correlationid="c-1")], "c-1"),
    "not-an-object": ([event(correlationid="c-1"), 42], None),
    "not-extension-syntax": ([event(correlationid="c 1"), event(correlationid="c 1")], None),
    "not-text": ([refused_envelope(correlationid=7)], None),
    "a-list": ([refused_envelope(correlationid=["c-1"]), refused_envelope(correlationid=["c-1"])], None),
    "an-object-beside-an-id": ([event(correlationid="c-1"), refused_envelope(correlationid={"id": "c-1"})], None),
}


@pytest.mark.parametrize(("items", "expected"), BATCHES.values(), ids=BATCHES.keys())
def test_a_batch_is_followed_by_the_one_id_all_its_events_name(items: list[Any], expected: str | None) -> None:
    assert body_correlation_id(read_batch_body(json.dumps(items).encode())) == expected


SINGLES: dict[str, tuple[Any, str | None]] = {
    "named": (event(correlationid="c-1"), "c-1"),
    "none": (event(), None),
    "refused-for-data": (refused_data(correlationid="c-1"), "c-1"),
    "refused-envelope": (refused_envelope(correlationid="c-1"), "c-1"),
    "no-object": ([1], None),
    "an-object": (refused_envelope(correlationid={"id": "c-1"}), None),
}


@pytest.mark.parametrize(("sent", "expected"), SINGLES.values(), ids=SINGLES.keys())
def test_a_structured_event_is_followed_by_its_own_id_refused_or_not(sent: Any, expected: str | None) -> None:
    assert body_correlation_id([read_raw(json.dumps(sent).encode())]) == expected


BINARY = {
    "ce-specversion": "1.0",
    "ce-id": "evt-1",
    "ce-source": "urn:test:correlation",
    "ce-type": "org.unit.upserted.v1",
    "ce-time": "2026-11-01T08:00:00+07:00",
}
DATA = {"id": "cell-1", "name": "Chi bộ thôn Đông", "kind": "committee", "parent_id": None}


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"ce-correlationid": "c%2D1"}, "c-1"),  # percent-encoded as the HTTP binding writes it
        ({}, None),
        ({"ce-correlationid": "c%ZZ"}, None),  # unreadable: refused naming it, no id to follow
        ({"ce-correlationid": "c-1", "ce-time": "not a time"}, "c-1"),  # another header refused: still its own
        ({"ce-correlationid": ["c-1", "c-1"]}, None),  # given twice: refused naming it, no id to follow
    ],
    ids=["header", "no-header", "malformed-header", "other-header-refused", "header-twice"],
)
def test_a_binary_mode_event_is_followed_by_its_ce_correlationid_header(
    extra: dict[str, str | list[str]], expected: str | None
) -> None:
    headers = [
        (name, value)
        for name, given in {**BINARY, **extra}.items()
        for value in (given if isinstance(given, list) else [given])
    ]
    try:
        incoming: Any = read_message(headers, "application/json", json.dumps(DATA).encode(), route="http")
    except InvalidEvent as exc:
        incoming = exc
    assert body_correlation_id([binary_reading(incoming)]) == expected
