"""Form errors say what to fix: the limit a value broke, the choices it is not among, the kind of value to enter
(pydantic's error types and their ctx, in Vietnamese), from the API body models and from the shared contract alike."""

from datetime import date, datetime, timedelta
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field, HttpUrl
from starlette.datastructures import FormData

from services.gateway.handlers import build_command_event
from services.gateway.http import commands
from services.gateway.http.preferences import PreferencesUpdate
from services.gateway.schemas import (
    CommandRead,
    MeetingRescheduleCreate,
    MeetingScheduleCreate,
    MinutesApprovalCreate,
    MinutesCreate,
)
from services.gateway.web import forms
from services.gateway.web.forms import FormErrors
from services.gateway.web.pages.secretary import _minutes_body
from services.gateway.web.reasons import after_label, explain_rejection
from shared.contracts.base import MAX_ITEMS
from shared.contracts.meetings import MeetingScheduled
from shared.periods import VIETNAM_TZ
from shared.refusals import Refusal, RefusalCode
from shared.rpc import RpcError
from tests.web.isolates import read_all

MEETING = {"kind": "regular", "starts_at": "2026-12-04T19:30:00+07:00", "location": "Nhà văn hóa", "agenda": ["a"]}


def refused(model: type[BaseModel], data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(FormErrors) as caught:
        forms.build(model, data)
    return caught.value.errors


def test_a_text_too_long_names_the_contracts_limit_and_the_length_entered() -> None:
    assert refused(MeetingScheduleCreate, {**MEETING, "location": "x" * 300}) == {
        "location": "Địa điểm: tối đa 200 ký tự (đã nhập 300)."
    }
    topic = refused(MeetingScheduleCreate, {**MEETING, "kind": "thematic", "topic": "x" * 20_000})
    assert topic == {"topic": "Chủ đề: tối đa 200 ký tự (đã nhập 20.000)."}
    moved = refused(MeetingRescheduleCreate, {"starts_at": MEETING["starts_at"], "reason": "x" * 10_001})
    assert moved == {"reason": "Lý do: tối đa 10.000 ký tự (đã nhập 10.001)."}


def test_a_list_too_long_names_its_limit_in_items() -> None:
    agenda = refused(MeetingScheduleCreate, {**MEETING, "agenda": [f"Mục {n}" for n in range(1200)]})
    assert agenda == {"agenda": "Chương trình: tối đa 1.000 mục (đã nhập 1.200)."}


def test_the_forms_limits_are_the_contracts() -> None:
    """The schedule form took at most 100 agenda items and the minutes form 600 minutes of self-criticism, where
    CONTRACT.md allows 1,000 items and counts up to 100,000: what the contract accepts, the form accepts. The
    self-criticism is no more than the meeting lasted (meetings refuses more), at most a day: the form's bound, said
    as its input's `max` and in its error (a trial read `từ 0 đến 100.000` beside an input stopping at 600)."""
    agenda = [f"Mục {n}" for n in range(MAX_ITEMS)]
    assert forms.build(MeetingScheduleCreate, {**MEETING, "agenda": agenda}).agenda == agenda
    MeetingScheduled.model_validate({**MEETING, "agenda": agenda, "meeting_id": "m-1", "cell_id": "c-1"})
    form = FormData(
        {
            "day": "2026-11-30",
            "started": "00:00",
            "ended": "23:59",
            "chair_id": "m1",
            "recorder_id": "m2",
            "self_criticism_minutes": str(forms.SELF_CRITICISM_MOST - 1),
        }
    )
    # the form takes as many minutes as the meeting lasted (one date: 1,439 at most), the contract the bound
    body = _minutes_body(form, "m-1")
    assert body["self_criticism_minutes"] == forms.SELF_CRITICISM_MOST - 1
    most = body | {"self_criticism_minutes": forms.SELF_CRITICISM_MOST}
    assert forms.build(MinutesCreate, most).self_criticism_minutes == forms.SELF_CRITICISM_MOST
    # more than this meeting lasted is said with both figures, beside the form's other mistakes (trial 71)
    with pytest.raises(FormErrors) as caught:
        _minutes_body(FormData({**dict(form), "ended": "01:30", "self_criticism_minutes": "200"}), "m-1")
    said = "Số phút tự phê bình và phê bình: 200 phút, nhiều hơn thời lượng của cả buổi sinh hoạt (90 phút)."
    assert caught.value.errors == {"self_criticism_minutes": said}
    # more than a meeting can last (a day, which meetings refuses) is said on the form with the bound of its input
    with pytest.raises(FormErrors) as caught:
        _minutes_body(FormData({**dict(form), "self_criticism_minutes": str(forms.SELF_CRITICISM_MOST + 1)}), "m-1")
    assert caught.value.errors == {"self_criticism_minutes": "Số phút tự phê bình và phê bình: phải từ 0 đến 1.440."}


async def test_a_schedule_under_a_known_meeting_id_says_so_in_vietnamese() -> None:
    """The API's 409 (scheduling never overwrites a meeting) is the form's message naming the way to move it."""

    async def command() -> None:
        raise commands.meeting_exists("m-1", Refusal(code=RefusalCode.MEETING_EXISTS))

    with pytest.raises(FormErrors) as caught:
        await forms.send(command())
    assert caught.value.errors == {
        "meeting_id": "Buổi sinh hoạt này đã được lên lịch; lên lịch mới không ghi đè buổi sinh hoạt đã có. Muốn đổi"
        " thời gian hoặc địa điểm, xin dùng mục “Đổi lịch” trên trang ghi nhận buổi sinh hoạt."
    }


def test_a_value_outside_the_choices_lists_them_even_when_it_was_filled() -> None:
    channels = refused(PreferencesUpdate, {"channels": ["pigeon"]})
    assert channels == {
        "channels.0": "Kênh nhận thông báo: “pigeon” không nằm trong các lựa chọn cho phép"
        " (Thư điện tử, Tin nhắn (cổng SMS), Hộp thư trong ứng dụng)."
    }


def test_a_number_outside_its_bounds_names_the_bound() -> None:
    assert refused(MinutesApprovalCreate, {"votes_for": -1}) == {"votes_for": "Tán thành: tối thiểu là 0."}
    assert refused(MinutesApprovalCreate, {"votes_for": 200_000}) == {"votes_for": "Tán thành: tối đa là 100.000."}


class Probe(BaseModel):
    """Every other kind of refusal a form can meet."""

    code: Annotated[str, Field(min_length=3, pattern=r"^[a-z]+$")]
    rows: Annotated[list[int], Field(min_length=2)]
    share: Annotated[float, Field(gt=0, lt=1)]
    day: date
    link: HttpUrl
    count: int
    kind: Annotated[str, Field(pattern=r"^[a-z]+$")]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("code", "ab", "Mã: tối thiểu 3 ký tự."),
        ("rows", [1], "Dòng: tối thiểu 2 mục."),
        ("rows", [], "Dòng: tối thiểu 2 mục."),
        ("share", 0, "Tỷ lệ: phải lớn hơn 0."),
        ("share", 1, "Tỷ lệ: phải nhỏ hơn 1."),
        ("day", "31/12/2026", "Ngày: vui lòng nhập một ngày hợp lệ."),
        ("link", "trang-chu", "Đường dẫn: vui lòng nhập đường dẫn đầy đủ (https://…)."),
        ("count", "mười", "Số: vui lòng nhập số nguyên."),
        ("kind", "Đặc biệt", "Loại: có ký tự không được phép dùng ở đây."),
        ("code", None, "Mã: không được để trống."),
    ],
)
def test_each_kind_of_refusal_says_what_to_enter(field: str, value: object, message: str) -> None:
    names = {"code": "Mã", "rows": "Dòng", "share": "Tỷ lệ", "day": "Ngày", "link": "Đường dẫn", "count": "Số"}
    names["kind"] = "Loại"
    valid = {"code": "abc", "rows": [1, 2], "share": 0.5, "day": "2026-12-31", "link": "https://a.vn", "count": 1}
    with pytest.raises(FormErrors) as caught:
        forms.build(Probe, {**valid, "kind": "abc", field: value}, names=names)
    assert caught.value.errors == {field: message}


