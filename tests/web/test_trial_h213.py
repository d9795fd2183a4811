"""Findings of a web trial (h213): a cell's month whose only meeting so far was an extraordinary one read "chưa sinh
hoạt" on the monitoring, evidence and committee pages (only a thematic one read "chưa sinh hoạt thường kỳ"), where
what it lacks is the regular meeting (DOMAIN.md "Periods"); the roster form's refusals of a character no text is
stored with said "Lý do vắng" or "Điểm danh" alone, the same for every member, where the page labels each input with
the member's name; the alert settings' on/off tick holding U+0000 read "giá trị không hợp lệ" where every other input
says the character cannot be stored (and a number holding it was refused twice, also as no whole number)."""

import contextvars
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest

from services.gateway import rollups
from services.gateway.auth import Role
from services.gateway.http import reads
from services.gateway.web import data, forms, i18n
from services.gateway.web.core import environment
from services.gateway.web.exports import evidence, row_rating
from services.gateway.web.forms import FormErrors
from services.gateway.web.pages import alerts, secretary
from services.gateway.web.pages.member import CHANNELS
from shared.periods import VIETNAM_TZ
from tests.web import test_running_month as running_month
from tests.web.isolates import read
from tests.web.test_monitor_email_on_file import PREFERENCES
from tests.web.test_trial_h187 import RULE, no_other_save, posted
from tests.web.test_trial_wording import strip_badge

NAMES = {"m-1": "Trần Văn An", "m-2": "Lê Thị Bình"}
STORED = "có một ký tự không lưu được (U+0000)"


async def roster_errors(monkeypatch: pytest.MonkeyPatch, body: bytes) -> dict[str, str]:
    """The roster handler's errors for the posted `body` (a real form read), with a cell of NAMES."""

    async def members_by_id(*_: Any, **__: Any) -> dict[str, dict[str, Any]]:
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
        b"csrf=t&member=m-1&status-m-1=excused&reason-m-1=%E1%BB%91m%00&member=m-2&status-m-2=v%00ang",
    )
    assert read(errors["reason-m-1"]) == f"Lý do vắng của đồng chí Trần Văn An: {STORED}; vui lòng nhập lại.", errors
    assert read(errors["status-m-2"]) == f"Điểm danh đồng chí Lê Thị Bình: {STORED}; vui lòng chọn lại.", errors
    # one message a field: not also "“present” is not a choice" for the status the character spoilt
    assert [said for said in errors.values() if read(said).startswith("Điểm danh đồng chí Lê Thị Bình")] == [
        errors["status-m-2"]
    ], errors


async def test_a_roster_input_that_is_not_utf8_names_the_member_too(monkeypatch: pytest.MonkeyPatch) -> None:
    errors = await roster_errors(monkeypatch, b"csrf=t&member=m-2&status-m-2=excused&reason-m-2=A%FFB")
    assert read(errors["reason-m-2"]).startswith("Lý do vắng của đồng chí Lê Thị Bình: có một ký tự không lưu được"), (
        errors
    )


def test_a_rows_label_says_its_name_once_known_and_never_its_id() -> None:
    labels = secretary.ATTENDANCE_FORM
    assert labels.find("reason-m-1") == ("Lý do vắng", forms.TEXT)  # before the handler knows the members

    def named() -> forms.FormLabels | None:
        forms.FORM.set(labels)
        forms.with_row_names(forms.FormData([]), NAMES)
        return forms.FORM.get()

    found = contextvars.copy_context().run(named)  # the form's labels end with it, as a request's do
    assert found is not None
    assert found.find("reason-m-1") == ("Lý do vắng của đồng chí \u2068Trần Văn An\u2069", forms.TEXT)
    assert found.find("status-m-2") == ("Điểm danh đồng chí \u2068Lê Thị Bình\u2069", forms.CHOICE)
    assert found.find("status-m-9") == ("Điểm danh", forms.CHOICE)  # no member of the cell: never the raw id


async def alert_errors(monkeypatch: pytest.MonkeyPatch, body: bytes) -> dict[str, Any]:
    """What the alert settings page shows after `body` is posted for RULE (nothing may be saved)."""
    shown: dict[str, Any] = {}

    async def get_alert_rules(*_: Any) -> Any:
        return {"rules": [RULE]}

    async def set_alert_rule(*_: Any) -> None:
        raise AssertionError("nothing is saved while an input holds what cannot be stored")

    async def page(*_: Any, **context: Any) -> Any:
        shown.update(context)
        return context

    monkeypatch.setattr(alerts.alert_rules, "get_alert_rules", get_alert_rules)
    monkeypatch.setattr(alerts.alert_rules, "set_alert_rule", set_alert_rule)
    monkeypatch.setattr(alerts, "_page", page)
    monkeypatch.setattr(alerts, "one_form_at_a_time", no_other_save)
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
            f"Tính cả điểm tạm tính: {STORED}; vui lòng chọn lại.",
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


# ---- a month whose only meeting so far was not the regular one ----------------------------------------------------

NOT_MET = "chưa sinh hoạt"
NOT_MET_REGULAR = "chưa sinh hoạt thường kỳ"
CELL = {"id": "thon-moi", "name": "Chi bộ thôn Mới", "kind": "cell"}
WAITING = {"period": "2026-12", "rating": None, "score": None, "flags": ["in_progress"], "not_met_yet": True}
"""The running month of a cell that has not held its regular meeting yet, as the gateway's reads give it."""
EXTRAORDINARY_ONLY = {"regular_held": 0, "thematic_held": 0, "meetings_held": 1}
NO_MEETING = {"regular_held": 0, "thematic_held": 0, "meetings_held": 0}


