"""shared.bindings: which content mode a message is in, and binary mode as the structured event it stands for."""

from typing import Any

import pytest

from shared.bindings import Mode, UnreadableHeaders, read_message
from shared.envelope import InvalidEvent, parse_envelope

HEADERS = {
    "ce-id": "evt-1",
    "ce-specversion": "1.0",
    "ce-source": "urn:test",
    "ce-type": "member.upserted.v1",
    "ce-time": "2026-11-01T08:00:00+07:00",
}


def test_http_binary_headers_are_percent_decoded_and_the_body_becomes_data() -> None:
    headers = [
        ("Ce-Id", "evt-1"),
        ("ce-specversion", "1.0"),
        ("ce-source", "urn:test:a%20b"),
        ("ce-type", "member.upserted.v1"),
        ("ce-time", "2026-11-01T08:00:00+07:00"),
        ("authorization", "Bearer x"),
    ]
    incoming = read_message(headers, "application/json; charset=utf-8", b'{"id": "m1"}', route="http")
    assert incoming.mode is Mode.BINARY
    assert incoming.event == {
        "id": "evt-1",
        "specversion": "1.0",
        "source": "urn:test:a b",
        "type": "member.upserted.v1",
        "time": "2026-11-01T08:00:00+07:00",
        "datacontenttype": "application/json; charset=utf-8",
        "data": {"id": "m1"},
    }


def test_amqp_binding_prefixes_and_a_native_timestamp_are_read() -> None:
    headers = {"cloudEvents_id": b"e1", "cloudEvents:type": "t", "cloudEvents_time": 1_764_547_200_000}
    incoming = read_message(headers, "application/json", b"{}", route="amqp")
    assert incoming.event is not None
    assert incoming.event["id"] == "e1" and incoming.event["type"] == "t"
    assert incoming.event["time"] == "2025-12-01T07:00:00+07:00"


@pytest.mark.parametrize("stamp", [99_999_999_999_999_999, -99_999_999_999_999_999, 10**30])
def test_an_amqp_timestamp_no_calendar_has_is_refused_naming_time(stamp: int) -> None:
    """A trial's `cloudEvents_time: 99999999999999999` was a ValueError (year 3170843) on every delivery, so the
    message was retried and dead-lettered, never a rejection."""
    with pytest.raises(InvalidEvent) as caught:
        read_message({"cloudEvents_id": b"e1", "cloudEvents_time": stamp}, "application/json", b"{}", route="amqp")
    assert caught.value.field == "time" and str(stamp) in caught.value.reason


def test_the_content_type_decides_before_the_headers() -> None:
    assert read_message({"ce-id": "x"}, "application/cloudevents+json", b"{}", route="amqp").mode is Mode.STRUCTURED
    batch = read_message({}, "application/json", b"[]", route="amqp", routing_key="batch")
    assert batch.mode is Mode.BATCH
    assert read_message({}, None, b'{"specversion": "1.0"}', route="amqp").mode is Mode.STRUCTURED


def test_a_body_that_is_not_json_is_refused_as_such_naming_data() -> None:
    """A binary-mode body under a JSON content type that does not read is `data: not valid JSON (why)`, not the
    model's `Input should be a valid dictionary` (the fresh user's fault 6); its text stays for the rejection."""
    for body, why in [
        (b"{oops", "Expecting property name enclosed in double quotes at line 1 column 2"),
        (b"{", "Expecting property name enclosed in double quotes at line 1 column 2"),
        (b'{"a": \xff}', "not UTF-8 text"),
    ]:
        incoming = read_message(HEADERS, "application/json", body, route="http")
        assert incoming.event is not None and str(incoming.event["data"]) == body.decode("utf-8", "replace")
        with pytest.raises(InvalidEvent) as refused:
            parse_envelope(incoming.event)
        assert (refused.value.field, refused.value.reason) == ("data", f"data: not valid JSON ({why})")
    xml = read_message({"ce-id": "x"}, "application/xml", b"<a/>", route="http")
    assert xml.event is not None and xml.event["datacontenttype"] == "application/xml"