async def test_a_refusal_by_the_shared_contract_is_worded_like_the_forms_own() -> None:
    """A limit only the contract model holds comes back from the command as the same Vietnamese message, not as
    "not accepted by the system"."""

    async def command() -> None:
        build_command_event(
            event_type="meeting.scheduled.v1",
            model=MeetingScheduled,
            data={**MEETING, "meeting_id": "m-1", "cell_id": "c-1", "location": "x" * 300},
            subject="m-1",
            correlation_id=None,
        )

    with pytest.raises(FormErrors) as caught:
        await forms.send(command())
    assert caught.value.errors == {"location": "Địa điểm: tối đa 200 ký tự (đã nhập 300)."}


TOPIC_MISSING = {
    "thematic": "Chủ đề: chưa nhập chủ đề; buổi sinh hoạt chuyên đề phải có chủ đề.",
    "combined": "Chủ đề: chưa nhập chủ đề; buổi sinh hoạt thường kỳ kết hợp chuyên đề phải có chủ đề.",
}
"""A new user's trial read "Chủ đề: không được để trống.": the form says why the kind needs a topic."""


@pytest.mark.parametrize("kind", ["thematic", "combined"])
async def test_a_combined_meeting_without_a_topic_names_the_topic_field_like_a_thematic_one(kind: str) -> None:
    """CONTRACT.md: a thematic and a combined meeting both need a topic; the form names the field either way, whether
    the gateway's body model or the contract refuses it, and a rejected event says so for both kinds."""
    said = TOPIC_MISSING[kind]
    assert refused(MeetingScheduleCreate, {**MEETING, "kind": kind}) == {"topic": said}

    async def command() -> None:
        build_command_event(
            event_type="meeting.scheduled.v1",
            model=MeetingScheduled,
            data={**MEETING, "kind": kind, "meeting_id": "m-1", "cell_id": "c-1"},
            subject="m-1",
            correlation_id=None,
        )

    with pytest.raises(FormErrors) as caught:
        await forms.send(command())
    assert caught.value.errors == {"topic": said}
    assert explain_rejection(f"data.topic: Value error, a {kind} meeting needs a topic", "data.topic").endswith(
        "buổi sinh hoạt chuyên đề và buổi sinh hoạt thường kỳ kết hợp chuyên đề cần có chủ đề."
    )


TOOK_PLACE_SAID = (
    "Buổi sinh hoạt này đã diễn ra và đã được điểm danh, nên không thể hủy nữa; hãy ghi biên bản của buổi này."
)


@pytest.mark.parametrize(
    ("refuse", "expected"),
    [
        ("not_cancelled", "Buổi sinh hoạt này đã bị hủy, nên không ghi nhận thêm nội dung nào cho buổi này."),
        ("cancel", "Buổi sinh hoạt này đã diễn ra (đã có biên bản), nên không thể hủy."),
        ("reschedule", "Buổi sinh hoạt này đã diễn ra (đã có biên bản), nên không thể dời lịch."),
        ("took place, cancel", TOOK_PLACE_SAID),
    ],
)
async def test_a_refusal_about_the_meetings_own_state_says_what_state(refuse: str, expected: str) -> None:
    """Meetings refuses a secretary's attendance for a cancelled meeting, cancelling a held one, rescheduling one with
    minutes, cancelling one that took place (begun, its roster recorded; an integration's facts are stored whatever
    the order); the form says which, not "not accepted by the system" (the refusals are those meetings' rules
    raise), under "Không thực hiện được:", never "Vui lòng sửa:": nothing on the form fixes it."""
    from datetime import UTC, datetime

    from services.meetings.domain import (
        InvalidEvent,
        MeetingState,
        check_cancel,
        check_reschedule,
        require_not_cancelled,
    )
    from shared.envelope import GATEWAY_SOURCE

    at = (datetime(2026, 11, 1, tzinfo=UTC), 0, "e-1")
    meeting = MeetingState(
        meeting_id="m-1",
        cell_id="c-1",
        kind="regular",
        starts_at=at[0],
        cancel_version=at if refuse == "not_cancelled" else None,
        has_roster=refuse != "not_cancelled",
        has_minutes=refuse in ("cancel", "reschedule"),
        minutes_version=at if refuse in ("cancel", "reschedule") else None,
    )
    with pytest.raises(InvalidEvent) as rule:
        if refuse == "not_cancelled":
            require_not_cancelled(meeting, source=GATEWAY_SOURCE, what="recording attendance")
        elif refuse.endswith("cancel"):
            check_cancel(meeting, source=GATEWAY_SOURCE, time=at[0] + timedelta(hours=3))
        else:
            # to a start still ahead: a start already past corrects when it took place, its minutes not adopted
            ahead = at[0] + timedelta(days=1)
            check_reschedule(meeting, source=GATEWAY_SOURCE, starts_at=ahead, time=at[0] + timedelta(hours=3))

    async def command() -> None:
        raise RpcError("invalid", str(rule.value), field="data.meeting_id", refusal=rule.value.refusal)

    with pytest.raises(FormErrors) as caught:
        await forms.send(command())
    assert list(caught.value.errors.values()) == [expected]
    assert forms.error_box_title(caught.value.errors) == "Không thực hiện được:"

    async def reworded() -> None:  # the page goes by the code, never by meetings' English wording
        raise RpcError("invalid", "something else entirely", field="data.meeting_id", refusal=rule.value.refusal)

    with pytest.raises(FormErrors) as caught:
        await forms.send(reworded())
    assert list(caught.value.errors.values()) == [expected]


