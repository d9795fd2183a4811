"""The envelope and the contract models: what is accepted and how rejections name the field."""

import json
import os
import time
import uuid
from datetime import date, datetime
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from shared.bindings import structured_from_binary
from shared.contracts.meetings import MeetingScheduled
from shared.contracts.registry import read_event
from shared.envelope import (
    BATCH_CONTENT_TYPE,
    CloudEvent,
    InvalidEvent,
    is_batch,
    new_event,
    new_event_of_checked,
    new_id,
    parse_batch,
    parse_envelope,
    read_batch,
    validation_message,
)
from shared.reading import MAX_EVENT_BYTES


def envelope(event_type: str, data: dict, **overrides: object) -> dict:
    """A well-formed CloudEvent around `data`."""
    return {
        "specversion": "1.0",
        "id": "evt-1",
        "source": "urn:test",
        "type": event_type,
        "time": "2026-11-03T19:00:00+07:00",
        "data": data,
        **overrides,
    }


def test_accepts_a_well_formed_meeting_scheduled() -> None:
    raw = envelope(
        "meeting.scheduled.v1",
        {
            "meeting_id": "m1",
            "cell_id": "c1",
            "kind": "regular",
            "starts_at": "2026-11-03T19:00:00+07:00",
            "location": "Nhà văn hóa thôn 1",
            "agenda": ["Kiểm điểm nghị quyết tháng trước"],
        },
    )
    event = read_event(parse_envelope(json.dumps(raw)))
    assert isinstance(event.data, MeetingScheduled)
    assert event.data.meeting_id == "m1"
    assert event.data.committee_prepared is None


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"{not json", "body"),
        (
            envelope("meeting.cancelled.v1", {"meeting_id": "m1", "reason": "mưa bão"}, time="2026-11-03T19:00:00"),
            "time",
        ),
        (envelope("meeting.cancelled.v1", {"meeting_id": "m1", "reason": "x"}, specversion="0.3"), "specversion"),
    ],
)
def test_rejects_a_bad_envelope_naming_the_field(raw: object, field: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_envelope(raw if isinstance(raw, bytes) else json.dumps(raw))
    assert caught.value.field == field


@pytest.mark.parametrize(
    "source", ["not a uri", "1abc:x", "a%2", "caf\u00e9", "urn:x y", "<urn:x>", "https://a.vn/\u00a0"]
)
def test_a_source_that_is_not_a_uri_reference_is_rejected_naming_it(source: str) -> None:
    """CONTRACT.md: `source` is a URI naming the sending system (CloudEvents: a URI-reference). A name with spaces or
    raw non-ASCII was accepted, and the event was then held or kept under a source no one can register."""
    raw = envelope("meeting.cancelled.v1", {"meeting_id": "m1", "reason": "x"}, source=source)
    with pytest.raises(InvalidEvent) as caught:
        read_event(parse_envelope(json.dumps(raw)))
    assert caught.value.field == "source" and "URI reference" in str(caught.value)


@pytest.mark.parametrize(
    "source", ["urn:chibo:handbook", "https://sotay.dangvien.vn/api?v=1", "/feeds/check-in", "x", "urn:a:%C3%A9"]
)
def test_uri_references_are_sources(source: str) -> None:
    raw = envelope("meeting.cancelled.v1", {"meeting_id": "m1", "reason": "x"}, source=source)
    assert read_event(parse_envelope(json.dumps(raw))).source == source


@pytest.mark.parametrize(
    ("event_type", "data", "field"),
    [
        (
            "meeting.scheduled.v1",
            {
                "meeting_id": "m1",
                "cell_id": "c1",
                "kind": "thematic",
                "starts_at": "2026-11-03T19:00:00+07:00",
                "location": "x",
                "agenda": [],
            },
            "data.topic",
        ),
        (
            "minutes.submitted.v1",
            {
                "meeting_id": "m1",
                "started_at": "2026-11-03T19:00:00+07:00",
                "ended_at": "2026-11-03T18:00:00+07:00",
                "chair_id": "a",
                "recorder_id": "b",
                "speakers": [],
                "resolutions": [],
                "tasks": [],
            },
            "data.ended_at",
        ),
        (
            "attendance.recorded.v1",
            {"meeting_id": "m1", "records": [{"member_id": "a", "status": "late"}]},
            "data.records.0.status",
        ),
        ("meeting.cancelled.v1", {"meeting_id": "bad id!", "reason": "x"}, "data.meeting_id"),
        ("no.such.type.v1", {}, "type"),
    ],
)
def test_rejects_invalid_data_naming_the_field(event_type: str, data: dict, field: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        read_event(parse_envelope(json.dumps(envelope(event_type, data))))
    assert caught.value.field == field
    assert field in caught.value.reason


def test_batch_must_be_an_array_of_at_most_1000() -> None:
    assert len(parse_batch(json.dumps([{}] * 1000))) == 1000
    with pytest.raises(InvalidEvent):
        parse_batch(json.dumps([{}] * 1001))
    with pytest.raises(InvalidEvent):
        parse_batch(json.dumps({"not": "a list"}))


def test_new_event_keeps_required_fields_whose_value_is_null() -> None:
    from shared.contracts.meetings import OrgUnitUpserted
    from shared.envelope import new_event

    unit = OrgUnitUpserted(id="root", name="Tỉnh ủy", kind="committee", parent_id=None)
    event = new_event(type="org.unit.upserted.v1", source="urn:test", data=unit)

    assert event.data["parent_id"] is None
    assert read_event(parse_envelope(event.to_json())).data == unit


def _cancelled_with(twice: bytes) -> bytes:
    """A meeting.cancelled.v1 whose body has `twice` inserted at the start of its data object."""
    body = json.dumps(envelope("meeting.cancelled.v1", {"meeting_id": "m1", "reason": "mưa bão"})).encode()
    return body.replace(b'"data": {', b'"data": {' + twice, 1)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_cancelled_with(b'"meeting_id": "m0", '), "data.meeting_id"),
        (_cancelled_with(b'"x": {"a": 1, "a": 2}, '), "data.x.a"),
        (_cancelled_with(b'"x": [{}, {"a": 1, "a": 1}], '), "data.x.1.a"),
        (b'{"id": "e0", ' + _cancelled_with(b"")[1:], "id"),
    ],
)
def test_a_key_given_twice_is_rejected_naming_its_path(body: bytes, field: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_envelope(body)
    assert (caught.value.field, caught.value.reason) == (field, f"{field}: duplicate key")
    [item] = parse_batch(b"[" + body + b"]")
    with pytest.raises(InvalidEvent) as in_batch:
        parse_envelope(item)
    assert in_batch.value.field == field


def test_a_binary_mode_body_with_a_key_given_twice_is_rejected_naming_it() -> None:
    attributes = {"specversion": "1.0", "id": "e1", "source": "urn:test", "type": "meeting.cancelled.v1"}
    event = structured_from_binary(
        {**attributes, "time": "2026-11-03T19:00:00+07:00"},
        "application/json",
        b'{"meeting_id": "m1", "reason": "x", "reason": "y"}',
    )
    with pytest.raises(InvalidEvent) as caught:
        parse_envelope(event)
    assert caught.value.field == "data.reason"


READ_ONCE_CASES = {
    "plain text": '{"a": "Nhà văn hóa thôn 1", "b": [1, 2.5, true, null]}',
    "NFD text": '{"a": "Nha\u0300 va\u0306n"}',  # decomposed: stored in NFC
    "NFD text escaped": '{"a": "Nha\\u0300"}',
    "combining mark after an escape": '{"a": "x\\n\u0301"}',
    "NUL escaped": '{"a": {"b": "L\\u00ea\\u0000"}}',
    "escaped surrogate": '{"a": "\\udc00"}',
    "escaped key": '{"\\u0000": 1}',
    "NFD key": '{"e\u0301": 1}',
    "NaN": '{"a": [NaN]}',
    "1e999": '{"a": {"b": 1e999}}',
    "32 levels": '{"a": ' + "[" * 31 + "]" * 31 + "}",
    "33 levels": '{"a": ' + "[" * 32 + "]" * 32 + "}",
    "33 levels in objects": '{"a": ' + '{"b": ' * 32 + "1" + "}" * 32 + "}",
    "key given twice": '{"a": {"b": 1, "b": 1}}',
    "key given twice deep": '{"a": [' + '{"b": ' * 20 + '{"c": 1, "c": 2}' + "}" * 20 + "]}",
    "brackets in text": '{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[{{{{"}',
}


def _walked(text: str) -> object:
    """What the full walk (check_tree over the parsed text) makes of a text: its value or its error."""
    from shared.reading import ReadError, check_tree, loads

    try:
        return check_tree(loads(text))
    except ReadError as exc:
        return ("error", exc.field, exc.reason)


@pytest.mark.parametrize("text", READ_ONCE_CASES.values(), ids=READ_ONCE_CASES.keys())
def test_text_found_clean_skips_the_walk_only_when_the_walk_would_change_nothing(text: str) -> None:
    from shared.reading import ReadError, check_tree, read_value

    for raw in (text, text.encode()):
        value, clean = read_value(raw)
        try:
            walked = check_tree(value)
        except ReadError as exc:
            assert not clean, "a value the walk refuses was found clean"
            assert _walked(text) == ("error", exc.field, exc.reason)
            continue
        if clean:
            assert walked == value


COMPACT_CASES = {
    **READ_ONCE_CASES,
    **{f"{name}, compact": text.replace(": ", ":").replace(", ", ",") for name, text in READ_ONCE_CASES.items()},
    "compact": '{"a":"Nhà văn hóa","b":[1,2.5,true,null,{"c":-0.0}],"d":12345678901234567890}',
    "key given twice, compact": '{"a":1,"a":1}',
    "NaN, compact": '{"a":NaN}',
    "Infinity, compact": '{"a":[Infinity]}',
    "float written long": '{"a":1.50}',
    "escaped slash": '{"a":"x\\/y"}',
    "surrogate itself": '{"a":"Nhà \udc00"}',
    "too large": '{"a":"' + "x" * (1 << 20) + '"}',
}


@pytest.mark.parametrize("text", COMPACT_CASES.values(), ids=COMPACT_CASES.keys())
def test_a_compact_line_reads_at_c_speed_only_as_read_value_finds_it_clean(text: str) -> None:
    from shared.reading import ReadError, read_compact, read_value

    fast = read_compact(text)
    try:
        value, clean = read_value(text)
    except ReadError:
        assert fast is None
        return
    if fast is not None:
        assert clean and fast == value and json.dumps(fast) == json.dumps(value)
    elif text == COMPACT_CASES["compact"]:
        raise AssertionError("a compact, clean line was not read at C speed")


def test_a_str_holding_a_surrogate_itself_is_never_clean() -> None:
    from shared.reading import read_value

    assert read_value('{"a": "Nhà \udc00"}')[1] is False
    assert read_value('{"a": "Nhà"}')[1] is True


def test_a_clean_batch_is_checked_once_and_each_item_reads_as_alone() -> None:
    from shared.envelope import read_batch

    good = envelope("meeting.cancelled.v1", {"meeting_id": "m1", "reason": "mưa bão"})
    deep = envelope("meeting.cancelled.v1", {"meeting_id": "m2", "reason": "x", "extra": "@"})
    deep_text = json.dumps(deep).replace('"@"', "[" * 30 + "]" * 30)  # the item nests 32 levels: allowed
    batch = read_batch("[" + json.dumps(good, ensure_ascii=False) + ", " + deep_text + "]")
    assert batch.checked
    assert [parse_envelope(item, checked=True).data["meeting_id"] for item in batch.items] == ["m1", "m2"]

    too_deep = json.dumps(deep).replace('"@"', "[" * 31 + "]" * 31)  # 33 levels
    batch = read_batch("[" + json.dumps(good) + ", " + too_deep + "]")
    assert not batch.checked
    assert parse_envelope(batch.items[0], checked=batch.checked).data["meeting_id"] == "m1"
    with pytest.raises(InvalidEvent) as caught:
        parse_envelope(batch.items[1], checked=batch.checked)
    assert caught.value.field == "data.extra"

    nfd = envelope("meeting.cancelled.v1", {"meeting_id": "m3", "reason": "Nha\u0300"})
    batch = read_batch(json.dumps([good, nfd], ensure_ascii=False))
    assert not batch.checked
    assert parse_envelope(batch.items[1], checked=batch.checked).data["reason"] == "Nhà"


FAST_WAY_CASES = [
    '{"a":1,"b":[1.5,"x"],"c":{"d":null}}',
    '{"a":1,"a":2}',  # a key twice: the fast way writes it back once, so the hooks read it and mark it
    '{"a":NaN}',
    '{"a":1e999}',
    '{"a":"\\u0000"}',
    '{"a":"e\\u0301"}',
    '{"a":"ê"}',
    '{"a":"e\u0301"}',  # not NFC
    '{"a":12345678901234567890123}',
    '{"a":1.0,"b":0.1,"c":-0.0,"d":1E5}',
    "[" * 40 + "]" * 40,
    "null",
    "[]",
    '{"a":"x"} ',
]


@pytest.mark.parametrize("text", FAST_WAY_CASES)
def test_compact_text_reads_as_the_hooks_read_it(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from shared import reading

    def outcome() -> object:
        try:
            value, clean = reading.read_value(text.encode())
        except reading.ReadError as exc:
            return ("error", exc.reason, exc.field)
        try:
            checked = reading.check_tree(value)
        except reading.ReadError as exc:
            return ("refused", exc.reason, exc.field)
        assert not clean or checked == value  # clean: the walk would change nothing
        return (json.dumps(checked), clean or checked == value)

    fast = outcome()
    monkeypatch.setattr(reading, "_COMPACT_LOOKING", "")  # every text "looks" non-compact: the hooks only
    assert fast == outcome()


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([], True),
        ([("ce-id", "bn-5")], False),
        ([("Ce-Id", "bn-5")], False),
        ({"cloudEvents:id": "bn-5"}, False),
        ({"cloudEvents_id": "bn-5"}, False),
        ({"x-trace": "1"}, True),
    ],
)
def test_a_json_array_is_a_batch_only_without_attribute_headers(headers: object, expected: bool) -> None:
    assert is_batch("application/json", body=b" [1,2]", headers=headers) is expected  # type: ignore[arg-type]
    assert is_batch(BATCH_CONTENT_TYPE, body=b"[1,2]", headers=headers) is True  # type: ignore[arg-type]


