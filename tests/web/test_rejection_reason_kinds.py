"""Every kind of reason the meetings service gives a rejection is said in Vietnamese with what is wrong, never only
"<field>: giá trị không hợp lệ." (a user trial found the real cause only in the English technical detail): the
reasons are generated from the code that writes them (the contract's models fed wrong values, the envelope, the
binary-mode headers of shared.bindings) and from a catalogue of the meetings service's other wordings."""

import json
from typing import Any

import pytest
from pydantic import ValidationError

from services.gateway.web.reasons import explain_rejection
from shared.bindings import UnreadableHeaders, datacontenttype_header, read_message
from shared.contracts.meetings import TYPES
from shared.envelope import InvalidEvent, describe_validation_error, parse_envelope

GENERIC = "giá trị không hợp lệ"
"""The generic line's words (`The value is not valid.`), kept for reasons truly unknown."""
WRONG: tuple[Any, ...] = (
    "1980",
    1980,
    1.5,
    True,
    None,
    [],
    {},
    "",
    " ",
    "x" * 3000,
    -1,
    10**6,
    2**70,
    "2026-13-01",
    "nope",
    [1],
    [{}],
)
"""Values of every JSON kind, in and out of range, each field of each type is fed (alone, in a list, in a row)."""
ROW_FIELDS = ("member_id", "status", "url", "title", "kind", "text", "id", "description", "due_on", "assignee_id")


def model_reasons() -> dict[str, str]:
    """The reasons (by their message, without the field) meetings gives data of each type in with a wrong value."""
    found: dict[str, str] = {}
    for model in TYPES.values():
        for field in model.model_fields:
            for wrong in WRONG:
                for value in (wrong, [wrong], [dict.fromkeys(ROW_FIELDS, wrong)], {"a.b": wrong}):
                    try:
                        model.model_validate({field: value})
                    except ValidationError as exc:
                        reason = describe_validation_error(exc, prefix="data.", every=True).reason
                        for part in reason.split("; data"):
                            found.setdefault(
                                part.split(": ", 1)[-1], part if part.startswith("data") else "data" + part
                            )
    return found


GOOD = {
    "specversion": "1.0",
    "id": "e-1",
    "source": "urn:test",
    "type": "meeting.cancelled.v1",
    "time": "2026-11-25T10:00:00+07:00",
    "data": {"meeting_id": "m-1", "reason": "Trùng lịch"},
}
ATTRIBUTES = (
    "specversion",
    "id",
    "source",
    "type",
    "time",
    "datacontenttype",
    "subject",
    "dataschema",
    "correlationid",
    "causationid",
    "originid",
    "originsource",
    "note",
    "Bad-Name",
)


def envelope_reasons() -> dict[str, InvalidEvent]:
    """The refusals of an envelope each attribute of which is given each wrong value."""
    found: dict[str, InvalidEvent] = {}
    for attribute in ATTRIBUTES:
        for wrong in WRONG:
            try:
                parse_envelope(json.dumps({**GOOD, attribute: wrong}))
            except InvalidEvent as exc:
                found.setdefault(exc.reason.split(": ", 1)[-1], exc)
    return found


def header_refusal(headers: dict[str, Any], route: str) -> InvalidEvent:
    """The refusal of a binary-mode message with these attribute headers (and a good JSON body)."""
    with pytest.raises(UnreadableHeaders) as refused:
        read_message(headers, "application/json", b"{}", route=route)
    return refused.value


BINARY = {"ce-specversion": "1.0", "ce-id": "e-1", "ce-source": "urn:test", "ce-type": "meeting.cancelled.v1"}
AMQP = {"cloudEvents:specversion": "1.0", "cloudEvents:id": "e-1", "cloudEvents:source": "urn:test"}

CATALOGUE = (
    ("data.ended_at: the meeting must end after it starts", "data.ended_at"),
    ("data.parent_id: a unit cannot be its own parent", "data.parent_id"),
    ("data.records: member m-1 is listed twice", "data.records"),
    ("data.guests: member m-1 is listed twice", "data.guests"),
    ("data.tasks: task ids must be unique", "data.tasks"),
    ("data.points: at least one item must be scored", "data.points"),
    ("data.points.x: must be a finite number", "data.points.x"),
    (
        "data.points.a.b: not an item assessed by hand in framework fw-1 version 2 (known: a.c, a.d)",
        "data.points.a.b",
    ),
    ("data.points: 12 is above the item's maximum of 10", "data.points"),
    ("body.x: keys must be text", "body"),
    (
        "meeting.cancelled.v1: could not be applied (KeyError: 'x'); stored for an operator to replay once the cause is"
        " fixed",
        None,
    ),
    ("event.source: a correction keeps the rejected event's source (urn:test)", "event.source"),
    ("event: a correction is a CloudEvent object", "event"),
    ("data.items.0.url: must begin with http:// or https://", "data.items.0.url"),
    ("time: the AMQP timestamp 99999999999999999 ms in cloudEvents:time is no time a calendar has", "time"),
    ("subject: the header's value is not UTF-8 (invalid start byte at byte 0)", "subject"),
    ("id: given more than once in the headers (ce-id); send each attribute once", "id"),
)
"""The meetings service's reasons written outside pydantic (its validators, handlers and header checks), one each."""