async def test_a_meeting_that_took_place_is_corrected_to_a_past_start_never_moved_ahead() -> None:
    """A meeting held on another day than planned, its attendance taken, had its minutes refused as far from the
    schedule and its move refused as taken place: stuck. A move to a start already past corrects when it took place
    and is taken; one to a start still ahead is refused naming the start, which the form says as a mistake to fix
    ("Vui lòng sửa:": a past start is taken), and the minutes' advice names the control the page shows."""
    from datetime import UTC, datetime

    from services.gateway.web.pages.secretary import minutes_day_problem
    from services.meetings.domain import InvalidEvent, MeetingState, check_reschedule
    from shared.envelope import GATEWAY_SOURCE

    planned = datetime(2026, 11, 1, 12, tzinfo=UTC)
    held, now = planned + timedelta(days=9), planned + timedelta(days=10)
    meeting = MeetingState("m-1", "c-1", "regular", planned, cancel_version=None, has_roster=True, has_minutes=False)
    check_reschedule(meeting, source=GATEWAY_SOURCE, starts_at=held, time=now)  # a correction: taken
    with pytest.raises(InvalidEvent) as rule:
        check_reschedule(meeting, source=GATEWAY_SOURCE, starts_at=now + timedelta(days=1), time=now)
    assert rule.value.field == "data.starts_at"
    assert rule.value.refusal is not None and rule.value.refusal.code == "meeting_took_place"

    async def command() -> None:
        raise RpcError("invalid", str(rule.value), field=rule.value.field, refusal=rule.value.refusal)

    with pytest.raises(FormErrors) as caught:
        await forms.send(command())
    [said] = caught.value.errors.values()
    assert said.endswith(
        ": buổi sinh hoạt này đã diễn ra và đã được điểm danh; chỉ có thể sửa lại thời điểm đã diễn ra, không thể dời"
        " sang một thời điểm chưa tới."
    ), said
    assert forms.error_box_title(caught.value.errors) == "Vui lòng sửa:"
    advice = " ".join(minutes_day_problem(held, scheduled=planned, now=now, took_place=True).values())
    assert "“Sửa thời điểm đã diễn ra”" in advice and "Đổi lịch" not in advice, advice
    advice = " ".join(minutes_day_problem(held, scheduled=planned, now=now).values())
    assert "“Đổi lịch”" in advice, advice


async def test_a_member_of_another_cell_is_named_from_the_code_not_the_wording() -> None:
    """A roster naming a member meetings knows to be elsewhere on the meeting's date says so, naming the member from
    the refusal's values, whatever the English reason says; the same wording without the code is only "not
    accepted"."""

    async def command(refusal: Refusal | None) -> None:
        raise RpcError(
            "invalid", "data.records.1.member_id: reworded", field="data.records.1.member_id", refusal=refusal
        )

    with pytest.raises(FormErrors) as caught:
        await forms.send(command(Refusal(code=RefusalCode.MEMBER_NOT_IN_CELL, member_id="dv-7")))
    [message] = caught.value.errors.values()
    assert "dv-7" in message and "không phải là đảng viên của chi bộ vào ngày sinh hoạt" in message
    with pytest.raises(FormErrors) as caught:
        await forms.send(command(None))
    [message] = caught.value.errors.values()
    assert "dv-7" not in message and "hệ thống không chấp nhận giá trị này" in message


async def test_minutes_adopted_before_the_meeting_are_said_on_the_form_not_as_a_raw_field() -> None:
    """A trial's approval form said "data.approved_at: hệ thống không chấp nhận giá trị này", a field the secretary
    cannot see: every coded refusal reaches the form in its Vietnamese, under the field's Vietnamese name."""

    async def command() -> None:
        raise RpcError(
            "invalid",
            "data.approved_at: reworded",
            field="data.approved_at",
            refusal=Refusal(code=RefusalCode.APPROVED_BEFORE_MEETING),
        )

    with pytest.raises(FormErrors) as caught:
        await forms.send(command())
    assert list(caught.value.errors.values()) == [
        "Thời điểm thông qua biên bản: biên bản không thể được thông qua trước khi buổi sinh hoạt bắt đầu."
    ]


MOVED_START = datetime(2026, 12, 19, 19, 30, tzinfo=VIETNAM_TZ)


@pytest.mark.parametrize(
    ("notified_at", "moved_to", "expected"),
    [
        (
            None,
            MOVED_START - timedelta(days=30),
            "Ngày giờ: thời điểm này đã qua; buổi sinh hoạt chưa diễn ra chỉ có thể dời sang một thời điểm sắp tới, và"
            " đảng viên sẽ được thông báo thời gian mới.",
        ),
        (  # domain.check_move_keeps_notice: to the very moment its members were notified
            MOVED_START - timedelta(hours=12),
            MOVED_START - timedelta(hours=12),
            "Ngày giờ: thời điểm này sớm hơn hoặc trùng với lúc đảng viên được thông báo về buổi sinh hoạt; chỉ có thể"
            " dời buổi sinh hoạt sang một thời điểm sau lúc thông báo, để đảng viên được biết trước khi buổi sinh hoạt"
            " bắt đầu.",
        ),
    ],
)
async def test_a_move_to_a_start_already_past_or_not_after_the_notice_is_said_on_the_reschedule_forms_date(
    notified_at: datetime | None, moved_to: datetime, expected: str
) -> None:
    """Meetings refuses a secretary's move to a start already past, or at or before the moment the members were
    notified (domain.check_reschedule); the form says so in Vietnamese under the date and time, not "not accepted by
    the system"."""
    from services.meetings.domain import InvalidEvent, MeetingState, check_reschedule
    from shared.envelope import GATEWAY_SOURCE

    meeting = MeetingState("m-1", "c-1", "combined", MOVED_START, None, False, False, notified_at=notified_at)
    with pytest.raises(InvalidEvent) as rule:
        check_reschedule(
            meeting,
            source=GATEWAY_SOURCE,
            starts_at=moved_to,
            time=MOVED_START - timedelta(days=1),  # the meeting still ahead
        )

    async def command() -> None:
        raise RpcError("invalid", str(rule.value), field=rule.value.field, refusal=rule.value.refusal)

    with pytest.raises(FormErrors) as caught:
        await forms.send(command())
    assert caught.value.errors == {"data.starts_at": expected}


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (RefusalCode.MEMBER_NOT_PLACED, "không có tên trong danh sách đảng viên của chi bộ"),
        (RefusalCode.MEMBER_UNKNOWN, "hệ thống chưa có hồ sơ của đồng chí dv-9"),
        (None, "đang chờ thông tin của đảng viên dv-9"),
    ],
)
async def test_a_held_command_says_why_by_its_code(code: RefusalCode | None, expected: str) -> None:
    """A held command's message is picked by meetings' code (an English reason that says otherwise changes
    nothing); without a code it names what it waits for."""
    held = CommandRead(
        event_id="e-1",
        type="minutes.submitted.v1",
        subject="m-1",
        outcome="held",
        reason="speakers.0: some reworded English sentence",
        field="data.speakers.0",
        waiting_for="member:dv-9",
        reason_code=code,
    )

    async def command() -> CommandRead:
        return held

    with pytest.raises(FormErrors) as caught:
        await forms.send(command())
    [message] = caught.value.errors.values()
    assert expected in message


