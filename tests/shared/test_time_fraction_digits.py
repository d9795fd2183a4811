"""RFC 3339 allows any number of fraction digits (`time-secfrac = "." 1*DIGIT`): a trial's time with twelve was refused
"must be RFC 3339" on both routes. Any count is read up to TIME_MAX_LENGTH characters, digits below the nanosecond
dropped, in the body (structured mode) and in a `ce-time` / `cloudEvents_time` header (binary mode) alike."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.bindings import read_message
from shared.envelope import TIME_MAX_LENGTH, CloudEvent, InvalidEvent, parse_envelope, sub_microsecond
from tests.support.events import TWELVE_DIGITS_TIME as TWELVE
from tests.support.events import raw_unit_upserted as _event


def _binary(route: str, prefix: str, time: str) -> CloudEvent:
    event = _event(time)
    headers = {f"{prefix}{name}": value for name, value in event.items() if name != "data"}
    incoming = read_message(headers, "application/json", json.dumps(event["data"]).encode(), route=route)
    assert incoming.event is not None
    return parse_envelope(json.dumps(incoming.event))


@pytest.mark.parametrize(
    "read",
    [
        lambda time: parse_envelope(json.dumps(_event(time))),  # structured, either route
        lambda time: _binary("http", "ce-", time),
        lambda time: _binary("amqp", "ce-", time),
        lambda time: _binary("amqp", "cloudEvents_", time),
    ],
    ids=["structured", "http-binary", "amqp-binary-ce", "amqp-binary-cloudEvents"],
)
def test_a_time_with_more_than_nine_fraction_digits_is_read_to_the_nanosecond(read: Any) -> None:
    envelope = read(TWELVE)
    assert envelope.time == datetime(2026, 11, 1, 1, 0, 0, 123456, tzinfo=UTC)
    assert envelope.time_ns == 789
    # equal to the nanosecond: the same moment as nine digits say, so two such snapshots break their tie by id
    nine = read(TWELVE.replace("789012", "789"))
    assert (nine.time, nine.time_ns) == (envelope.time, envelope.time_ns)


def test_sub_microsecond_drops_digits_below_the_nanosecond() -> None:
    assert sub_microsecond(TWELVE) == 789
    assert sub_microsecond("2026-11-01T08:00:00.1234567" + "9" * 60 + "Z") == 799


def test_a_time_over_its_length_bound_is_refused_naming_time() -> None:
    fraction = "1" * (TIME_MAX_LENGTH - len("2026-11-01T08:00:00.+07:00") + 1)
    with pytest.raises(InvalidEvent) as refused:
        parse_envelope(json.dumps(_event(f"2026-11-01T08:00:00.{fraction}+07:00")))
    assert refused.value.field == "time"
    assert f"at most {TIME_MAX_LENGTH} characters" in refused.value.reason