def test_read_batch_names_the_items_over_the_per_event_limit() -> None:
    small = {"id": "a", "data": {"text": "x"}}
    large = {"id": "b", "data": {"text": "x" * MAX_EVENT_BYTES}}
    read = read_batch(json.dumps([small, large, small]))
    assert set(read.sizes) == {1} and read.sizes[1] > MAX_EVENT_BYTES
    assert read_batch(json.dumps([small, small])).sizes == {}


SCHEDULED = {
    "meeting_id": "m1",
    "cell_id": "c1",
    "kind": "regular",
    "starts_at": "2026-11-10T19:30:00+07:00",
    "location": "Nhà văn hóa",
    "agenda": ["Kiểm điểm"],
}


OUTSIDE = "outside 1900-01-01 to 2199-12-31"


@pytest.mark.parametrize(
    ("overrides", "field", "said"),
    [
        ({"time": "0001-01-01T00:00:00+07:00"}, "time", OUTSIDE),
        ({"time": "1899-12-31T23:59:59+07:00"}, "time", OUTSIDE),
        ({"data": SCHEDULED | {"notified_at": "0001-01-01T00:00:00+07:00"}}, "data.notified_at", OUTSIDE),
        # a meeting's start is said by the meeting rule (2000 to two years ahead), not the generic bound
        ({"data": SCHEDULED | {"starts_at": "2200-01-01T00:00:00+07:00"}}, "data.starts_at", "more than 2 years ahead"),
        ({"data": SCHEDULED | {"starts_at": "0001-01-01T00:00:00+07:00"}}, "data.starts_at", "before 2000-01-01"),
    ],
)
def test_times_outside_1900_to_2199_are_rejected_naming_them(overrides: dict[str, Any], field: str, said: str) -> None:
    """Year 1 at +07:00 is year 0 in UTC, and 9999-12-31 plus a day is no date: both failed the ingest with 500."""
    raw = envelope("meeting.scheduled.v1", SCHEDULED) | overrides
    with pytest.raises(InvalidEvent) as caught:
        read_event(parse_envelope(json.dumps(raw)))
    assert caught.value.field == field and said in caught.value.reason