def test_an_already_replayed_rejection_takes_its_moment_from_the_refusal_not_the_wording() -> None:
    """The operator page's 409 names when the event was accepted from meetings' `accepted_at`, whatever the English
    message says; a conflict without it says `—` rather than a moment parsed out of a sentence."""
    from datetime import datetime

    from services.gateway.web.pages.operations import already_replayed
    from shared.periods import VIETNAM_TZ

    accepted = Refusal(code=RefusalCode.ALREADY_REPLAYED, accepted_at=datetime(2026, 12, 4, 19, 30, tzinfo=VIETNAM_TZ))
    reworded = RpcError("conflict", "replayed before; see the log", field="rejection_id", refusal=accepted)
    message = already_replayed(reworded, event="evt-1")
    assert message.startswith("Sự kiện bị từ chối evt-1 đã được xét lại và chấp nhận lúc 19:30 ")
    assert "04/12/2026" in message
    old_wording = RpcError("conflict", "rejection r-1 is already replayed: accepted at 2026-12-04T19:30:00+07:00; x")
    assert "lúc —," in already_replayed(old_wording, event="evt-1")


def test_an_already_replayed_rejection_whose_replay_was_held_says_it_is_held_not_accepted() -> None:
    """A replay whose event was held: the 409 says it waits (tạm giữ, đang chờ), never that it was accepted; a
    replay from before meetings kept the outcome says only that it was replayed, and when."""
    from datetime import datetime

    from services.gateway.web.pages.operations import already_replayed
    from shared.periods import VIETNAM_TZ

    at = datetime(2026, 12, 4, 19, 30, tzinfo=VIETNAM_TZ)
    held = Refusal(code=RefusalCode.ALREADY_REPLAYED, replayed_at=at, outcome="held")
    message = already_replayed(RpcError("conflict", "x", refusal=held), event="evt-1")
    assert message.startswith("Sự kiện bị từ chối evt-1 đã được xét lại lúc 19:30 ")
    assert "đang được tạm giữ để chờ dữ liệu mà sự kiện nhắc đến (xem mục Sự kiện tạm giữ)" in message
    assert "chấp nhận" not in message and "04/12/2026" in message
    duplicate = Refusal(code=RefusalCode.ALREADY_REPLAYED, replayed_at=at, outcome="duplicate")
    said = already_replayed(RpcError("conflict", "x", refusal=duplicate), event="evt-1")
    assert "đã được ghi nhận từ trước" in said and "chấp nhận" not in said
    unknown = Refusal(code=RefusalCode.ALREADY_REPLAYED, replayed_at=at)
    said = already_replayed(RpcError("conflict", "x", refusal=unknown), event="evt-1")
    assert said.startswith("Sự kiện bị từ chối evt-1 đã được xét lại lúc 19:30 ") and "chấp nhận" not in said


def test_an_hour_that_is_no_hour_names_the_hour_and_how_to_write_it() -> None:
    errors: dict[str, str] = {}
    form = {"start_date": "2026-12-04", "start_time": "7 rưỡi"}
    assert forms.meeting_start(form, errors, now=datetime(2026, 12, 1, 20, 0, tzinfo=VIETNAM_TZ)) is None
    assert errors == {"starts_at": "Giờ: “7 rưỡi” không phải giờ hợp lệ; nhập theo dạng 19:30."}
    errors = {}
    assert forms.meeting_start({**form, "start_date": "ngày mai", "start_time": "19:30"}, errors) is None
    assert errors == {
        "starts_at": "Ngày: “ngày mai” không phải ngày hợp lệ; hãy chọn ngày trên lịch hoặc nhập theo dạng"
        " ngày/tháng/năm, ví dụ 04/12/2026, 04-12-2026 hoặc 04.12.2026."
    }