@pytest.mark.parametrize(("message", "reason"), sorted(model_reasons().items()))
def test_no_reason_meetings_gives_wrong_data_falls_to_the_generic_line(message: str, reason: str) -> None:
    said = explain_rejection(reason, reason.split(": ", 1)[0])
    assert GENERIC not in said, (reason, said)


@pytest.mark.parametrize("message", sorted(envelope_reasons()))
def test_no_reason_meetings_gives_a_wrong_envelope_falls_to_the_generic_line(message: str) -> None:
    refused = envelope_reasons()[message]
    said = explain_rejection(refused.reason, refused.field)
    assert GENERIC not in said, (refused.reason, said)


@pytest.mark.parametrize(("reason", "field"), CATALOGUE)
def test_no_reason_in_the_catalogue_falls_to_the_generic_line(reason: str, field: str | None) -> None:
    said = explain_rejection(reason, field)
    assert GENERIC not in said, (reason, said)


def test_the_trials_four_rejections_say_what_is_wrong_and_what_to_do() -> None:
    """The user trial's four: each said only "<mục>: giá trị không hợp lệ."."""
    assert explain_rejection("data.ended_at: the meeting must end after it starts", "data.ended_at") == (
        "Giờ kết thúc: phải sau giờ bắt đầu."
    )
    for headers, route in (
        ({**BINARY, "ce-datacontenttype": "application/json"}, "http"),
        ({**AMQP, "cloudEvents:type": "meeting.cancelled.v1", "cloudEvents:datacontenttype": "text/plain"}, "amqp"),
    ):
        refused = header_refusal(headers, route)
        said = explain_rejection(refused.reason, refused.field)
        assert said.startswith("Kiểu nội dung của dữ liệu: "), said
        assert "bỏ tiêu đề" in said and GENERIC not in said, said
    birth = TYPES["member.upserted.v1"]
    with pytest.raises(ValidationError) as year:
        birth.model_validate({"id": "m-1", "full_name": "A", "cell_id": "c-1", "birth_year": "1980"})
    reasons = describe_validation_error(year.value, prefix="data.", every=True).reason.split("; ")
    reason = next(part for part in reasons if part.startswith("data.birth_year: "))
    assert explain_rejection(reason, "data.birth_year") == (
        "Năm sinh: phải là số nguyên viết không có dấu ngoặc kép (ví dụ 1980), không phải chuỗi ký tự."
    )
    refused = header_refusal({**BINARY, "ce-subject": "T%ZZ"}, "http")
    said = explain_rejection(refused.reason, refused.field)
    assert said.startswith("Đối tượng của sự kiện: mã hóa phần trăm"), said
    assert "%25" in said and GENERIC not in said, said


def test_a_header_given_as_datacontenttype_is_refused_naming_the_header_to_drop() -> None:
    said = explain_rejection(datacontenttype_header("cloudEvents:datacontenttype"), "datacontenttype")
    assert "cloudEvents:datacontenttype" in said and GENERIC not in said, said


def test_a_value_among_several_is_said_with_the_values_it_may_take() -> None:
    said = explain_rejection("data.gender: Input should be 'male' or 'female'", "data.gender")
    assert said == "Giới tính: phải là một trong các giá trị “male”, “female”.", said


def test_a_reason_truly_unknown_still_falls_to_the_generic_line() -> None:
    assert GENERIC in explain_rejection("data.x: something no service says", "data.x")


def test_a_bound_is_said_as_the_app_says_numbers() -> None:
    said = explain_rejection("data.yearly_quota: Input should be less than or equal to 100000", "data.yearly_quota")
    assert said == "Số buổi phải dự mỗi năm: phải nhỏ hơn hoặc bằng 100.000.", said


