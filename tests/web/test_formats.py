"""The Vietnamese formats, the completeness of the message catalog, and score reasons said in Vietnamese."""

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from services.gateway.web import i18n
from services.gateway.web.explain import explain_legacy_reason
from services.gateway.web.reasons import explain_hold, explain_rejection
from shared.bindings import UnreadableHeaders, read_message
from shared.envelope import InvalidEvent, parse_envelope

WEB = Path(i18n.__file__).parent


def test_a_moment_reads_hour_weekday_and_date_in_vietnam_time() -> None:
    assert i18n.format_moment(datetime(2026, 12, 4, 12, 30, tzinfo=UTC)) == "19:30 thứ Sáu, ngày 04/12/2026"
    assert i18n.format_moment("2026-12-06T19:30:00+07:00") == "19:30 Chủ nhật, ngày 06/12/2026"
    assert i18n.format_day(date(2026, 12, 5)) == "thứ Bảy, ngày 05/12/2026"


def test_numbers_use_the_decimal_comma() -> None:
    assert i18n.format_number(72.5) == "72,5"
    assert i18n.format_number(72.46) == "72,5"
    assert i18n.format_number(100.0) == "100"
    assert i18n.format_number(1234.5) == "1.234,5"
    assert i18n.format_share(0.923) == "92,3%"
    assert i18n.format_number(None) == "—"


def test_a_score_given_to_two_decimals_rounds_its_half_up_not_down() -> None:
    """A score of 77/95 (81.0526) comes from the API as 81.05; the page rounded that float (81.0499...) down to 81."""
    assert i18n.format_number(81.05) == "81,1"
    assert i18n.format_number(round(77 / 95 * 100, 2)) == "81,1"
    assert i18n.format_number(53.35) == "53,4"
    assert i18n.format_number(2.675, 2) == "2,68"
    assert i18n.format_share(0.8105) == "81,1%"
    assert i18n.format_number(81.04) == "81"


def test_periods_and_ratings_read_in_vietnamese() -> None:
    assert i18n.format_period("2026-11") == "Tháng 11/2026"
    assert i18n.format_period("2026-Q4") == "Quý IV/2026"
    assert i18n.format_period("2026") == "Năm 2026"
    assert i18n.format_period("2026-11", within=True) == "tháng 11/2026"
    assert i18n.period_within("2026-Q4") == "quý IV/2026"
    assert [i18n.format_rating(r) for r in ("good", "fair", "average", "poor")] == ["Tốt", "Khá", "Trung bình", "Kém"]


def test_every_text_of_the_web_app_is_in_the_catalog_with_a_translation() -> None:
    with i18n.CATALOG.open("rb") as handle:
        catalog = read_po(handle, locale="vi")
    translated = {message.id: message.string for message in catalog if message.id}
    used = {
        message
        for _, _, message, _, _ in extract_from_dir(
            str(WEB),
            method_map=[("**.py", "python"), ("templates/**.html", "jinja2")],
            options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}},
            keywords={"_": None, "N_": None, "n_": (1, 2)},
        )
        if message
    }
    assert used, "nothing extracted"
    missing = sorted(message for message in used if not translated.get(message))
    assert missing == []
    unused = sorted(message for message in translated if message not in used)
    assert unused == []


@pytest.mark.parametrize(
    ("reason", "vietnamese"),
    [
        ("lasted 60 min of 90 required (30 min short)", "Sinh hoạt 60 phút so với 90 phút quy định (thiếu 30 phút)"),
        (
            "8/10 present (80.0%); 1 absent without excuse; no bonus: an excused-absence run of 4 meetings",
            "8/10 đảng viên có mặt (80%); 1 đảng viên vắng không có lý do; "
            "không được cộng điểm: có đảng viên vắng có lý do 4 buổi liên tiếp",
        ),
        ("3 of 8 present members spoke (37.5%)", "3/8 đảng viên có mặt phát biểu (37,5%)"),
        ("no content/draft_resolution published", "Chưa đăng tải nội dung sinh hoạt hoặc dự thảo nghị quyết"),
        (
            "draft_resolution published 2026-03-03T19:00:00+07:00, before the start",
            "Dự thảo nghị quyết đăng tải lúc 19:00 thứ Ba, ngày 03/03/2026, trước giờ sinh hoạt",
        ),
        ("minutes lack content, speakers", "Biên bản thiếu nội dung sinh hoạt, người phát biểu"),
        ("not applicable to a thematic meeting", "Không áp dụng cho buổi sinh hoạt chuyên đề"),
        ("assessed by the upper-level monitor", "Do cấp ủy viên cấp trên phụ trách chấm"),
        ("minutes not approved; no task assigned", "Biên bản chưa được thông qua; chưa giao nhiệm vụ"),
        ("something evaluation says one day", "Xem các dữ liệu đã ghi nhận của buổi sinh hoạt"),
    ],
)
def test_a_reason_stored_before_codes_is_still_said_in_vietnamese(reason: str, vietnamese: str) -> None:
    assert explain_legacy_reason(reason) == vietnamese