@pytest.mark.parametrize(
    ("day", "hour", "said"),
    [
        ("2026-12-04", "25:99", "Giờ: giờ 25 không hợp lệ; giờ chỉ từ 00 đến 23 (nửa đêm là 00:00 của ngày hôm sau)."),
        ("2026-12-04", "24:00", "Giờ: giờ 24 không hợp lệ; giờ chỉ từ 00 đến 23 (nửa đêm là 00:00 của ngày hôm sau)."),
        ("2026-12-04", "19:60", "Giờ: phút 60 không hợp lệ; phút chỉ từ 00 đến 59."),
        ("31/02/2026", "19:30", "Ngày: ngày 31 không có trong tháng 2/2026 (tháng này có 28 ngày)."),
        ("2026-02-30", "19:30", "Ngày: ngày 30 không có trong tháng 2/2026 (tháng này có 28 ngày)."),
        ("01/13/2026", "19:30", "Ngày: tháng 13 không có thật; tháng chỉ từ 01 đến 12."),
    ],
)
def test_a_date_or_hour_out_of_range_says_which_part_and_the_range(day: str, hour: str, said: str) -> None:
    """A user trial: 30 February and hour 24 read "is not a date" / "valid datetime or date": the form says which
    part of what was typed is out of range, and the range, naming the input (shared.envelope's one rule)."""
    errors: dict[str, str] = {}
    assert forms.meeting_start({"start_date": day, "start_time": hour}, errors) is None
    assert errors == {"starts_at": said}


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("2026-12-30T24:00:00+07:00", "giờ 24 không hợp lệ; giờ chỉ từ 00 đến 23 (nửa đêm là 00:00 của ngày hôm sau)"),
        (
            "2026-12-30T19:00:00+25:00",
            "độ lệch múi giờ +25:00 không hợp lệ; độ lệch tối đa là ±23:59 (giờ Việt Nam là +07:00)",
        ),
        ("2026-02-30T19:00:00+07:00", "ngày 30 không có trong tháng 2/2026 (tháng này có 28 ngày)"),
    ],
)
def test_a_time_out_of_range_is_said_in_vietnamese_on_forms_and_on_the_operators_page(written: str, said: str) -> None:
    """The API's English reason (`data.starts_at: hour 24 is out of range: …`) read by an operator, and the same
    refusal met by a form: both say the part out of range in Vietnamese, naming the field."""
    with pytest.raises(FormErrors) as caught:
        forms.build(MeetingScheduled, {**SCHEDULED_DATA, "starts_at": written}, names={"starts_at": "Ngày giờ"})
    assert caught.value.errors == {"starts_at": f"Ngày giờ: {said}."}
    try:
        build_command_event(
            event_type="meeting.scheduled.v1",
            model=MeetingScheduled,
            data={**SCHEDULED_DATA, "starts_at": written},
            subject="c1",
            correlation_id=None,
        )
    except Exception as exc:  # the gateway's refusal, with the English reason the API answers
        reason = str(exc)
    assert reason.startswith("starts_at: ") and "valid datetime" not in reason and "or date" not in reason
    assert explain_rejection(f"data.{reason}", "data.starts_at") == f"Thời gian buổi sinh hoạt: {said}."


SCHEDULED_DATA = {
    "meeting_id": "m1",
    "cell_id": "c1",
    "kind": "regular",
    "starts_at": "2026-12-30T19:00:00+07:00",
    "location": "Nhà văn hóa",
    "agenda": ["Kiểm điểm"],
}


def test_a_length_over_a_limit_is_said_with_the_apps_digit_grouping() -> None:
    """The operator's page read "giá trị dài hơn mức tối đa 10000 ký tự": a number as the app writes it (10.000)."""
    reason = "data.content: String should have at most 10000 characters"
    assert explain_rejection(reason, "data.content") == (
        "Nội dung sinh hoạt: giá trị dài hơn mức tối đa 10.000 ký tự cho phép."
    )


def test_the_forms_schedule_no_meeting_on_a_day_already_past() -> None:
    now = datetime(2026, 12, 2, 9, 0, tzinfo=VIETNAM_TZ)
    for day in ("2026-12-01", "2025-12-04"):
        errors: dict[str, str] = {}
        assert forms.meeting_start({"start_date": day, "start_time": "19:30"}, errors, now=now) is None
        shown = "/".join(reversed(day.split("-")))
        said = f"Ngày: ngày {shown} đã qua; buổi sinh hoạt lên lịch ở đây phải từ hôm nay (02/12/2026) trở đi."
        assert errors == {"starts_at": said}
    # an hour already past today is refused as meetings refuses it (shared.plausible.already_past), naming the hour:
    # a trial's meeting scheduled so sent no notice and lost the notice item of its score unsaid
    errors = {}
    assert forms.meeting_start({"start_date": "2026-12-02", "start_time": "07:00"}, errors, now=now) is None
    said = (
        "Giờ: 07:00 hôm nay đã qua; buổi sinh hoạt lên lịch ở đây phải bắt đầu vào một giờ chưa tới (bây giờ là 09:00)."
    )
    assert errors == {"starts_at": said}
    # within the clock skew meetings allows, later today and a day ahead are taken
    for day, hour in (("2026-12-02", "08:50"), ("2026-12-02", "19:30"), ("2026-12-04", "19:30")):
        errors = {}
        assert forms.meeting_start({"start_date": day, "start_time": hour}, errors, now=now) is not None, day
        assert errors == {}
    # the reschedule form of a meeting whose start has passed still corrects it to an earlier hour
    errors = {}
    assert forms.meeting_start({"start_date": "2026-12-02", "start_time": "07:00"}, errors, now=now, allow_past=True)


def test_the_reschedule_form_moves_a_meeting_still_ahead_to_no_minute_already_past() -> None:
    """A trial's move to a few minutes before now was taken within the 15 minutes' clock allowance a new meeting
    scheduled at the door keeps (trial 19 #2): the reschedule form of a meeting still ahead refuses any start already
    past, naming the hour, as meetings refuses the move (shared.plausible.moved_into_the_past)."""
    now = datetime(2026, 12, 2, 9, 0, 30, tzinfo=VIETNAM_TZ)
    said = (
        "Giờ: %s hôm nay đã qua; buổi sinh hoạt chưa diễn ra chỉ có thể dời sang một giờ chưa tới (bây giờ là %s),"
        " để đảng viên được thông báo giờ mới trước khi buổi sinh hoạt bắt đầu."
    )
    for hour, shown_now in (("08:50", "09:00"), ("08:59", "09:00"), ("09:00", "09:00:30")):
        errors: dict[str, str] = {}
        form = {"start_date": "2026-12-02", "start_time": hour}
        assert forms.meeting_start(form, errors, now=now, moving=True) is None, hour
        assert errors == {"starts_at": said % (hour, shown_now)}
    for hour in ("09:01", "19:30"):
        errors = {}
        form = {"start_date": "2026-12-02", "start_time": hour}
        assert forms.meeting_start(form, errors, now=now, moving=True) is not None and errors == {}, hour
    # a new meeting keeps the allowance (scheduled at the door, minutes after it began), and a meeting already past
    # is still put where it really took place
    assert forms.meeting_start({"start_date": "2026-12-02", "start_time": "08:50"}, errors, now=now) is not None
    moved = {"start_date": "2026-12-02", "start_time": "08:50"}
    assert forms.meeting_start(moved, errors, now=now, moving=True, allow_past=True) is not None and errors == {}