def test_dataschema_is_a_core_attribute_read_as_a_uri() -> None:
    """CloudEvents 1.0's optional `dataschema` was refused as an extension over 128 characters of A-Za-z0-9._:-."""
    schema = "https://chibo.example/schemas/meeting.cancelled.v1"
    raw = envelope("meeting.cancelled.v1", {"meeting_id": "m1", "reason": "x"}, dataschema=schema)
    assert read_event(parse_envelope(json.dumps(raw))).envelope.dataschema == schema
    with pytest.raises(InvalidEvent) as caught:
        read_event(parse_envelope(json.dumps(raw | {"dataschema": "lược đồ"})))
    assert caught.value.field == "dataschema"


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "ftp://example.vn/a.pdf", "https://", "http://a b.vn", "nq.pdf"]
)
def test_a_document_is_at_an_http_address(url: str) -> None:
    """Members open documents by their address: `javascript:` and `ftp:` were accepted."""

    def published(address: str) -> dict[str, Any]:
        item = {"title": "Dự thảo nghị quyết", "kind": "draft_resolution", "url": address}
        data = {"meeting_id": "m1", "published_at": "2026-11-01T08:00:00+07:00", "items": [item]}
        return envelope("documents.published.v1", data)

    with pytest.raises(InvalidEvent) as caught:
        read_event(parse_envelope(json.dumps(published(url))))
    assert caught.value.field == "data.items.0.url"
    assert read_event(parse_envelope(json.dumps(published("http://x.vn")))).data.model_dump()["items"][0]["url"]


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59.999999+00:00"),
        ("2017-01-01T06:59:60+07:00", "2017-01-01T06:59:59.999999+07:00"),  # the same leap second at +07:00
        ("2015-06-30T23:59:60.5+00:00", "2015-06-30T23:59:59.999999+00:00"),
    ],
)
def test_a_leap_second_is_read_as_the_last_microsecond_of_its_minute(written: str, read: str) -> None:
    """RFC 3339 allows second 60 at 23:59 UTC on a month's last day; a trial's `2016-12-31T23:59:60Z` was refused as
    "unexpected extra characters". Every time read takes it: the envelope's `time` and a time in data."""
    raw = envelope("meeting.scheduled.v1", SCHEDULED | {"notified_at": written}, time=written)
    event = read_event(parse_envelope(json.dumps(raw)))
    assert event.time.isoformat() == read
    assert isinstance(event.data, MeetingScheduled) and event.data.notified_at is not None
    assert event.data.notified_at.isoformat() == read


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("2016-12-30T23:59:60Z", "a leap second (second 60) is only at 23:59 UTC on the last day of a month"),
        ("2016-12-31T23:59:60+07:00", "a leap second (second 60) is only at 23:59 UTC on the last day of a month"),
        ("2016-12-31T23:59:61Z", "a second is 00 to 59 (60 only for a leap second)"),
    ],
)
def test_a_second_60_where_no_leap_second_can_be_is_refused_saying_so(written: str, said: str) -> None:
    for raw, field in [
        (envelope("meeting.scheduled.v1", SCHEDULED, time=written), "time"),
        (envelope("meeting.scheduled.v1", SCHEDULED | {"notified_at": written}), "data.notified_at"),
    ]:
        with pytest.raises(InvalidEvent) as caught:
            read_event(parse_envelope(json.dumps(raw)))
        assert caught.value.field == field and caught.value.reason.startswith(f"{field}: {said}")


