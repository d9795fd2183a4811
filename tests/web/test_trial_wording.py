"""Small wording faults a trial's secretaries, officers and operators read, each checked without a running system:
a month with only a thematic meeting said "chưa sinh hoạt" on the cell page; the operations page called the
CloudEvents `time` "thời điểm gửi" (and so did the refusals of a date over two years past it and of a birth year after
it); the cancel form's error said "Lý do" for the field labelled "Lý do hủy"; the
minutes form named an absent speaker only as "đảng viên này" and, like the roster form, told one mistake per sending;
and member lists were sorted by family name where Vietnamese lists read the given name first."""

from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.datastructures import FormData

from services.gateway.auth import Role
from services.gateway.web import forms, reasons
from services.gateway.web.core import environment
from services.gateway.web.forms import FormErrors
from services.gateway.web.pages import secretary
from services.gateway.web.pages.secretary import _minutes_body, meeting_roster
from shared.collation import by_person, by_person_values, person_key
from shared.periods import VIETNAM_TZ
from shared.refusals import Refusal, RefusalCode
from shared.rpc import RpcError
from tests.web.isolates import read

CELL = {"id": "thon-moi", "name": "Chi bộ thôn Mới", "kind": "cell"}


def viewer() -> SimpleNamespace:
    return SimpleNamespace(role=Role.COMMITTEE_OFFICER, account=SimpleNamespace(sub="can-bo"), csrf="t", principal=None)


def strip_badge(month: dict[str, Any]) -> str:
    """The badge of the running month on the cell page's month strip ("" without one)."""
    strip = [{"period": f"2026-{number:02d}"} for number in range(1, 12)] + [month]
    page = (
        environment()
        .get_template("cell.html")
        .render(
            viewer=viewer(),
            unit=CELL,
            year="2026",
            years=["2026"],
            crumbs=[],
            scores_unavailable=False,
            strip=strip,
            quarters=[],
            year_row=None,
            meetings=[],
            ahead=[],
        )
    )
    item = page[page.index('data-period="2026-12"') :]
    item = item[: item.index("</li>")]
    if "data-not-met-yet>" not in item:
        return ""
    return item.split("data-not-met-yet>", 1)[1].split("</span>", 1)[0]


def test_a_month_with_only_a_thematic_meeting_says_no_regular_meeting_yet() -> None:
    running = {"period": "2026-12", "rating": None, "score": None, "flags": ["in_progress"], "not_met_yet": True}
    assert strip_badge(running | {"regular_held": 0, "thematic_held": 1}) == "chưa sinh hoạt thường kỳ"
    assert strip_badge(running | {"regular_held": 0, "thematic_held": 0}) == "chưa sinh hoạt"


def test_the_cloudevents_time_is_the_time_of_the_event_not_when_it_was_sent() -> None:
    assert reasons.field_label("time") == "thời điểm của sự kiện"
    said = reasons.explain_rejection("time: 2027-01-01T00:00:00Z is in the future", "time", None)
    assert "thời điểm gửi" not in said.lower() and "thời điểm của sự kiện" in said.lower(), said


@pytest.mark.parametrize(
    ("field", "code", "expected"),
    [
        (
            "data.approved_at",
            RefusalCode.BEYOND_HORIZON,
            "Thời điểm thông qua biên bản: ngày ghi trong dữ liệu muộn hơn thời điểm của sự kiện quá 2 năm.",
        ),
        ("data.birth_year", RefusalCode.BORN_AFTER_EVENT, "Năm sinh muộn hơn thời điểm của sự kiện."),
    ],
)
def test_a_date_beyond_the_events_time_is_measured_from_the_time_of_the_event(
    field: str, code: RefusalCode, expected: str
) -> None:
    """A date more than two years ahead and a birth year ahead are judged against the event's CloudEvents `time`
    (when the fact was true), so the refusal names that moment as the house does, never "thời điểm gửi"."""
    assert reasons.explain_rejection(f"{field}: reworded", field, {"code": code.value}) == expected