def test_the_reschedule_form_of_a_meeting_already_past_takes_a_past_day() -> None:
    """A meeting held a week late without being moved: its minutes are far from the schedule, so its date must be
    correctable on the form (meetings takes a move of a past meeting to another past start)."""
    now = datetime(2026, 12, 2, 9, 0, tzinfo=VIETNAM_TZ)
    errors: dict[str, str] = {}
    starts = forms.meeting_start({"start_date": "2026-11-27", "start_time": "19:30"}, errors, now=now, allow_past=True)
    assert starts == datetime(2026, 11, 27, 19, 30, tzinfo=VIETNAM_TZ) and errors == {}
    # still within the plausible window
    assert (
        forms.meeting_start({"start_date": "1999-11-27", "start_time": "19:30"}, errors, now=now, allow_past=True)
        is None
    )


def test_a_count_out_of_bounds_writes_the_bound_with_the_thousands_separator() -> None:
    errors: dict[str, str] = {}
    assert forms.whole_number({"votes_for": "100001"}, "votes_for", errors) is None
    assert errors == {"votes_for": "Tán thành: phải từ 0 đến 100.000."}


TRIAL_MINUTES = {
    "meeting_id": "m1",
    "started_at": "2026-12-01T08:00:00+07:00",
    "ended_at": "2027-06-01T08:00:00+07:00",
    "chair_id": "dv-1",
    "recorder_id": "dv-1",
    "speakers": [],
    "resolutions": [],
    "tasks": [],
}


@pytest.mark.parametrize(
    ("event_type", "data", "field", "said"),
    [
        ("minutes.submitted.v1", TRIAL_MINUTES, "data.ended_at", "muộn hơn thời điểm bắt đầu quá 24 giờ"),
        (
            "minutes.submitted.v1",
            TRIAL_MINUTES | {"ended_at": "2026-12-01T09:30:00+07:00", "self_criticism_minutes": 5000},
            "data.self_criticism_minutes",
            "nhiều hơn thời lượng của cả buổi sinh hoạt",
        ),
        (
            "minutes.approved.v1",
            {"meeting_id": "m1", "approved_at": "2199-01-01T08:00:00+07:00"},
            "data.approved_at",
            "muộn hơn thời điểm của sự kiện quá 2 năm",
        ),
        (
            "task.completed.v1",
            {"meeting_id": "m1", "task_id": "t1", "completed_on": "2199-12-31"},
            "data.completed_on",
            "muộn hơn thời điểm của sự kiện quá 2 năm",
        ),
    ],
)
async def test_a_secretarys_impossible_minutes_or_dates_are_refused_as_an_integrations_and_said_in_vietnamese(
    event_type: str, data: dict[str, Any], field: str, said: str
) -> None:
    """The secretary's routes build the same event an integration sends (build_command_event) and meetings judges it
    by the same rules: the trial's six-month minutes, 5000 minutes of self-criticism, an adoption or a completion
    far beyond the sending are refused naming the field, and the form says why in Vietnamese under that field."""
    from services.meetings import domain
    from shared.contracts.meetings import TYPES
    from shared.contracts.registry import read_event
    from shared.envelope import InvalidEvent, now, parse_envelope

    event = build_command_event(
        event_type=event_type, model=TYPES[event_type], data=data, subject="m1", correlation_id=None
    )
    with pytest.raises(InvalidEvent) as refused:
        domain.check_plausible_moments(read_event(parse_envelope(event)), now=now())
    assert refused.value.field == field

    async def command() -> None:
        raise RpcError("invalid", refused.value.reason, field=refused.value.field, refusal=refused.value.refusal)

    with pytest.raises(FormErrors) as caught:
        await forms.send(command())
    [(key, message)] = caught.value.errors.items()
    assert key == field and said in message, message


@pytest.mark.parametrize(
    ("code", "field", "expected"),
    [
        (
            RefusalCode.MINUTES_NOT_ADOPTED,
            "data.votes_for",
            "Tán thành: số phiếu tán thành không quá một nửa số phiếu biểu quyết, nên biên bản chưa được thông qua.",
        ),
        (
            RefusalCode.VOTES_OVER_PRESENT,
            "data.resolutions.0.votes_for",
            "Tán thành, dòng 1: số phiếu nhiều hơn số đảng viên có mặt tại buổi sinh hoạt.",
        ),
        (
            RefusalCode.RESOLUTION_NOT_VOTED,
            "data.resolutions.1.votes_for",
            "Tán thành, dòng 2: không có phiếu nào (0 tán thành, 0 không tán thành, 0 không biểu quyết); nghị quyết"
            " phải được các đồng chí có mặt biểu quyết.",
        ),
        (
            RefusalCode.VOTES_OVER_MEMBERS,
            "data.resolutions.0.votes_for",
            "Tán thành, dòng 1: số phiếu nhiều hơn số đảng viên của chi bộ.",
        ),
        (
            RefusalCode.MINUTES_IN_THE_FUTURE,
            "data.ended_at",
            "Giờ kết thúc: thời điểm này chưa đến; biên bản chỉ ghi lại buổi sinh hoạt đã diễn ra.",
        ),
        (
            RefusalCode.PUBLISHED_IN_THE_FUTURE,
            "data.published_at",
            "Thời điểm đăng tải: thời điểm này chưa đến; tài liệu được công bố lúc gửi, hoặc đã được công bố trước đó.",
        ),
        (
            RefusalCode.PUBLISHED_BEFORE_RECORDED,
            "data.published_at",
            "Thời điểm đăng tải: thời điểm này sớm hơn lúc buổi sinh hoạt được ghi lại là đã diễn ra; tài liệu của"
            " buổi này được công bố từ lúc đó trở đi, sau giờ bắt đầu.",
        ),
        (
            RefusalCode.COMPLETED_IN_THE_FUTURE,
            "data.completed_on",
            "Ngày hoàn thành: ngày này chưa đến; nhập ngày nhiệm vụ được hoàn thành (hôm nay hoặc trước đó).",
        ),
        (
            RefusalCode.TASK_DUE_BEFORE_MEETING,
            "data.tasks.0.due_on",
            "Hạn hoàn thành nhiệm vụ, dòng 1: hạn hoàn thành sớm hơn buổi sinh hoạt giao nhiệm vụ này.",
        ),
        (
            RefusalCode.NOTIFIED_AFTER_START,
            "data.notified_at",
            "Thời điểm thông báo cho đảng viên: đảng viên được thông báo trước giờ bắt đầu buổi sinh hoạt; hãy ghi lúc"
            " đã thông báo trước đó, hoặc để trống.",
        ),
        (
            RefusalCode.MINUTES_ADOPTED,
            "data.approved_at",
            "Thời điểm thông qua biên bản: chi bộ đã thông qua biên bản này; biên bản đã thông qua là văn bản chính"
            " thức, không thể sửa nữa.",
        ),
        (
            RefusalCode.MINUTES_ADOPTED,
            "data.meeting_id",
            "Buổi sinh hoạt: chi bộ đã thông qua biên bản này; biên bản đã thông qua là văn bản chính thức, không thể"
            " sửa nữa.",
        ),
    ],
)
async def test_refusals_of_votes_dates_and_adopted_minutes_are_said_on_the_form(
    code: RefusalCode, field: str, expected: str
) -> None:
    """Meetings' refusals of minutes voted down, votes over those present, minutes, documents or a task's completion
    dated ahead, documents dated before a held meeting was recorded, tasks due before their meeting and edits of
    adopted minutes reach the secretary's form in Vietnamese, never as a raw field."""

    async def command() -> None:
        raise RpcError("invalid", f"{field}: reworded", field=field, refusal=Refusal(code=code))

    with pytest.raises(FormErrors) as caught:
        await forms.send(command())
    assert list(caught.value.errors.values()) == [expected]