def test_new_ids_are_time_ordered_version_7_uuids_written_as_str_uuid_writes_them() -> None:
    ids = [new_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (7, uuid.RFC_4122, text)


def test_new_ids_of_a_later_millisecond_sort_after_earlier_ones() -> None:
    """An inbox takes them at its index's right edge (issue 12): the millisecond leads, in code point order too."""
    before = [new_id() for _ in range(50)]
    started = time.time_ns()
    while time.time_ns() // 1_000_000 <= started // 1_000_000 + 1:
        pass  # two millisecond boundaries: every id below was made in a later millisecond than every id above
    after = [new_id() for _ in range(50)]
    assert max(before) < min(after)
    assert all(int(text[:8] + text[9:13], 16) <= time.time_ns() // 1_000_000 for text in after)


@pytest.mark.parametrize(
    ("time", "optional"),
    [
        ("2026-11-03T19:00:00+07:00", {"subject": "m-1", "correlationid": "c-1", "causationid": "e-1"}),
        ("2026-11-03T12:00:00.123456789Z", {"originid": "e-1", "originsource": "urn:partner:x"}),
        ("2026-11-03T19:00:00.5+07:00", {}),
    ],
)
def test_an_envelope_of_checked_values_is_the_one_model_validate_makes(time: str, optional: dict[str, str]) -> None:
    validated = parse_envelope(json.dumps(envelope("meeting.scheduled.v1", SCHEDULED, time=time, **optional)))
    built = CloudEvent.of_checked(
        id=validated.id,
        source=validated.source,
        type=validated.type,
        time=validated.time,
        time_ns=validated.time_ns,
        data=validated.data,
        **optional,
    )
    assert built == validated
    assert built.to_json() == validated.to_json()
    assert (built.time_ns, built.model_fields_set, built.model_extra) == (
        validated.time_ns,
        validated.model_fields_set,
        validated.model_extra,
    )


@pytest.mark.parametrize(
    "optional",
    [{}, {"subject": "m-1"}, {"subject": "cell-9", "correlation_id": "c-1.x:y"}],
)
def test_an_event_of_checked_attributes_is_the_one_new_event_makes(optional: dict[str, str]) -> None:
    data = MeetingScheduled.model_validate(SCHEDULED)
    built = new_event_of_checked(type="meeting.scheduled.v1", source="urn:chibo:evaluation", data=data, **optional)
    validated = new_event(
        type="meeting.scheduled.v1",
        source="urn:chibo:evaluation",
        data=data,
        event_id=built.id,
        time=built.time,
        **optional,
    )
    assert built == validated
    assert built.to_json() == validated.to_json()
    assert (built.time_ns, built.model_fields_set, built.model_extra) == (
        validated.time_ns,
        validated.model_fields_set,
        validated.model_extra,
    )


@pytest.mark.parametrize("optional", [{"subject": ""}, {"subject": "s" * 257}, {"correlation_id": "bad value"}])
def test_an_event_of_checked_attributes_refuses_what_new_event_refuses(optional: dict[str, str]) -> None:
    data = MeetingScheduled.model_validate(SCHEDULED)
    with pytest.raises(ValidationError):
        new_event(type="meeting.scheduled.v1", source="urn:chibo:evaluation", data=data, **optional)
    with pytest.raises(ValidationError):
        new_event_of_checked(type="meeting.scheduled.v1", source="urn:chibo:evaluation", data=data, **optional)


def test_a_forked_child_never_repeats_the_ids_of_its_parent() -> None:
    new_id()  # the parent has random bytes fetched ahead
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child writes its ids and leaves)
        os.write(writer, "\n".join(new_id() for _ in range(300)).encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        theirs = set(pipe.read().split("\n"))
    os.waitpid(child, 0)
    ours = {new_id() for _ in range(300)}
    assert len(theirs) == 300 and not ours & theirs


IMPOSSIBLE_TIMES = [
    ("2026-12-30T24:00:00+07:00", "hour 24 is out of range: an hour is 00 to 23"),
    ("2026-12-30T19:60:00+07:00", "minute 60 is out of range: a minute is 00 to 59"),
    ("2026-12-30T19:00:00+25:00", "offset +25:00 is out of range: an offset is at most ±23:59"),
    ("2026-12-30T19:00:00-24:00", "offset -24:00 is out of range: an offset is at most ±23:59"),
    ("2026-12-30T19:00:00+07:60", "offset +07:60 is out of range: an offset is at most ±23:59"),
    ("2026-02-30T19:00:00+07:00", "day 30 is not in 2026-02, which has 28 days"),
    ("2026-04-31T19:00:00+07:00", "day 31 is not in 2026-04, which has 30 days"),
    ("2026-12-00T19:00:00+07:00", "day 00 is not in 2026-12, which has 31 days"),
    ("2026-13-01T19:00:00+07:00", "month 13 is out of range: a month is 01 to 12"),
    ("2025-02-29T19:00:00+07:00", "day 29 is not in 2025-02, which has 28 days"),
    ("2026-00-10T19:00:00Z", "month 00 is out of range: a month is 01 to 12"),
]


@pytest.mark.parametrize(
    "written",
    ["2024-02-29T19:00:00+07:00", "2026-01-31T23:59:59Z", "2026-04-30T00:00:00-23:59", "2026-12-29T08:00:00+23:00"],
)
def test_a_time_at_a_month_end_or_an_extreme_offset_is_read(written: str) -> None:
    """The range check reads most times by their digits alone and sends the 29th to 31st and the far offsets to
    the full reading: a real leap day, a 31st, a 30th and ±23:59 are all read, not refused."""
    event = read_event(parse_envelope(json.dumps(envelope("meeting.scheduled.v1", SCHEDULED, time=written))))
    assert event.time == datetime.fromisoformat(written.replace("Z", "+00:00"))


@pytest.mark.parametrize(("written", "said"), IMPOSSIBLE_TIMES)
def test_a_time_that_names_no_moment_is_refused_saying_what_is_out_of_range(written: str, said: str) -> None:
    """A trial's `T24:00:00+07:00`, `+25:00` and 30 February read "Input should be a valid datetime or date,
    unexpected extra characters at the end of the input": "or date" of a date-time field, and no rule. Every time an
    event carries (the envelope's `time`, a time in data) says which part is out of range, naming the field."""
    for raw, field in [
        (envelope("meeting.scheduled.v1", SCHEDULED, time=written), "time"),
        (envelope("meeting.scheduled.v1", SCHEDULED | {"starts_at": written}), "data.starts_at"),
    ]:
        with pytest.raises(InvalidEvent) as caught:
            read_event(parse_envelope(json.dumps(raw)))
        assert caught.value.field == field and caught.value.reason.startswith(f"{field}: {said}")
        assert "valid datetime" not in caught.value.reason and "or date" not in caught.value.reason


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("2026-02-30", "day 30 is not in 2026-02, which has 28 days"),
        ("2025-02-29", "day 29 is not in 2025-02, which has 28 days"),
        ("2026-13-01", "month 13 is out of range: a month is 01 to 12"),
        ("2026-12-32", "day 32 is not in 2026-12, which has 31 days"),
    ],
)
def test_a_date_that_names_no_day_is_refused_saying_which_part(written: str, said: str) -> None:
    raw = envelope(
        "member.upserted.v1",
        {"id": "m1", "cell_id": "c1", "full_name": "Nguyễn Văn A", "status": "official", "admitted_on": written},
    )
    with pytest.raises(InvalidEvent) as caught:
        read_event(parse_envelope(json.dumps(raw)))
    assert caught.value.field == "data.admitted_on"
    assert caught.value.reason.startswith(f"data.admitted_on: {said}"), caught.value.reason
    assert "or datetime" not in caught.value.reason