def test_a_form_error_names_a_rows_field_in_vietnamese() -> None:
    from services.gateway.web import forms

    assert forms.label("votes_for-2") == "Tán thành, dòng 2"
    assert forms.label("abstentions-1") == "Không biểu quyết, dòng 1"
    errors: dict[str, str] = {}
    assert forms.whole_number({"votes_against-1": "nhiều"}, "votes_against-1", errors) is None
    assert errors == {"votes_against-1": "Không tán thành, dòng 1: vui lòng nhập số nguyên."}
    assert forms.label("votes_for") == "Tán thành" and forms.label("tasks") == "Nhiệm vụ"
    # a list's row (as pydantic and the services count it, from 0) is named with its own field, counted from 1
    assert forms.label("tasks.0.due_on") == "Hạn hoàn thành nhiệm vụ, dòng 1"
    assert forms.label("items.1.kind") == "Loại tài liệu, dòng 2"
    assert forms.label("data.items.0.title") == "Tên tài liệu, dòng 1"


@pytest.mark.parametrize(
    ("reason", "field", "vietnamese"),
    [
        ("data.meeting_id: duplicate key", "data.meeting_id", "Buổi sinh hoạt: một khóa xuất hiện hai lần"),
        (
            "data.starts_at: 1999-01-01T19:30:00+07:00 is before 2000-01-01",
            "data.starts_at",
            "Thời gian buổi sinh hoạt nằm ngoài khoảng cho phép",
        ),
        (
            "time: 9999-01-01T00:00:00+07:00 is in the future (more than 15 minutes ahead",
            "time",
            "Thời điểm của sự kiện nằm ở tương lai",
        ),
        ("type: 'x.v1' is not an event this system accepts", "type", "hệ thống không nhận loại sự kiện này."),
        ("body: not valid JSON (Expecting value)", "body", "Nội dung gửi đến không phải"),
        (
            "data.records.2.status: Input should be 'present'",
            "data.records.2.status",
            "Trạng thái (dòng 3 của danh sách điểm danh):",
        ),
        (
            "dropped by an operator: Chi bộ không tồn tại (was waiting for unit:c1: data.cell_id: unit c1 is unknown)",
            "data.cell_id",
            "Người vận hành đã thôi giữ sự kiện này (lý do: Chi bộ không tồn tại).",  # no "Chi bộ:" before
        ),
        ("something new one day", None, "Sự kiện: giá trị không hợp lệ."),
        (
            "body: a batch holds at most 1000 events, got 1001",
            "body",
            "lô sự kiện có nhiều hơn 1.000 sự kiện cho phép.",
        ),
        ("body: a batch must be a JSON array of events", "body", "lô sự kiện phải là một mảng JSON gồm các sự kiện."),
        # an empty batch is said as such, not as something that is no JSON event
        (
            "body: a batch holds at least one event",
            "body",
            "Nội dung gửi đến: lô sự kiện gửi đến không có sự kiện nào; một lô phải có ít nhất một sự kiện.",
        ),
        # CONTRACT.md's bound on `source`, named with its length
        (
            "source: String should have at most 256 characters",
            "source",
            "Hệ thống gửi: giá trị dài hơn mức tối đa 256 ký tự cho phép.",
        ),
    ],
)
def test_a_rejection_is_explained_in_vietnamese_naming_the_field(
    reason: str, field: str | None, vietnamese: str
) -> None:
    assert vietnamese in explain_rejection(reason, field)