def handled(monkeypatch: pytest.MonkeyPatch, sent: Any) -> None:
    """The secretary's form handlers run on `sent` as posted: their errors returned instead of the page."""

    async def submit(*args: Any) -> Any:
        try:
            await args[5]()
        except FormErrors as exc:
            return exc.errors
        return {}

    async def form_of(_: Any, labels: forms.FormLabels) -> FormData:
        forms.FORM.set(labels)  # as the real one does: the refusals name the inputs as this form labels them
        return FormData(list(sent.items()) if isinstance(sent, dict) else sent)

    monkeypatch.setattr(secretary, "_submit", submit)
    monkeypatch.setattr(forms, "form_of", form_of)


async def test_the_cancel_forms_errors_name_its_field_as_labelled(monkeypatch: pytest.MonkeyPatch) -> None:
    handled(monkeypatch, {"reason": ""})
    errors: Any = await secretary.cancel("m-1", None, None, None)  # type: ignore[arg-type]
    assert list(errors.values()) == ["Lý do hủy: không được để trống."]

    async def refused() -> None:
        raise RpcError("invalid", "data.reason: reworded", field="data.reason")

    with pytest.raises(FormErrors) as caught:
        await forms.send(refused(), names={"reason": "Lý do hủy"})
    assert list(caught.value.errors.values())[0].startswith("Lý do hủy:")


MINUTES = {
    "day": "2026-11-20",
    "started": "19:30",
    "ended": "21:30",
    "chair_id": "m-1",
    "recorder_id": "m-2",
}
ROSTER = {"m-1": "present", "m-2": "present", "m-3": "absent", "m-4": "excused", "m-5": "present"}
STARTS = datetime(2026, 11, 20, 19, 30, tzinfo=VIETNAM_TZ)
"""The start of the meetings these handlers read (the member list is the one at the start)."""

NAMES = {"m-1": "Trần Văn An", "m-2": "Lê Thị Bình", "m-3": "Nguyễn Văn Cường", "m-4": "Phạm Thị Dung"}


def test_the_minutes_form_reports_an_absent_speaker_by_name_and_every_other_mistake_at_once() -> None:
    form = FormData(
        [
            *MINUTES.items(),
            ("speakers", "m-1"),
            ("speakers", "m-3"),
            ("speakers", "m-4"),
            ("resolution-1", "Thông qua kế hoạch"),
            ("votes_for-1", "3"),
            ("votes_against-1", "1"),
            ("abstentions-1", "0"),
            ("task-1", "Rà soát hộ nghèo"),
            ("assignee-1", "m-1"),
            ("due-1", "2026-11-01"),
        ]
    )
    with pytest.raises(FormErrors) as caught:
        _minutes_body(form, "m", roster=ROSTER, names=NAMES)
    said = [read(line) for line in caught.value.errors.values()]
    assert "Đồng chí Nguyễn Văn Cường vắng mặt theo điểm danh nên không thể là người phát biểu." in said, said
    assert any("Phạm Thị Dung" in line for line in said), said
    assert any("nghị quyết dòng 1" in line and "4 phiếu" in line and "(3)" in line for line in said), said
    assert any(line.startswith("Hạn hoàn thành nhiệm vụ, dòng 1:") for line in said), said
    assert len(said) == 4, said

    # the same minutes with a right roster, votes and date go through
    fine = FormData(
        [
            *MINUTES.items(),
            ("speakers", "m-1"),
            ("resolution-1", "Thông qua kế hoạch"),
            ("votes_for-1", "3"),
            ("task-1", "Rà soát hộ nghèo"),
            ("assignee-1", "m-1"),
            ("due-1", "2026-12-01"),
        ]
    )
    body = _minutes_body(fine, "m", roster=ROSTER, names=NAMES)
    assert body["speakers"] == ["m-1"]


def test_an_absent_chair_is_named_and_no_roster_judges_nothing() -> None:
    form = FormData([*{**MINUTES, "chair_id": "m-3"}.items(), ("resolution-1", "Kế hoạch"), ("votes_for-1", "40")])
    with pytest.raises(FormErrors) as caught:
        _minutes_body(form, "m", roster=ROSTER, names=NAMES)
    assert read(caught.value.errors["chair_id"]) == (
        "Đồng chí Nguyễn Văn Cường vắng mặt theo điểm danh nên không thể là người chủ trì."
    )
    assert "votes_for-1" in caught.value.errors
    assert _minutes_body(form, "m")["chair_id"] == "m-3"  # no roster recorded yet: meetings takes it as sent