@pytest.mark.parametrize(("written", "said"), [*IMPOSSIBLE_TIMES, ("xx", "a time must be RFC 3339")])
def test_a_plain_datetime_field_says_the_same_in_its_reason(written: str, said: str) -> None:
    """A field typed `datetime` without the contract's validators (the library reads it itself): its reason says
    the same plain words (shared.envelope.validation_message), never "valid datetime or date"."""

    class Stamped(BaseModel):
        at: datetime
        on: date | None = None

    with pytest.raises(ValidationError) as caught:
        Stamped.model_validate({"at": written})
    assert validation_message(caught.value.errors()[0]).startswith(said)
    with pytest.raises(ValidationError) as caught:
        Stamped.model_validate({"at": "2026-12-30T19:00:00+07:00", "on": "2026-02-30"})
    assert validation_message(caught.value.errors()[0]) == "day 30 is not in 2026-02, which has 28 days"


TOO_LONG = "9" * 5_000
LONG_NUMBERS = {
    "in data": ('{"data": {"n": @}}', "data.n"),
    "negative, compact": ('{"data":{"n":-@}}', "data.n"),
    "in a list": ('{"data": {"agenda": [1, @]}}', "data.agenda.1"),
    "beside a NaN after it": ('{"data": {"n": @, "m": NaN}}', "data.n"),
}