@pytest.mark.parametrize(
    ("code", "vietnamese"),
    [
        ("member_not_in_cell", "Người chủ trì: đảng viên không thuộc chi bộ này vào ngày sinh hoạt."),
        ("meeting_cancelled", "Người chủ trì: buổi sinh hoạt đã bị hủy nên không thể thực hiện việc này."),
    ],
)
def test_a_rejection_with_a_code_is_explained_by_the_code_not_the_wording(code: str, vietnamese: str) -> None:
    """A stored rejection carrying meetings' code is said by it, whatever its English reason says; the same reason
    without a code falls back to the wording, and to "not valid" when no wording is known."""
    reworded = "data.chair_id: something meetings might say one day"
    assert explain_rejection(reworded, "data.chair_id", {"code": code}) == vietnamese
    assert explain_rejection(reworded, "data.chair_id", None).endswith("giá trị không hợp lệ.")


def test_a_hold_says_what_it_waits_for_in_vietnamese() -> None:
    said = explain_hold("minutes:m1", "data.meeting_id: meeting m1 has no minutes yet", "data.meeting_id")
    assert said == "Buổi sinh hoạt: đang chờ biên bản của buổi sinh hoạt m1."
    assert explain_hold("member:dv1", "x", "data.chair_id") == "Người chủ trì: đang chờ thông tin của đảng viên dv1."
    # an upper_monitor's assessment waits for the assignment of that person to follow the cell
    said = explain_hold("monitor:uv1:cb1", "x", "data.assessor.person_id")
    assert said.endswith(": đang chờ thông tin phân công cấp ủy viên cấp trên phụ trách chi bộ (uv1:cb1)."), said
    # an integration's adoption of minutes waits for the meeting's roster (the adopted minutes hold it)
    said = explain_hold("roster:m1", "data.meeting_id: meeting m1 has no attendance recorded yet", "data.meeting_id")
    assert said == "Buổi sinh hoạt: đang chờ điểm danh của buổi sinh hoạt m1.", said


def test_a_hold_outside_the_senders_scope_tells_the_operator_why() -> None:
    """The sender was answered as for an unknown unit; the operator's page says the real reason."""
    reason = (
        "data.committee_id: unit tinh lies outside xa, the only subtree this account may write; the sender was"
        " answered as for an unknown id"
    )
    assert explain_hold("unit:tinh", reason, "data.committee_id") == (
        "Cấp ủy: đơn vị, đảng viên hoặc buổi sinh hoạt mà sự kiện nêu nằm ngoài phạm vi tài khoản được phép ghi."
    )
    assert explain_rejection(reason.split(";")[0], "data.committee_id").endswith("được phép ghi.")


def test_a_write_to_the_senders_own_scope_root_is_said_to_be_managed_from_above() -> None:
    """meetings refuses a scoped account's snapshot of its own root unit naming the field it would change."""
    reason = (
        "data.active: unit xa is the root of this account's scope (xa); its own record is managed from above (its"
        " superior committee or the national member database), not by an account scoped to it"
    )
    assert explain_rejection(reason, "data.active", {"code": "scope_root_managed_above"}) == (
        "Tình trạng hoạt động của đơn vị: đây là đơn vị gốc trong phạm vi của tài khoản gửi; thông tin của"
        " chính đơn vị này do cấp trên quản lý (cấp ủy cấp trên hoặc Cơ sở dữ liệu đảng viên), tài khoản đó không"
        " được sửa."
    )


def test_every_refusal_code_is_said_in_vietnamese_naming_the_field() -> None:
    """A code meetings gives without a wording on the operator page falls back to "Giá trị không hợp lệ": every
    code the system has (shared.refusals) is said by its own sentence, translated."""
    from services.gateway.web.reasons import BY_CODE
    from shared.refusals import RefusalCode

    # a hold and five replay conflicts (409), each worded where it is met
    held_only = {
        RefusalCode.MEMBER_UNKNOWN,
        RefusalCode.ALREADY_REPLAYED,
        RefusalCode.ALREADY_DISMISSED,
        RefusalCode.BODY_NOT_KEPT,
        RefusalCode.BODY_READS_NO_JSON,
        RefusalCode.REFUSED_AGAIN_AS_SENT,
    }
    assert set(RefusalCode) - held_only <= set(BY_CODE)
    for code in set(RefusalCode) - held_only:
        said = explain_rejection("any English", "source", {"code": code.value})
        assert said.startswith("Hệ thống gửi: ") and not said.endswith("giá trị không hợp lệ."), code
        assert BY_CODE[code] not in said, code  # its translation, not the English msgid


