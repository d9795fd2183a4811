"""A trial of the web forms (h191): tampered hidden fields refused in English (`form_key`), the preferences error
listing the SMS channel the page disables, raw UTF-8 in an urlencoded body stored as Latin-1 mojibake, and one
sentence for both reasons the committee page's period alerts wait."""

from types import SimpleNamespace

import pytest

from services.gateway.web import core, forms
from services.gateway.web.forms import UNSTORABLE
from tests.web.scheduling import stand_in_for_scheduling
from tests.web.test_trial_h187 import NOT_UTF8, posted

CELL = "Chi bộ Đồng Tâm"


@pytest.mark.parametrize("encoded", [False, True])
async def test_raw_utf8_in_an_urlencoded_body_is_read_as_utf8(encoded: bool) -> None:
    """WHATWG urlencoded parsing: bytes percent-decoded, then UTF-8 decoded, raw or escaped alike (a raw body was
    read as Latin-1: `Chi bá»\\x99 Ä\\x90á»\\x93ng TÃ¢m`)."""
    raw = CELL.encode()
    value = b"".join(b"%%%02X" % byte for byte in raw) if encoded else raw.replace(b" ", b"+")
    request = posted(b"csrf=t&location=" + value + b"&" + "địa_điểm".encode() + b"=x&empty=&bare&&a=1%2B1")
    await core.check_csrf(request, SimpleNamespace(csrf="t"))  # type: ignore[arg-type]
    form = await forms.form_of(request)
    assert form.get("location") == CELL
    assert form.get("địa_điểm") == "x" and form.get("empty") == "" and form.get("bare") == ""
    assert form.get("a") == "1+1"
    assert dict(UNSTORABLE.get()) == {}
    assert await request.form() is form  # the handler's own reading is the same


async def test_a_schedule_form_sent_with_raw_utf8_stores_the_text_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = stand_in_for_scheduling(monkeypatch)
    request = posted(b"csrf=t&kind=regular&start_date=2026-12-20&start_time=19%3A30&agenda=x&location=" + CELL.encode())
    await core.check_csrf(request, SimpleNamespace(csrf="t"))  # type: ignore[arg-type]
    await seen.schedule(request)
    assert seen.shown.get("errors") in (None, {}), seen.shown.get("errors")
    assert len(seen.sent) == 1
    assert CELL in repr(seen.sent[0]), seen.sent


@pytest.mark.parametrize("value", [b"A\xed\xa0\x80B", b"\xff", b"caf\xc3"])
async def test_raw_bytes_that_are_not_utf8_are_still_refused(value: bytes) -> None:
    request = posted(b"csrf=t&reason=" + value)
    await forms.form_of(request)
    assert dict(UNSTORABLE.get()) == {"reason": f"Lý do: {NOT_UTF8}"}