@pytest.mark.parametrize(
    ("code", "field", "name", "expected"),
    [
        (
            RefusalCode.REASON_FOR_PRESENT,
            "data.records.3.reason",
            "Lý do vắng của Đặng Kim Thảo",
            "Lý do vắng của Đặng Kim Thảo: đảng viên có mặt thì không ghi lý do vắng; hãy chọn đúng tình trạng hoặc"
            " xóa lý do.",
        ),
        (
            # a trial's form took a reason for an absence without leave: refused by meetings, said on the reason
            RefusalCode.REASON_FOR_UNEXCUSED,
            "data.records.2.reason",
            "Lý do vắng của Hoàng Thanh Hoa",
            "Lý do vắng của Hoàng Thanh Hoa: đảng viên vắng không lý do thì không ghi lý do; nếu vắng có lý do, hãy"
            " chọn “Vắng có lý do”; nếu không, hãy xóa lý do.",
        ),
        (
            RefusalCode.ABSENT_AT_MEETING,
            "data.chair_id",
            None,
            "Đảng viên này vắng mặt theo điểm danh nên không thể là người chủ trì.",
        ),
    ],
)
async def test_a_refusal_after_a_field_label_reads_on_in_lower_case_without_a_second_colon(
    code: RefusalCode, field: str, name: str | None, expected: str
) -> None:
    """The fresh-user trial read "Lý do vắng của Đặng Kim Thảo: Đảng viên có mặt thì không có lý do vắng: hãy chọn…"
    and "Chủ trì: Đảng viên này…": after a field's label the sentence goes on in lower case, its colon a
    semicolon."""

    async def command() -> None:
        raise RpcError("invalid", f"{field}: reworded", field=field, refusal=Refusal(code=code))

    with pytest.raises(FormErrors) as caught:
        await forms.send(command(), names={field.removeprefix("data."): name} if name else None)
    assert list(caught.value.errors.values()) == [expected]


def test_a_field_of_only_invisible_characters_is_empty() -> None:
    """A trial's document title "\u200b\u200b" and excused reason "\u00a0 \u200b" counted as filled in."""
    form = {"title": "\u200b\u200b", "reason": "\u00a0 \u200b", "topic": "\ufeff Học tập \u200b"}
    assert [forms.text(form, name) for name in ("title", "reason", "topic")] == ["", "", "Học tập"]


def test_a_colon_of_a_literal_is_kept_when_a_reason_follows_a_label() -> None:
    """after_label said the first ": " of a reason as "; ", and so broke the literal `urn:chibo:` on the operations
    page ("bắt đầu bằng urn:chibo; thuộc về…"): a colon ending a token that holds another colon, or inside code
    marks, is the literal's; the first colon that separates clauses is still said as a semicolon."""
    said = explain_rejection("reworded", "source", {"code": RefusalCode.SOURCE_RESERVED})
    assert "bắt đầu bằng urn:chibo: thuộc về chính hệ thống này" in said and "urn:chibo;" not in said
    assert after_label("Nguồn urn:chibo: là của hệ thống") == "nguồn urn:chibo: là của hệ thống"
    assert after_label("Giá trị `a: b` sai: hãy sửa") == "giá trị `a: b` sai; hãy sửa"
    assert (
        after_label("Thời điểm này đã qua: buổi sinh hoạt đã diễn ra")
        == "thời điểm này đã qua; buổi sinh hoạt đã diễn ra"
    )


def test_no_refusal_names_a_field_by_its_raw_name() -> None:
    """A name no label knows (an address parameter, a made-up input, a contract path) was said as itself
    (`held_offset: …`, `“data.x”`): it is said as a field not on the form; a contract field by its own name."""
    assert forms.label("held_offset") == forms.refused_label("held_offset") == "Một trường không có trên biểu mẫu này"
    assert forms.label("data.khong_co") == "Một trường không có trên biểu mẫu này"
    assert forms.label("cell_id") == forms.label("data.cell_id") == "Chi bộ"
    assert forms.input_name("ten_la") == "Một trường không có trên biểu mẫu này"
    assert forms.label("form") == "Biểu mẫu này"


def test_a_form_names_its_inputs_as_its_page_labels_them() -> None:
    """One mapping per form (forms.FormLabels, declared by its page): the cancel form's reason is its own label, an
    input the form does not have is not named by its raw name, a select box is chosen again, never retyped."""
    from services.gateway.web.pages.secretary import CANCEL_FORM, MINUTES_FORM, RESCHEDULE_FORM, SCHEDULE_FORM

    token = forms.FORM.set(CANCEL_FORM)
    try:
        assert forms.label("reason") == forms.label("data.reason") == "Lý do hủy"
        forms.FORM.set(RESCHEDULE_FORM)
        assert forms.label("reason") == "Lý do"
        forms.FORM.set(SCHEDULE_FORM)
        sent = FormData([("kind", "a\x00b"), ("location", "a\x00b"), ("cell_id", "a\x00b"), ("form_key", "\x00")])
        assert forms.unstorable_fields(sent) == {
            "kind": "Loại buổi sinh hoạt: có một ký tự không lưu được (U+0000); vui lòng chọn lại.",
            "location": "Địa điểm: có một ký tự không lưu được (U+0000); vui lòng nhập lại.",
            "cell_id": "Một trường không có trên biểu mẫu này: có một ký tự không lưu được (U+0000); trường này do"
            " trang tự điền, vui lòng tải lại biểu mẫu rồi gửi lại.",
            "form_key": "Mã biểu mẫu: có một ký tự không lưu được (U+0000); trường này do trang tự điền, vui lòng tải"
            " lại biểu mẫu rồi gửi lại.",
        }
        assert forms.not_utf8_message("kind").endswith("(không phải UTF-8 hợp lệ); vui lòng chọn lại.")
        forms.FORM.set(MINUTES_FORM)
        assert [forms.input_name(name) for name in ("task-2", "votes_for-3", "assignee-1", "task_id-2")] == [
            "Nhiệm vụ 2",
            "Tán thành, dòng 3",
            "Người thực hiện, dòng 1",
            "Mã nhiệm vụ, dòng 2",
        ]
        assert forms.input_kind("chair_id") == forms.CHOICE and forms.input_kind("held_offset") == forms.FILLED
    finally:
        forms.FORM.reset(token)