def test_an_operator_s_drop_is_said_without_the_field_it_was_held_on() -> None:
    """A drop is the operator's decision on the whole event: "Buổi sinh hoạt: Người vận hành đã thôi giữ…"
    named the field the hold waited on as if it were wrong."""
    reason = "dropped by an operator: Chi bộ đã giải thể (was waiting for meeting:m1: data.meeting_id: no meeting m1)"
    assert explain_rejection(reason, "data.meeting_id") == (
        "Người vận hành đã thôi giữ sự kiện này (lý do: Chi bộ đã giải thể)."
    )


def test_the_failed_deliveries_heading_reads_naturally() -> None:
    assert i18n._("Failed deliveries") == "Thông báo không gửi được"


def test_a_rejections_view_that_is_no_choice_is_refused_naming_it() -> None:
    """`?rejections=bogus` silently showed the open rejections; now a 422 page naming the parameter and its choices."""
    from starlette.requests import Request

    from services.gateway.web.core import BadChoice
    from services.gateway.web.pages.operations import rejections_view

    def asked(query: str) -> Request:
        return Request({"type": "http", "method": "GET", "path": "/app/operations", "query_string": query.encode()})

    assert rejections_view(asked("")) == {} and rejections_view(asked("rejections=open")) == {}
    assert rejections_view(asked("rejections=dismissed")) == {"rejections": "dismissed"}
    with pytest.raises(BadChoice) as refused:
        rejections_view(asked("rejections=bogus"))
    assert (refused.value.parameter, refused.value.value) == ("rejections", "bogus")


def test_the_alert_settings_intro_says_the_committee_above_applies_again() -> None:
    """The alerts page said "khi đó giá trị theo lại thiết lập của cấp ủy cấp trên", which does not read as
    Vietnamese: a value given back to the level above now says that level's setting applies again."""
    said = i18n._(
        "A value this committee set can be given back to the level above: it then follows the committee above again"
        " (or the default when none above sets it)."
    )
    assert "khi đó áp dụng lại thiết lập của cấp ủy cấp trên" in said and "theo lại" not in said


def _refusal_of(event: dict[str, object]) -> tuple[str, str | None]:
    """The reason and field meetings gives an envelope it cannot read (shared.envelope.parse_envelope)."""
    try:
        parse_envelope(json.dumps(event))
    except InvalidEvent as exc:
        return exc.reason, exc.field
    raise AssertionError("the envelope was read")


GOOD = {
    "specversion": "1.0",
    "id": "e-1",
    "source": "urn:test",
    "type": "meeting.cancelled.v1",
    "time": "2026-11-25T10:00:00+07:00",
    "data": {"meeting_id": "m-1", "reason": "Trùng lịch"},
}


def test_a_refusal_names_its_field_naturally_without_the_word_truong() -> None:
    """A trial read `Trường thời gian buổi sinh hoạt: …` as awkward: the field's own name begins the sentence, as the
    forms say theirs; a path the contract does not name is `Mục “…”`."""
    said = explain_rejection("data.location: String should have at most 200 characters", "data.location")
    assert said == "Địa điểm: giá trị dài hơn mức tối đa 200 ký tự cho phép."
    assert explain_rejection("data.colour: Field required", "data.colour") == (
        "Thiếu mục “data.colour”: đây là trường bắt buộc."
    )
    assert explain_rejection("something new one day", None) == "Sự kiện: giá trị không hợp lệ."