@pytest.mark.parametrize(("route", "prefixes"), [("http", ["ce-"]), ("amqp", ["ce-", "cloudEvents:", "cloudEvents_"])])
def test_neither_mode_names_the_missing_attributes_and_where_they_were_looked_for(route: str, prefixes: list) -> None:
    with pytest.raises(InvalidEvent) as caught:
        read_message({"x-other": "1"}, None, b"hello", route=route)
    assert caught.value.field == "specversion"
    assert "specversion, id, source, type, time missing" in caught.value.reason
    for prefix in prefixes:
        assert f"{prefix}specversion" in caught.value.reason
    assert "application/cloudevents+json" in caught.value.reason and "content type is absent" in caught.value.reason


@pytest.mark.parametrize("route", ["http", "amqp"])
def test_a_content_type_no_mode_reads_is_named_not_a_missing_attribute(route: str) -> None:
    """Trial 16 #10: `text/plain` was refused naming `specversion`; it names the content type and those read."""
    for content_type in ("text/plain", "Application/XML; charset=utf-8", "application/cloudevents+xml"):
        with pytest.raises(InvalidEvent) as caught:
            read_message({"x-other": "1"}, content_type, b'{"specversion": "1.0"}', route=route)
        assert (caught.value.field, caught.value.problem) == ("datacontenttype", None)
        media = content_type.split(";")[0].lower()
        assert caught.value.reason.startswith(f"datacontenttype: the content type '{media}' is no CloudEvents")
        assert "application/cloudevents+json" in caught.value.reason and "ce-specversion" in caught.value.reason


@pytest.mark.parametrize(
    ("route", "headers", "named", "readable"),
    [
        ("amqp", {"ce_specversion": "1.0", "ce_id": "e1", "ce_source": "urn:test"}, "ce_specversion", {}),
        (
            "amqp",
            {"ce-id": "e1", "ce-source": "urn:test", "ce_type": "x.v1"},
            "ce_type",
            {"id": "e1", "source": "urn:test"},
        ),
        ("amqp", {"cloudevents-id": "e1", "cloudEvents:source": "urn:test"}, "cloudevents-id", {"source": "urn:test"}),
        ("http", [("ce-id", "e1"), ("cloudevents_type", "x.v1")], "cloudevents_type", {"id": "e1"}),
        ("http", [("ce-id", "e1"), ("ce_note", "x"), ("ce_time", "2026-01-01T00:00:00Z")], "ce_time", {"id": "e1"}),
    ],
)
def test_an_attribute_header_under_a_prefix_the_route_does_not_read_is_refused_naming_it(
    route: str, headers: Any, named: str, readable: dict[str, str]
) -> None:
    """Trial 15: a `ce_` header was dropped and the message refused as missing its `specversion`, saying nothing of
    the prefix. It is refused naming the header (a required attribute's first), its prefix and the accepted ones,
    keeping the identity the accepted headers give and the misprefixed values as the event meant them."""
    with pytest.raises(UnreadableHeaders) as refused:
        read_message(headers, "application/json", b'{"id": "m1"}', route=route)
    assert (refused.value.field, refused.value.problem) == (named, "header")
    prefix = named[: next(at for at, char in enumerate(named) if char in "-_:") + 1]
    assert refused.value.reason.startswith(f"{named}: the header prefix '{prefix}' is not one CloudEvents attributes")
    accepted = "ce-" if route == "http" else "ce-, cloudEvents:, cloudEvents_"
    assert f"(only {accepted})" in refused.value.reason
    assert refused.value.readable == readable
    assert refused.value.event["data"] == {"id": "m1"}
    assert refused.value.event[named[len(prefix) :]] == dict(headers)[named]  # the stored event as it was meant
    # a structured message reads its body whatever headers come along
    assert read_message(headers, "application/cloudevents+json", b"{}", route=route).mode is Mode.STRUCTURED


@pytest.mark.parametrize(
    ("name", "value", "why"),
    [
        ("ce-subject", "%ZZ", "a % not followed by two hex digits"),
        ("ce-subject", "abc%2", "a % not followed by two hex digits"),
        ("ce-subject", "%C3", "not UTF-8"),  # half of a UTF-8 letter
        ("ce-source", "urn:test:%FF", "not UTF-8"),
    ],
)
def test_a_malformed_percent_encoding_is_refused_naming_the_attribute(name: str, value: str, why: str) -> None:
    """The HTTP binding writes a value's non-ASCII bytes as %XX of its UTF-8: anything else is not such a value, and
    is refused naming the attribute, not read with the % kept or a replacement character put in."""
    headers = [*HEADERS.items(), (name, value)] if name not in HEADERS else [*{**HEADERS, name: value}.items()]
    with pytest.raises(InvalidEvent) as refused:
        read_message(headers, "application/json", b"{}", route="http")
    attribute = name.removeprefix("ce-")
    assert refused.value.field == attribute and refused.value.problem == "header"
    assert refused.value.reason.startswith(f"{attribute}: the header's percent-encoding is malformed")
    assert why in refused.value.reason


