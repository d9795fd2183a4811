"""A trial of the web forms (h187): text whose bytes are not valid UTF-8 (`topic=A%ED%A0%80B`, a surrogate's bytes)
was stored with replacement characters, where the JSON API refuses it, and the alert settings' `enabled=%00` turned
the rule off for the whole subtree and said "saved" where every other field refuses U+0000."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.requests import Request

from services.gateway.web import core, forms
from services.gateway.web.forms import UNSTORABLE, FormErrors
from services.gateway.web.pages import alerts
from tests.web.scheduling import a_day_ahead, stand_in_for_scheduling

URLENCODED = "application/x-www-form-urlencoded"
NOT_UTF8 = "có một ký tự không lưu được (không phải UTF-8 hợp lệ); vui lòng nhập lại."
READ = forms.FormLabels(fields=forms.known("reason", "location"), hidden=frozenset(forms.HIDDEN_FIELDS))
"""A form of a reason and a place, with every hidden input there is, for the tests that read forms on their own."""


def posted(body: bytes, content_type: str = URLENCODED) -> Request:
    """A real Starlette request posting `body` (read in chunks, as a server hands it over)."""
    chunks = [body[: len(body) // 2], body[len(body) // 2 :]]

    async def receive() -> dict[str, Any]:
        chunk = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"content-type", content_type.encode())],
        "query_string": b"",
    }
    return Request(scope, receive)


async def test_a_schedule_forms_topic_that_is_not_utf8_is_refused_naming_it_and_nothing_is_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = stand_in_for_scheduling(monkeypatch)
    request = posted(
        b"csrf=t&kind=regular&start_date="
        + a_day_ahead().encode()
        + b"&start_time=19%3A30&location=Nh%C3%A0+v%C4%83n+h%C3%B3a"
        b"&agenda=x&topic=A%ED%A0%80B"
    )
    # the CSRF check parses the form first (as FormViewer does), then the handler reads it again
    await core.check_csrf(request, SimpleNamespace(csrf="t"))  # type: ignore[arg-type]
    await seen.schedule(request)
    assert seen.sent == []
    assert seen.shown["errors"] == {"topic": f"Chủ đề: {NOT_UTF8}"}, seen.shown.get("errors")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"csrf=t&reason=h%E1%BB%8Dp+A%ED%A0%80B", URLENCODED),  # a surrogate's bytes
        (b"csrf=t&reason=%FF", URLENCODED),  # a byte no UTF-8 text holds
        (b"csrf=t&reason=caf%C3", URLENCODED),  # a character cut short
        (
            b'--B\r\nContent-Disposition: form-data; name="csrf"\r\n\r\nt\r\n'
            b'--B\r\nContent-Disposition: form-data; name="reason"\r\n\r\nA\xed\xa0\x80B\r\n--B--\r\n',
            "multipart/form-data; boundary=B",
        ),
    ],
)
async def test_every_form_read_refuses_a_field_whose_bytes_are_not_utf8(body: bytes, content_type: str) -> None:
    request = posted(body, content_type)
    form = await forms.form_of(request, READ)
    assert form.get("csrf") == "t"
    assert dict(UNSTORABLE.get()) == {"reason": f"Lý do: {NOT_UTF8}"}
    with pytest.raises(FormErrors) as caught:
        forms.refuse_unstorable()
    assert caught.value.errors == {"reason": f"Lý do: {NOT_UTF8}"}


async def test_valid_utf8_forms_are_read_as_typed_and_refuse_nothing() -> None:
    body = (
        b"csrf=t&reason=Ch%C3%AD+b%E1%BB%99+h%E1%BB%8Dp+%F0%9F%98%80&a=1%2B1&empty=&bare"
        b"&%E1%BA%A1=x"  # a name in Vietnamese too
    )
    request = posted(body)
    form = await forms.form_of(request, READ)
    assert form.get("reason") == "Chí bộ họp 😀" and form.get("a") == "1+1" and form.get("ạ") == "x"
    assert dict(UNSTORABLE.get()) == {}
    multipart = posted(
        b'--B\r\nContent-Disposition: form-data; name="reason"\r\n\r\nCh\xc3\xad b\xe1\xbb\x99\r\n'
        b'--B\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\n\r\n\xff\r\n--B--\r\n',
        "multipart/form-data; boundary=B",
    )
    assert (await forms.form_of(multipart, READ)).get("reason") == "Chí bộ"
    assert dict(UNSTORABLE.get()) == {}  # a file's bytes are not text


RULE = {
    "rule": "late_minutes",
    "enabled": True,
    "params": {"days_after": 3, "include_provisional": False},
}


def _alert_form(**values: str) -> Any:
    from starlette.datastructures import FormData

    return FormData({"was.enabled": "on", "was.days_after": "3", "days_after": "3", **values})


@pytest.mark.parametrize("value", ["\x00", "off", "yes", ""])
def test_an_alert_checkbox_holding_anything_but_on_is_refused_naming_it(value: str) -> None:
    enabled, params, errors = alerts.changes_of(_alert_form(enabled=value), RULE)
    assert errors == {"enabled": "Gửi cảnh báo này: giá trị không hợp lệ."}, errors
    _e, _p, errors = alerts.changes_of(_alert_form(enabled="on", include_provisional=value), RULE)
    assert errors == {"params.include_provisional": "Tính cả điểm tạm tính: giá trị không hợp lệ."}, errors
    # on, or absent (unticked), as a browser sends it
    assert alerts.changes_of(_alert_form(enabled="on"), RULE) == (None, {}, {})
    assert alerts.changes_of(_alert_form(), RULE) == (False, {}, {})


@asynccontextmanager
async def no_other_save(*_: Any) -> AsyncIterator[None]:
    """alerts.one_form_at_a_time as it goes when no other save of the settings is under way, for a state without the
    gateway's database (the lock itself is tried against PostgreSQL in tests/web/test_simultaneous_saves.py)."""
    yield


async def test_the_alert_forms_enabled_u0000_is_refused_and_nothing_saved(monkeypatch: pytest.MonkeyPatch) -> None:
    saved: list[Any] = []
    shown: dict[str, Any] = {}

    async def get_alert_rules(*_: Any) -> Any:
        return {"rules": [RULE]}

    async def set_alert_rule(*arguments: Any) -> None:
        saved.append(arguments)

    async def page(*_: Any, **context: Any) -> Any:
        shown.update(context)
        return context

    monkeypatch.setattr(alerts.alert_rules, "get_alert_rules", get_alert_rules)
    monkeypatch.setattr(alerts.alert_rules, "set_alert_rule", set_alert_rule)
    monkeypatch.setattr(alerts, "_page", page)
    monkeypatch.setattr(alerts, "one_form_at_a_time", no_other_save)
    request = posted(b"csrf=t&was.enabled=on&was.days_after=3&days_after=3&enabled=%00")
    request.scope["state"] = {}
    viewer: Any = SimpleNamespace(principal=None, csrf="t")
    await alerts.save_alert_rule("c", "late_minutes", request, viewer, SimpleNamespace())  # type: ignore[arg-type]
    assert saved == []
    assert shown["status"] == 422
    assert list(shown["errors"]) == ["enabled"], shown["errors"]
    assert shown["errors"]["enabled"].startswith("Gửi cảnh báo này:"), shown["errors"]