def test_points_above_an_items_maximum_are_said_with_the_points_sent_and_the_maximum() -> None:
    """A trial's monitor assessment of 9 points for an item of at most 3 read only "Điểm vượt quá mức tối đa của tiêu
    chí.": the person was told neither the maximum nor what they sent. The reason is the one check_points writes."""
    from shared.contracts.frameworks import check_points, shipped_item_tables
    from shared.envelope import InvalidEvent as Refused

    table = shipped_item_tables()[-1]
    code, maximum = next(iter(sorted(table.manual_maxima.items())))
    with pytest.raises(Refused) as refused:
        check_points({code: maximum + 6.5}, table=table)
    said = explain_rejection(refused.value.reason, refused.value.field)
    most = f"{maximum:g}".replace(".", ",")
    given = f"{maximum + 6.5:g}".replace(".", ",")
    assert said == f"Điểm: {given} vượt quá mức tối đa {most} điểm của tiêu chí “{code}”.", said
    assert explain_rejection("data.points: 12 is above the item's maximum of 10", "data.points") == (
        "Điểm: 12 vượt quá mức tối đa 10 điểm của tiêu chí."
    )


@pytest.mark.parametrize(
    ("sent", "said"),
    [(1733000000, "một con số"), (1733000000.5, "một con số"), (True, "giá trị true/false"), ([], "một danh sách")],
)
def test_a_time_sent_as_another_json_kind_is_told_a_time_is_text_not_that_kind(sent: Any, said: str) -> None:
    """A trial's `"starts_at": 1733000000` read as a time written without seconds does; every date-time field of
    every type, and the envelope's time, is told it must be RFC 3339 text and not the kind sent."""
    without_seconds = explain_rejection(
        _data_reason("meeting.scheduled.v1", "starts_at", "2026-11-01T08:00+07:00"), "data.starts_at"
    )
    times = [  # the date-time fields: those a time without seconds is refused in (a number was, alike)
        (name, field)
        for name, model in TYPES.items()
        for field in model.model_fields
        if "a time must be RFC 3339 with seconds" in _data_reason(name, field, "2026-11-01T08:00+07:00")
    ]
    assert ("meeting.scheduled.v1", "starts_at") in times and len(times) > 5, times
    for name, field in times:
        line = explain_rejection(_data_reason(name, field, sent), f"data.{field}")
        assert line != without_seconds and GENERIC not in line, line
        assert line.endswith(f"(theo RFC 3339, ví dụ “2026-11-01T08:00:00+07:00”), không phải {said}."), line
    with pytest.raises(InvalidEvent) as refused:
        parse_envelope(json.dumps({**GOOD, "time": sent}))
    line = explain_rejection(refused.value.reason, refused.value.field)
    assert line.startswith("Thời điểm của sự kiện: phải là thời điểm viết dạng chuỗi ký tự") and said in line, line


def test_a_date_or_a_text_sent_as_another_json_kind_is_told_the_kind_needed_and_the_kind_sent() -> None:
    """The same confusion of kinds for a date, a text, a whole number and true/false: each line names both."""
    assert explain_rejection(_data_reason("member.upserted.v1", "admitted_on", 20261101), "data.admitted_on") == (
        "Ngày vào Đảng: phải là ngày viết dạng chuỗi ký tự đặt trong dấu ngoặc kép (YYYY-MM-DD, ví dụ “2026-11-01”),"
        " không phải một con số."
    )
    assert explain_rejection(_data_reason("member.upserted.v1", "full_name", 12), "data.full_name") == (
        "Họ và tên: phải là chuỗi ký tự đặt trong dấu ngoặc kép, không phải một con số."
    )
    assert explain_rejection(_data_reason("member.upserted.v1", "birth_year", [1980]), "data.birth_year") == (
        "Năm sinh: phải là số nguyên viết không có dấu ngoặc kép (ví dụ 1980), không phải một danh sách."
    )
    # a reason stored before the kind sent was said: only a value that is no text was ever refused so
    stored = "data.starts_at: a time must be RFC 3339 text such as 2026-11-01T08:00:00+07:00"
    assert explain_rejection(stored, "data.starts_at").endswith("giá trị đã gửi không phải chuỗi ký tự.")


def _data_reason(name: str, field: str, value: Any) -> str:
    """The reason meetings gives data of type `name` whose `field` is `value` (that field's part alone; empty when
    the field is not refused)."""
    try:
        TYPES[name].model_validate({field: value})
    except ValidationError as refused:
        reason = describe_validation_error(refused, prefix="data.", every=True).reason
        return next((part for part in reason.split("; ") if part.startswith(f"data.{field}: ")), "")
    return ""