@pytest.mark.parametrize(("text", "field"), LONG_NUMBERS.values(), ids=LONG_NUMBERS.keys())
def test_an_integer_of_too_many_digits_is_refused_naming_its_field_never_in_pythons_words(
    text: str, field: str
) -> None:
    """A trial's 5,000-digit number was refused as `body: not valid JSON (Exceeds the limit (4300 digits) for integer
    string conversion: …; use sys.set_int_max_str_digits() …)`: Python's words, to the sender and on the operator's
    page, naming no field. Every reading of JSON (an event, a batch, binary mode's data, the ops command line's
    parameters) names the field and says it in its own words."""
    from shared.reading import ReadError, check_tree, loads

    body = text.replace("@", TOO_LONG)
    said = f"{field}: number too long (5000 digits; at most 4300)"
    with pytest.raises(InvalidEvent) as caught:
        parse_envelope(body)
    assert (caught.value.field, caught.value.reason) == (field, said)
    with pytest.raises(ReadError) as read:
        check_tree(loads(body))
    assert (read.value.field, read.value.reason) == (field, said)
    batch = read_batch(f"[{body}]")
    with pytest.raises(InvalidEvent) as caught:
        parse_envelope(batch.items[0], checked=batch.checked)
    assert (caught.value.field, caught.value.reason) == (field, said)
    binary = structured_from_binary({"id": "e1"}, "application/json", ('{"n": ' + TOO_LONG + "}").encode())
    with pytest.raises(InvalidEvent) as caught:
        parse_envelope(binary)
    assert (caught.value.field, caught.value.reason) == (
        "data.n",
        "data.n: number too long (5000 digits; at most 4300)",
    )


def test_an_integer_of_the_most_digits_is_read_and_a_huge_exponent_is_not_finite() -> None:
    from shared.reading import MAX_NUMBER_DIGITS, ReadError, check_tree, loads

    assert check_tree(loads('{"n": ' + "9" * MAX_NUMBER_DIGITS + "}")) == {"n": int("9" * MAX_NUMBER_DIGITS)}
    for written in ("1e999", "-1e99999999999999999999", "1" + "0" * 5_000 + ".5"):
        with pytest.raises(ReadError) as caught:
            check_tree(loads('{"data": {"n": ' + written + "}}"))
        assert (caught.value.field, caught.value.reason) == ("data.n", "data.n: not a finite number")
    with pytest.raises(ReadError) as caught:  # a syntax fault after the long number is still the body's
        loads('{"n": ' + TOO_LONG + ", }")
    assert caught.value.field == "body" and "sys." not in caught.value.reason
