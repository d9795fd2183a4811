"""An envelope's time keeps the digits below its microsecond: RFC 3339 allows nine and CONTRACT.md accepts them, but
a datetime keeps six; the rest is read beside it (`time_ns`) and written back when the envelope is published again."""

import json
from datetime import UTC, datetime

import pytest

from shared.contracts.registry import read_event
from shared.envelope import CloudEvent, parse_envelope, sub_microsecond, time_text
from tests.support.events import raw_unit_upserted as _raw


@pytest.mark.parametrize(
    ("text", "nanoseconds"),
    [
        ("2026-11-03T10:00:00.000000100Z", 100),
        ("2026-11-03T10:00:00.000000200+07:00", 200),
        ("2026-11-03T10:00:00.1234567Z", 700),
        ("2026-11-03T10:00:00.12345678Z", 780),
        ("2026-11-03T10:00:00.999999999Z", 999),
        ("2026-11-03T10:00:00.123456Z", 0),
        ("2026-11-03T10:00:00Z", 0),
        ("2016-12-31T23:59:60.000000500Z", 0),
        (None, 0),
    ],
)
def test_reads_the_nanoseconds_below_the_microsecond(text: str | None, nanoseconds: int) -> None:
    assert sub_microsecond(text) == nanoseconds


def test_an_envelope_keeps_its_times_nanoseconds_through_json_and_a_new_envelope() -> None:
    envelope = parse_envelope(json.dumps(_raw("2026-11-03T17:00:00.000000100+07:00")))
    assert envelope.time == datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
    assert envelope.time_ns == 100
    assert read_event(envelope).time_ns == 100
    written = json.loads(envelope.to_json())
    assert written["time"] == "2026-11-03T17:00:00.000000100+07:00"
    assert envelope.model_dump(mode="json")["time"] == written["time"]
    assert parse_envelope(envelope.to_json()).time_ns == 100
    # an envelope made again from the event's time text (as meetings re-publishes) keeps every digit
    again = CloudEvent.model_validate({**_raw(read_event(envelope).time_text), "id": "evt-2"})
    assert (again.time, again.time_ns) == (envelope.time, 100)


def test_an_envelope_of_whole_microseconds_is_written_as_before() -> None:
    envelope = parse_envelope(json.dumps(_raw("2026-11-03T10:00:00.000001Z")))
    assert envelope.time_ns == 0
    assert json.loads(envelope.to_json())["time"] == "2026-11-03T10:00:00.000001Z"
    assert time_text(envelope.time) == "2026-11-03T10:00:00.000001Z"
    assert time_text(envelope.time, 5) == "2026-11-03T10:00:00.000001005Z"
    assert time_text(datetime(2026, 11, 3, 10, tzinfo=UTC), 5) == "2026-11-03T10:00:00.000000005Z"