def viewer() -> SimpleNamespace:
    return SimpleNamespace(role=Role.COMMITTEE_OFFICER, account=SimpleNamespace(sub="can-bo"), csrf="t", principal=None)


def badges(page: str) -> list[str]:
    """The not-met-yet badges of a rendered page, in order."""
    return [part.split("</span>", 1)[0].strip() for part in page.split("data-not-met-yet>")[1:]]


@pytest.mark.parametrize(
    ("held", "said"),
    [
        (EXTRAORDINARY_ONLY, NOT_MET_REGULAR),
        ({"regular_held": 0, "thematic_held": 1, "meetings_held": 1}, NOT_MET_REGULAR),
        ({"regular_held": 0, "thematic_held": 1}, NOT_MET_REGULAR),  # a row rated before meetings_held was kept
        (NO_MEETING, NOT_MET),
        ({"regular_held": 0}, NOT_MET),
    ],
)
def test_a_month_not_met_yet_reads_by_whether_it_held_any_meeting(held: dict[str, Any], said: str) -> None:
    assert i18n.not_met_label(WAITING | held) == said
    assert row_rating(WAITING | held) == said[:1].upper() + said[1:]


def monitoring_page(month: dict[str, Any]) -> str:
    cell = {
        "assignment": SimpleNamespace(cell_id=CELL["id"], cell_name=CELL["name"], yearly_quota=None),
        "months": [month],
        "meetings": [],
    }
    return (
        environment()
        .get_template("monitoring.html")
        .render(viewer=viewer(), cells=[cell], inbox=[], preferences=PREFERENCES, channels=CHANNELS, errors={})
    )


@pytest.mark.parametrize(("held", "said"), [(EXTRAORDINARY_ONLY, NOT_MET_REGULAR), (NO_MEETING, NOT_MET)])
def test_the_monitoring_page_says_no_regular_meeting_yet_after_an_extraordinary_one(
    held: dict[str, Any], said: str
) -> None:
    assert badges(monitoring_page(WAITING | held)) == [said]


@pytest.mark.parametrize(("held", "said"), [(EXTRAORDINARY_ONLY, NOT_MET_REGULAR), (NO_MEETING, NOT_MET)])
def test_the_cell_page_says_no_regular_meeting_yet_after_an_extraordinary_one(held: dict[str, Any], said: str) -> None:
    assert strip_badge(WAITING | held) == said


@pytest.mark.parametrize(("held", "said"), [(EXTRAORDINARY_ONLY, NOT_MET_REGULAR), (NO_MEETING, NOT_MET)])
async def test_the_evidence_page_says_no_regular_meeting_yet_after_an_extraordinary_one(
    monkeypatch: pytest.MonkeyPatch, held: dict[str, Any], said: str
) -> None:
    async def list_cell_ratings(*_: Any, **__: Any) -> dict[str, Any]:
        return {"items": [WAITING | held], "total": 1, "limit": 200, "offset": 0}

    async def list_cell_meetings(*_: Any, **__: Any) -> dict[str, Any]:
        return {"items": [], "total": 0, "limit": 200, "offset": 0}

    monkeypatch.setattr(reads, "list_cell_ratings", list_cell_ratings)
    monkeypatch.setattr(reads, "list_cell_meetings", list_cell_meetings)
    member = SimpleNamespace(role=Role.MEMBER, unit_id="cb-khac")  # of another cell: no member list read here
    found = await evidence(SimpleNamespace(), member, CELL["id"], "2026")  # type: ignore[arg-type]
    page = (
        environment().get_template("evidence.html").render(viewer=viewer(), unit=CELL, year="2026", crumbs=[], **found)
    )
    assert badges(page) == [said]


def test_the_committee_page_says_no_regular_meeting_yet_for_a_cell_after_an_extraordinary_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The commune's cells as its page lists them (data.subordinates over evaluation's ranking lines) in the month in
    progress: one held only an extraordinary meeting, one none, one its regular meeting."""
    monkeypatch.setattr(rollups, "clock", lambda: running_month.RUNNING)
    lines = [
        {"cell_id": "thon-1", "name": "Chi bộ thôn 1", "score": 0.0, "rating": "poor", **EXTRAORDINARY_ONLY},
        {"cell_id": "thon-2", "name": "Chi bộ thôn 2", "score": 0.0, "rating": "poor", **NO_MEETING},
        {"cell_id": "thon-3", "name": "Chi bộ thôn 3", "score": 95.0, "rating": "good", "regular_held": 1},
    ]
    found = running_month.rollup(in_progress=True) | {
        "cells": 3,
        "by_rating": {"good": 1, "fair": 0, "average": 0, "poor": 2},
        "irregular": 2,
    }
    shown = running_month.shown_at(found | {"weakest": []})
    children = data.subordinates(
        [{"id": line["cell_id"], "name": line["name"], "kind": "cell"} for line in lines],
        rollup=shown,
        ranking={"items": lines, "total": 3},
        sub_rollups={},
        period=running_month.PERIOD,
    )
    page = running_month.committee_page(shown, children)
    rows = {row.split('"', 1)[0]: row for row in page.split('<tr data-unit="')[1:]}
    assert badges(rows["thon-1"]) == [NOT_MET_REGULAR]
    assert badges(rows["thon-2"]) == [NOT_MET]
    assert badges(rows["thon-3"]) == []