def test_votes_and_minutes_over_their_bound_are_said_with_the_count_and_the_bound() -> None:
    """Coded rejections of a count over its bound read only "Số phiếu nhiều hơn số đảng viên có mặt…": the person
    was told neither how many votes were counted nor how many were present. The reasons are meetings' own."""
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from services.meetings.domain import check_roster_against_adoption, check_votes_within_roster
    from shared.envelope import GATEWAY_SOURCE

    def said(check: Any) -> str:
        with pytest.raises(InvalidEvent) as refused:
            check()
        refusal = refused.value.refusal
        assert refusal is not None
        return explain_rejection(refused.value.reason, refused.value.field, {"code": str(refusal.code)})

    votes = SimpleNamespace(votes_for=9, votes_against=3)
    assert said(lambda: check_votes_within_roster(votes, present=5, source=GATEWAY_SOURCE)) == (
        "Số phiếu tán thành: tổng số phiếu là 9, nhiều hơn 5 đảng viên có mặt tại buổi sinh hoạt."
    )
    assert said(lambda: check_votes_within_roster(votes, present=None, members=10, source=GATEWAY_SOURCE)) == (
        "Số phiếu không tán thành: tổng số phiếu là 12, nhiều hơn 10 đảng viên của chi bộ."
    )
    roster = SimpleNamespace(records=[SimpleNamespace(status="present")] * 4)
    adopted = (datetime(2026, 11, 1, tzinfo=UTC), 6, 1)
    assert said(lambda: check_roster_against_adoption(roster, adoption=adopted)) == (
        "Danh sách điểm danh: biên bản được thông qua với 7 phiếu, nhiều hơn 4 đảng viên có mặt."
    )
    spent = explain_rejection(
        "data.self_criticism_minutes: 90 minutes of self-criticism in a meeting of 59.5 minutes"
        " (2026-11-01T08:00:00+07:00 to 08:59:30+07:00)",
        "data.self_criticism_minutes",
        {"code": "self_criticism_over_meeting"},
    )
    assert spent.endswith(": 90 phút tự phê bình và phê bình, nhiều hơn 59,5 phút của cả buổi sinh hoạt."), spent
    # a reason in other words (stored before, or reworded) is still said by its code
    assert explain_rejection("data.votes_for: over", "data.votes_for", {"code": "votes_over_present"}) == (
        "Số phiếu tán thành: số phiếu nhiều hơn số đảng viên có mặt tại buổi sinh hoạt."
    )


def test_a_body_over_the_gateways_limit_is_said_with_the_limit() -> None:
    """The gateway's own limit on one request was said without its size: the person could not tell how much less
    to send. The reason is shared.reading's own."""
    from shared.reading import body_over_limit

    said = explain_rejection(body_over_limit(2_000_000), "body")
    assert "vượt quá giới hạn kích thước của cổng tiếp nhận cho một yêu cầu (2.000.000 byte)" in said, said


@pytest.mark.parametrize("code", ["ZZ9", "Attendance.Rate", "a..b", "x" * 65])
def test_a_point_code_not_written_as_an_item_code_is_said_not_in_the_framework_in_force(code: str) -> None:
    """A trial's `ZZ9` was refused as `data.points.ZZ9.[key]: String should match pattern '^[a-z_]+…'`: the field is
    the point's (`data.points.ZZ9`), and the reason says, as for a well-formed code the framework lacks (check_points),
    that no item of the framework in force has that code, in English for the API and in Vietnamese on the page."""
    from shared.contracts.frameworks import check_points, shipped_item_tables
    from shared.contracts.registry import read_event

    assessed = {
        **GOOD,
        "type": "meeting.assessed.v1",
        "data": {"meeting_id": "m-1", "assessor": {"role": "cell_committee"}, "points": {code: 5}},
    }
    with pytest.raises(InvalidEvent) as refused:
        read_event(parse_envelope(json.dumps(assessed)))
    field = f"data.points.{code}"
    assert refused.value.field == field, refused.value.field
    assert refused.value.reason.startswith(f"{field}: not an item of the framework in force"), refused.value.reason
    assert "[key]" not in refused.value.reason and "pattern" not in refused.value.reason, refused.value.reason
    said = explain_rejection(refused.value.reason, refused.value.field)
    assert f"“{code}” không có trong bộ tiêu chí đang áp dụng" in said, said
    # a code in the item codes' form the framework lacks: the same kind of reason, the same words in Vietnamese
    with pytest.raises(InvalidEvent) as unknown:
        check_points({"zz.nine": 5}, table=shipped_item_tables()[-1])
    assert unknown.value.reason.startswith("data.points.zz.nine: not an item of the framework in force"), (
        unknown.value.reason
    )
    said = explain_rejection(unknown.value.reason, unknown.value.field)
    assert "“zz.nine” không có trong bộ tiêu chí đang áp dụng" in said, said
