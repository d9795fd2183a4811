"""Findings of a web trial (h213): the roster form's refusals of a character no text is stored with said "Lý do vắng"
or "Điểm danh" alone, the same for every member, where the page labels each input with the member's name; the alert
settings' on/off tick holding U+0000 read "giá trị không hợp lệ" where every other input says the character cannot be
stored (and a number holding it was refused twice, also as no whole number)."""

from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest

from services.gateway.web import data, forms
from services.gateway.web.forms import FormErrors
from services.gateway.web.pages import alerts, secretary
from shared.periods import VIETNAM_TZ
from tests.web.test_trial_h187 import RULE, posted

NAMES = {"m-1": "Trần Văn An", "m-2": "Lê Thị Bình"}
STORED = "có một ký tự không lưu được (U+0000)"


async def roster_errors(monkeypatch: pytest.MonkeyPatch, body: bytes) -> dict[str, str]:
    """The roster handler's errors for the posted `body` (a real form read), with a cell of NAMES."""

    async def members_by_id(*_: Any) -> dict[str, dict[str, Any]]:
        return {member_id: {"full_name": name} for member_id, name in NAMES.items()}

    async def recordable_meeting(*_: Any) -> Any:
        return SimpleNamespace(
            cell_id="c", starts_at=datetime(2026, 11, 20, 19, 30, tzinfo=VIETNAM_TZ), approved_at=None, minutes=None
        )

    async def submit(*args: Any) -> Any:
        try:
            await args[5]()
        except FormErrors as exc:
            return exc.errors
        return {}

    async def sent(*_: Any) -> None:
        raise AssertionError("nothing is sent while an input holds what cannot be stored")

    monkeypatch.setattr(data, "members_by_id", members_by_id)
    monkeypatch.setattr(secretary, "recordable_meeting", recordable_meeting)
    monkeypatch.setattr(secretary, "_submit", submit)
    monkeypatch.setattr(secretary.commands, "record_attendance", sent)
    request = posted(body)
    errors: Any = await secretary.attendance("m-1", request, SimpleNamespace(principal=None), None)  # type: ignore[arg-type]
    return dict(errors)


async def test_a_roster_inputs_unstorable_character_is_refused_naming_the_member(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    errors = await roster_errors(
        monkeypatch,
        b"csrf=t&member=m-1&status-m-1=excused&reason-m-1=%E1%BB%91m%00&member=m-2&status-m-2=pre%00sent",
    )
    assert errors["reason-m-1"] == f"Lý do vắng của Trần Văn An: {STORED}; vui lòng nhập lại.", errors
    assert errors["status-m-2"] == f"Điểm danh đồng chí Lê Thị Bình: {STORED}; vui lòng chọn lại.", errors


async def test_a_roster_input_that_is_not_utf8_names_the_member_too(monkeypatch: pytest.MonkeyPatch) -> None:
    errors = await roster_errors(monkeypatch, b"csrf=t&member=m-2&status-m-2=excused&reason-m-2=A%FFB")
    assert errors["reason-m-2"].startswith("Lý do vắng của Lê Thị Bình: có một ký tự không lưu được"), errors


def test_a_rows_label_says_its_name_once_known_and_never_its_id() -> None:
    labels = secretary.ATTENDANCE_FORM
    assert labels.find("reason-m-1") == ("Lý do vắng", forms.TEXT)  # before the handler knows the members
    forms.FORM.set(labels)
    forms.with_row_names(forms.FormData([]), NAMES)
    named = forms.FORM.get()
    assert named is not None
    assert named.find("reason-m-1") == ("Lý do vắng của Trần Văn An", forms.TEXT)
    assert named.find("status-m-2") == ("Điểm danh đồng chí Lê Thị Bình", forms.CHOICE)
    assert named.find("status-m-9") == ("Điểm danh", forms.CHOICE)  # no member of the cell: never the raw id


async def alert_errors(monkeypatch: pytest.MonkeyPatch, body: bytes) -> dict[str, Any]:
    """What the alert settings page shows after `body` is posted for RULE (nothing may be saved)."""
    shown: dict[str, Any] = {}

    async def rules_before_saving(*_: Any) -> Any:
        return {"rules": [RULE]}

    async def saved_or_not(*_: Any) -> None:
        raise AssertionError("nothing is saved while an input holds what cannot be stored")

    async def page(*_: Any, **context: Any) -> Any:
        shown.update(context)
        return context

    monkeypatch.setattr(alerts, "rules_before_saving", rules_before_saving)
    monkeypatch.setattr(alerts, "saved_or_not", saved_or_not)
    monkeypatch.setattr(alerts, "_page", page)
    request = posted(body)
    request.scope["state"] = {}
    viewer: Any = SimpleNamespace(principal=None, csrf="t")
    await alerts.save_alert_rule("c", "late_minutes", request, viewer, SimpleNamespace())  # type: ignore[arg-type]
    assert shown["status"] == 422
    errors: dict[str, Any] = shown["errors"]
    return errors


@pytest.mark.parametrize(
    ("sent", "field", "expected"),
    [
        (b"enabled=%00", "enabled", f"Gửi cảnh báo này: {STORED}; vui lòng chọn lại."),
        (
            b"enabled=on&include_provisional=o%00n",
            "include_provisional",
            f"Tính cả điểm tạm thời: {STORED}; vui lòng chọn lại.",
        ),
    ],
)
async def test_an_alert_tick_holding_u0000_is_refused_by_its_label_as_unstorable(
    monkeypatch: pytest.MonkeyPatch, sent: bytes, field: str, expected: str
) -> None:
    errors = await alert_errors(monkeypatch, b"csrf=t&was.enabled=on&was.days_after=3&days_after=3&" + sent)
    assert errors == {field: expected}, errors


async def test_an_alert_number_holding_u0000_is_refused_once_as_unstorable(monkeypatch: pytest.MonkeyPatch) -> None:
    errors = await alert_errors(monkeypatch, b"csrf=t&was.enabled=on&was.days_after=3&enabled=on&days_after=3%00")
    assert list(errors) == ["days_after"], errors
    assert errors["days_after"].endswith(f"{STORED}; vui lòng nhập lại."), errors