@pytest.mark.parametrize(
    ("reason", "said"),
    [
        (
            "type: meeting.cancelled.v1 arrived under routing key 'batch'; on chibo.ingest an event of a batch is"
            " published with routing key 'batch'",
            "Loại sự kiện: sự kiện meeting.cancelled.v1 đến trong một lô gửi theo khóa định tuyến “batch”; trên"
            " chibo.ingest, một lô phải được gửi theo khóa định tuyến “batch”.",
        ),
        (
            "type: meeting.cancelled.v1 arrived under routing key 'meeting.scheduled.v1'; on chibo.ingest an event is"
            " published with routing key 'meeting.cancelled.v1'",
            "Loại sự kiện: sự kiện meeting.cancelled.v1 đến theo khóa định tuyến “meeting.scheduled.v1”; trên"
            " chibo.ingest, mỗi sự kiện phải được gửi theo khóa định tuyến là chính loại của nó"
            " (“meeting.cancelled.v1”).",
        ),
    ],
)
def test_a_refusal_for_the_routing_key_says_the_key_given_and_the_key_expected(reason: str, said: str) -> None:
    """The Vietnamese said only `giá trị không hợp lệ` where the English names the type, the key and the right key."""
    assert explain_rejection(reason, "type") == said


def test_a_wrong_specversion_and_data_as_a_list_say_what_is_expected_and_both_are_named() -> None:
    """A trial's envelope wrong in two attributes was told of one, and in Vietnamese without the English hint."""
    reason, field = _refusal_of({**GOOD, "specversion": "0.3"})
    assert explain_rejection(reason, field) == "Phiên bản CloudEvents: giá trị phải là “1.0”."
    reason, field = _refusal_of({**GOOD, "data": [GOOD["data"]]})
    assert explain_rejection(reason, field) == (
        "Dữ liệu của sự kiện: phải là một đối tượng JSON (nằm trong cặp { }), không phải một danh sách hay một giá"
        " trị đơn lẻ."
    )
    reason, field = _refusal_of({**GOOD, "specversion": "0.3", "data": [GOOD["data"]]})
    assert field == "specversion"
    assert reason == "specversion: Input should be '1.0'; data: Input should be a valid dictionary, not a list"
    said = explain_rejection(reason, field)
    assert said.startswith("Phiên bản CloudEvents: giá trị phải là “1.0”. Dữ liệu của sự kiện: phải là một đối tượng")
    reason, field = _refusal_of({**GOOD, "id": "có dấu cách", "time": "hôm nay"})
    said = explain_rejection(reason, field)
    assert field == "id" and said.startswith("Mã sự kiện: gồm từ 1 đến 64 ký tự")
    assert "Thời điểm của sự kiện: phải là" in said


def test_a_content_type_and_a_header_prefix_no_mode_reads_are_said_naming_them() -> None:
    """A wrong content type was said as a missing CloudEvents version (trial 16 #10), and a `ce_` header as a missing
    field (trial 15): each says what was sent and what is read, as shared.bindings refuses them."""
    with pytest.raises(InvalidEvent) as content_type:
        read_message({}, "text/plain", b"{}", route="http")
    said = explain_rejection(content_type.value.reason, content_type.value.field)
    assert said.startswith("Kiểu nội dung của dữ liệu: kiểu nội dung “text/plain” không được chấp nhận; hãy gửi")
    assert "application/cloudevents+json" in said
    with pytest.raises(UnreadableHeaders) as prefix:
        read_message({"ce-id": "e1", "ce_type": "x.v1"}, "application/json", b"{}", route="amqp")
    assert explain_rejection(prefix.value.reason, prefix.value.field) == (
        "Mục “ce_type”: tiền tố tiêu đề “ce_” không phải là tiền tố dùng cho thuộc tính CloudEvents trên AMQP (chỉ nhận"
        " ce-, cloudEvents:, cloudEvents_), nên thuộc tính này không được đọc."
    )


def test_every_message_addresses_its_reader_as_dong_chi() -> None:
    """Every page addresses the reader as "đồng chí": a trial found the stale-page messages alone saying "anh/chị"."""
    with i18n.CATALOG.open("rb") as handle:
        catalog = read_po(handle, locale="vi")
    other = re.compile(r"\b(?:anh\s*/\s*chị|anh chị|quý khách)\b", re.IGNORECASE)
    said = [
        text
        for message in catalog
        if message.id
        for text in (message.string if isinstance(message.string, (tuple, list)) else (message.string,))
        if other.search(str(text or ""))
    ]
    assert said == []