async def test_the_minutes_roster_is_read_from_the_meeting_and_the_members_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.gateway.web import data

    async def members_by_id(*_: Any, at: datetime | None = None) -> dict[str, dict[str, Any]]:
        return {"m-1": {"full_name": "Trần Văn An"}, "m-3": {"full_name": "Nguyễn Văn Cường"}}

    monkeypatch.setattr(data, "members_by_id", members_by_id)
    records = [{"member_id": "m-1", "status": "present"}, {"member_id": "m-3", "status": "absent"}]
    meeting = SimpleNamespace(cell_id="c", starts_at=STARTS, attendance=SimpleNamespace(records=records))
    someone: Any = SimpleNamespace(principal=None)
    roster, names = await meeting_roster(someone, None, meeting)  # type: ignore[arg-type]
    assert roster == {"m-1": "present", "m-3": "absent"} and names["m-3"] == "Nguyễn Văn Cường"
    roster, _ = await meeting_roster(someone, None, SimpleNamespace(cell_id="c", starts_at=STARTS, attendance=None))  # type: ignore[arg-type]
    assert roster is None


async def test_the_minutes_handler_judges_the_form_by_the_meetings_roster(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.gateway.web import data

    async def members_by_id(*_: Any, at: datetime | None = None) -> dict[str, dict[str, Any]]:
        return {member_id: {"full_name": name} for member_id, name in NAMES.items()}

    records = [{"member_id": member_id, "status": status} for member_id, status in ROSTER.items()]
    meeting = SimpleNamespace(
        cell_id="c",
        starts_at=datetime(2026, 11, 20, 19, 30, tzinfo=VIETNAM_TZ),
        attendance=SimpleNamespace(records=records),
    )

    async def recordable_meeting(*_: Any) -> Any:
        return meeting

    monkeypatch.setattr(data, "members_by_id", members_by_id)
    monkeypatch.setattr(secretary, "recordable_meeting", recordable_meeting)
    handled(monkeypatch, [*MINUTES.items(), ("speakers", "m-3"), ("resolution-1", "Kế hoạch"), ("votes_for-1", "9")])
    errors: Any = await secretary.minutes("m-1", None, SimpleNamespace(principal=None), None)  # type: ignore[arg-type]
    assert read(errors["speakers-m-3"]).startswith("Đồng chí Nguyễn Văn Cường vắng mặt"), errors
    assert "votes_for-1" in errors and len(errors) == 2, errors


async def test_an_absent_speaker_refused_by_meetings_is_named_too() -> None:
    async def refused() -> None:
        raise RpcError(
            "invalid",
            "data.speakers.1: reworded",
            field="data.speakers.1",
            refusal=Refusal(code=RefusalCode.ABSENT_AT_MEETING, member_id="m-3"),
        )

    with pytest.raises(FormErrors) as caught:
        await forms.send(refused(), members=NAMES)
    [said] = map(read, caught.value.errors.values())
    assert said == "Đồng chí Nguyễn Văn Cường vắng mặt theo điểm danh nên không thể là người phát biểu.", said


def test_member_lists_read_by_given_name_then_the_rest() -> None:
    names = ["Nguyễn Thị Bình", "Trần Văn An", "Lê Văn An", "Đặng Minh Châu", "Hồ Thị Ánh"]
    assert sorted(names, key=person_key) == [
        "Lê Văn An",
        "Trần Văn An",
        "Hồ Thị Ánh",
        "Nguyễn Thị Bình",
        "Đặng Minh Châu",
    ]
    people = {"a": {"full_name": "Nguyễn Văn Bảo"}, "b": {"full_name": "Vũ Thị An"}}
    assert list(by_person_values(people, lambda person: person["full_name"])) == ["b", "a"]
    assert by_person(["Nguyễn Văn Bảo", None, "Vũ An"], lambda name: name) == [None, "Vũ An", "Nguyễn Văn Bảo"]


def roster_form_of_two(monkeypatch: pytest.MonkeyPatch) -> None:
    """The roster form's reads stood in for: members m-1 and m-2 (NAMES) of a meeting of 20/11/2026 at 19:30 that can
    still be recorded."""
    from services.gateway.web import data

    async def members_by_id(*_: Any, at: datetime | None = None) -> dict[str, dict[str, Any]]:
        return {member_id: {"full_name": name} for member_id, name in NAMES.items()}

    async def recordable_meeting(*_: Any) -> Any:
        return SimpleNamespace(
            cell_id="c", starts_at=datetime(2026, 11, 20, 19, 30, tzinfo=VIETNAM_TZ), approved_at=None, minutes=None
        )

    monkeypatch.setattr(data, "members_by_id", members_by_id)
    monkeypatch.setattr(secretary, "recordable_meeting", recordable_meeting)


async def test_the_roster_form_reports_a_reason_for_a_present_member_with_its_other_mistakes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reason on a present member's line was told only after the missing reason of another line was given."""
    roster_form_of_two(monkeypatch)
    sent = [("member", "m-1"), ("status-m-1", "excused"), ("reason-m-1", "")]
    sent += [("member", "m-2"), ("status-m-2", "present"), ("reason-m-2", "Đến muộn")]
    handled(monkeypatch, sent)
    errors: Any = await secretary.attendance("m-1", None, SimpleNamespace(principal=None), None)  # type: ignore[arg-type]
    assert read(errors["reason-m-1"]) == "Lý do vắng của đồng chí Trần Văn An: không được để trống.", errors
    assert read(errors["reason-m-2"]).startswith(
        "Lý do vắng của đồng chí Lê Thị Bình: đảng viên có mặt thì không ghi lý do vắng"
    ), errors


async def test_the_roster_form_refuses_a_reason_for_an_absence_without_leave_naming_the_member(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A trial's form stored a 600-character reason for a member marked "Vắng không lý do", and the minutes printed
    "Vắng không lý do (xxxx…)": a reason goes with an excused absence only (DOMAIN.md), said on that line's reason
    with the form's other mistakes, before anything is sent."""
    roster_form_of_two(monkeypatch)
    sent = [("member", "m-1"), ("status-m-1", "excused"), ("reason-m-1", "")]
    sent += [("member", "m-2"), ("status-m-2", "absent"), ("reason-m-2", "x" * 600)]
    handled(monkeypatch, sent)
    errors: Any = await secretary.attendance("m-1", None, SimpleNamespace(principal=None), None)  # type: ignore[arg-type]
    assert read(errors["reason-m-1"]) == "Lý do vắng của đồng chí Trần Văn An: không được để trống.", errors
    assert read(errors["reason-m-2"]) == (
        "Lý do vắng của đồng chí Lê Thị Bình: đảng viên vắng không lý do thì không ghi lý do; nếu vắng có lý do, hãy"
        " chọn “Vắng có lý do”; nếu không, hãy xóa lý do."
    ), errors


@pytest.mark.parametrize(
    ("reason", "field", "expected"),
    [
        (
            "data.birth_year: number too long (5000 digits; at most 4300)",
            "data.birth_year",
            "con số có tới 5.000 chữ số, vượt quá mức tối đa 4.300 chữ số.",
        ),
        (  # stored before the reading said it in its own words: Python's, glossed all the same
            "body: not valid JSON (Exceeds the limit (4300 digits) for integer string conversion: value has 5000"
            " digits; use sys.set_int_max_str_digits() to increase the limit)",
            "body",
            "con số có quá nhiều chữ số, vượt quá mức tối đa cho phép.",
        ),
    ],
)
def test_a_number_of_too_many_digits_is_said_as_such_on_the_operations_page(
    reason: str, field: str, expected: str
) -> None:
    """A trial's rejection of a 5,000-digit number read "… không phải là một sự kiện JSON hợp lệ" beside Python's
    words; it says the number is too long, naming the field."""
    said = reasons.explain_rejection(reason, field, None)
    assert said.endswith(expected), said
    assert "sys." not in said and "JSON" not in said, said