@pytest.mark.parametrize(
    ("refusal", "expected"),
    [
        (
            Refusal(code=RefusalCode.ROSTER_INCOMPLETE, member_names=["Lê Văn An", "Trần Thị Bình"], missing=2),
            "Điểm danh: danh sách còn thiếu đồng chí Lê Văn An, Trần Thị Bình. Danh sách phải có mọi đảng viên của"
            " chi bộ tại thời điểm bắt đầu buổi sinh hoạt, đảng viên miễn sinh hoạt hoặc đã chuyển đi ghi đúng trạng"
            " thái đó; điểm danh chưa được ghi nhận.",
        ),
        (
            Refusal(
                code=RefusalCode.ROSTER_INCOMPLETE,
                member_names=["Lê Văn An", "Trần Thị Bình", "Hoàng Văn Cường"],
                missing=12,
            ),
            "Điểm danh: danh sách còn thiếu đồng chí Lê Văn An, Trần Thị Bình, Hoàng Văn Cường và 9 đồng chí khác."
            " Danh sách phải có mọi đảng viên của chi bộ tại thời điểm bắt đầu buổi sinh hoạt, đảng viên miễn sinh"
            " hoạt hoặc đã chuyển đi ghi đúng trạng thái đó; điểm danh chưa được ghi nhận.",
        ),
        (
            Refusal(code=RefusalCode.ROSTER_INCOMPLETE, member_names=[], missing=0),
            "Điểm danh: danh sách trống; vui lòng điểm danh tất cả đảng viên của chi bộ.",
        ),
    ],
)
async def test_a_roster_leaving_out_members_names_them_beside_the_roster(refusal: Refusal, expected: str) -> None:
    """The trial's roster of 2 of 14 members was taken; meetings now refuses it (roster_incomplete) and the form says
    who is missing by name, the first few then how many others, under the roster (`data.records`)."""

    async def command() -> None:
        raise RpcError("invalid", "data.records: reworded", field="data.records", refusal=refusal)

    with pytest.raises(FormErrors) as caught:
        await forms.send(command())
    assert read_all(caught.value.errors) == {"data.records": expected}


@pytest.mark.parametrize(
    ("field", "code", "expected"),
    [
        (
            "guests.1.committee_id",
            RefusalCode.GUEST_COMMITTEE_UNKNOWN,
            "Cấp ủy (dòng 2 của khách mời): cấp ủy này không phải cấp ủy cấp trên của chi bộ mà hệ thống biết; vui"
            " lòng ghi cấp ủy cấp trên của khách mời hoặc để trống; điểm danh chưa được ghi nhận.",
        ),
        (
            "task_id",
            RefusalCode.TASK_NOT_IN_MINUTES,
            "Mã nhiệm vụ: nhiệm vụ này không có trong biên bản đã ghi của buổi sinh hoạt nên chưa được đánh dấu hoàn"
            " thành.",
        ),
        (
            "meeting_id",
            RefusalCode.MINUTES_NOT_SUBMITTED,
            "Buổi sinh hoạt chưa có biên bản: vui lòng ghi biên bản trước, sau đó mới ghi nhận việc thông qua biên"
            " bản.",
        ),
        ("meeting_id", RefusalCode.MEETING_UNKNOWN, "Buổi sinh hoạt này không có trong lịch của hệ thống."),
        (
            "meeting_id",
            RefusalCode.ROSTER_NOT_RECORDED,
            "Buổi sinh hoạt chưa được điểm danh: biên bản ghi số đảng viên được triệu tập, có mặt và vắng mặt, vì vậy"
            " vui lòng ghi điểm danh trước, sau đó mới ghi nhận việc thông qua biên bản.",
        ),
    ],
)
async def test_a_reference_meetings_does_not_know_is_refused_in_vietnamese_naming_the_field(
    field: str, code: RefusalCode, expected: str
) -> None:
    """A secretary's roster guest of an unknown committee, a completion of a task not in the minutes, an adoption
    before the minutes and a command on a meeting not scheduled were held (202, refused a day later); meetings now
    refuses them at once and the form says why beside the field, never that it was recorded."""

    async def command() -> None:
        raise RpcError("invalid", f"{field}: reworded", field=field, refusal=Refusal(code=code))

    with pytest.raises(FormErrors) as caught:
        await forms.send(command())
    assert caught.value.errors == {field: expected}


async def test_points_for_an_item_not_applying_to_the_meetings_kind_are_refused_in_vietnamese() -> None:
    """A trial's thematic-content points on an extraordinary meeting were accepted, counting for nothing unsaid;
    meetings refuses them (item_not_applicable) and the form says so beside the item."""

    async def command() -> None:
        field = "points.conduct.thematic_content"
        refusal = Refusal(code=RefusalCode.ITEM_NOT_APPLICABLE)
        raise RpcError("invalid", f"{field}: reworded", field=field, refusal=refusal)

    with pytest.raises(FormErrors) as caught:
        await forms.send(command())
    assert caught.value.errors == {
        "points.conduct.thematic_content": "Điểm: mục này của khung tiêu chí không áp dụng cho loại buổi sinh hoạt này"
        " nên không được chấm điểm; vui lòng để trống; kết quả chấm điểm chưa được ghi nhận."
    }


def test_a_refused_move_of_a_held_meeting_says_how_to_correct_its_date() -> None:
    """A trial's integration could cancel a held meeting but not move it, and the operations page said "cannot be
    moved or cancelled": it now says the time is not moved and how a meeting recorded on the wrong day is corrected."""
    said = explain_rejection(
        "data.starts_at: meeting t47-ma was already held and cannot be rescheduled",
        "data.starts_at",
        {"code": RefusalCode.MEETING_MINUTES_RECORDED},
    )
    assert "hoặc hủy" not in said, said
    assert "hãy hủy buổi đó rồi lên lịch lại đúng thời điểm thực tế đã sinh hoạt" in said, said