def test_an_attribute_given_twice_is_refused_naming_it_and_a_well_encoded_letter_is_read() -> None:
    """Two `ce-id` headers (or `cloudEvents_id` beside `cloudEvents:id` over AMQP) leave it unknown which id is
    meant."""
    with pytest.raises(InvalidEvent) as twice:
        read_message([*HEADERS.items(), ("ce-id", "evt-2")], "application/json", b"{}", route="http")
    assert twice.value.field == "id" and "given more than once" in twice.value.reason
    amqp = {"cloudEvents:" + key[3:]: value for key, value in HEADERS.items()} | {"cloudEvents_id": "evt-2"}
    with pytest.raises(InvalidEvent) as both_prefixes:
        read_message(amqp, "application/json", b"{}", route="amqp")
    assert both_prefixes.value.field == "id"
    fine = read_message([*HEADERS.items(), ("ce-subject", "Chi%20b%E1%BB%99")], "application/json", b"{}", route="http")
    assert fine.event is not None and fine.event["subject"] == "Chi bộ"


def test_every_header_is_read_and_an_unreadable_one_keeps_what_the_others_say() -> None:
    """The first bad header stopped the reading, so its rejection lost the event's id, source and type."""
    headers = [*HEADERS.items(), ("ce-subject", "abc%zz"), ("ce-correlationid", "c%ZZ")]
    with pytest.raises(UnreadableHeaders) as refused:
        read_message(headers, "application/json", b'{"id": "m1"}', route="http")
    assert refused.value.field == "subject" and refused.value.problem == "header"
    assert {name: refused.value.readable[name] for name in ("id", "source", "type")} == {
        "id": "evt-1",
        "source": "urn:test",
        "type": "member.upserted.v1",
    }
    assert refused.value.event["subject"] == "abc%zz" and refused.value.event["data"] == {"id": "m1"}


def test_amqp_header_bytes_that_are_not_utf8_are_refused_naming_the_attribute() -> None:
    """They were read with replacement characters put in, where a structured body that is not UTF-8 is refused."""
    headers = {"cloudEvents:" + key[3:]: value for key, value in HEADERS.items()} | {"cloudEvents:subject": b"a\xff"}
    with pytest.raises(UnreadableHeaders) as refused:
        read_message(headers, "application/json", b"{}", route="amqp")
    assert refused.value.field == "subject" and "not UTF-8" in refused.value.reason
    assert refused.value.readable["id"] == "evt-1"


@pytest.mark.parametrize(
    ("route", "prefix"),
    [("http", "ce-"), ("amqp", "ce-"), ("amqp", "cloudEvents:"), ("amqp", "cloudEvents_")],
)
@pytest.mark.parametrize("value", ["text/plain", "application/json"])
def test_a_datacontenttype_header_is_refused_naming_it_on_both_routes(route: str, prefix: str, value: str) -> None:
    """A trial's `ce-datacontenttype: text/plain` beside `Content-Type: application/json` was dropped silently: in
    binary mode datacontenttype travels in the content type (HTTP Content-Type, the AMQP content_type property), so
    such a header is refused naming `datacontenttype`, even when it says the same (one attribute, one place)."""
    headers = {key.replace("ce-", prefix): text for key, text in HEADERS.items()}
    headers[f"{prefix}datacontenttype"] = value
    with pytest.raises(UnreadableHeaders) as caught:
        read_message(headers, "application/json", b"{}", route=route)
    assert caught.value.field == "datacontenttype"
    assert "Content-Type" in caught.value.reason and "content_type" in caught.value.reason
    assert f"{prefix}datacontenttype" in caught.value.reason
    assert caught.value.event["id"] == "evt-1"  # the rejection keeps what the other headers say
