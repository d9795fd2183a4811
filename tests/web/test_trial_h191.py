"""A trial of the web forms (h191): tampered hidden fields refused in English (`form_key`), the preferences error
listing the SMS channel the page disables, raw UTF-8 in an urlencoded body stored as Latin-1 mojibake, and one
sentence for both reasons the committee page's period alerts wait."""

import re
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from services.gateway.schemas import RescoreCreate
from services.gateway.web import core, data, forms
from services.gateway.web.forms import UNSTORABLE, FormErrors
from services.gateway.web.pages import member
from shared.contracts.notifications_rpc import PeriodChecksReply, RulesReply
from shared.periods import VIETNAM_TZ
from tests.web.scheduling import a_day_ahead, stand_in_for_scheduling
from tests.web.test_committee_page import committee_page, rollup
from tests.web.test_trial_h187 import NOT_UTF8, READ, posted

CELL = "Chi bộ Đồng Tâm"
TEMPLATES = Path(forms.__file__).parent / "templates"


@pytest.mark.parametrize("encoded", [False, True])
async def test_raw_utf8_in_an_urlencoded_body_is_read_as_utf8(encoded: bool) -> None:
    """WHATWG urlencoded parsing: bytes percent-decoded, then UTF-8 decoded, raw or escaped alike (a raw body was
    read as Latin-1: `Chi bá»\\x99 Ä\\x90á»\\x93ng TÃ¢m`)."""
    raw = CELL.encode()
    value = b"".join(b"%%%02X" % byte for byte in raw) if encoded else raw.replace(b" ", b"+")
    request = posted(b"csrf=t&location=" + value + b"&" + "địa_điểm".encode() + b"=x&empty=&bare&&a=1%2B1")
    await core.check_csrf(request, SimpleNamespace(csrf="t"))  # type: ignore[arg-type]
    form = await forms.form_of(request, READ)
    assert form.get("location") == CELL
    assert form.get("địa_điểm") == "x" and form.get("empty") == "" and form.get("bare") == ""
    assert form.get("a") == "1+1"
    assert dict(UNSTORABLE.get()) == {}
    assert await request.form() is form  # the handler's own reading is the same


async def test_a_schedule_form_sent_with_raw_utf8_stores_the_text_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = stand_in_for_scheduling(monkeypatch)
    typed = b"csrf=t&kind=regular&start_date=" + a_day_ahead().encode() + b"&start_time=19%3A30&agenda=x&location="
    request = posted(typed + CELL.encode())
    await core.check_csrf(request, SimpleNamespace(csrf="t"))  # type: ignore[arg-type]
    await seen.schedule(request)
    assert seen.shown.get("errors") in (None, {}), seen.shown.get("errors")
    assert len(seen.sent) == 1
    assert CELL in repr(seen.sent[0]), seen.sent


@pytest.mark.parametrize("value", [b"A\xed\xa0\x80B", b"\xff", b"caf\xc3"])
async def test_raw_bytes_that_are_not_utf8_are_still_refused(value: bytes) -> None:
    request = posted(b"csrf=t&reason=" + value)
    await forms.form_of(request, READ)
    assert dict(UNSTORABLE.get()) == {"reason": f"Lý do: {NOT_UTF8}"}


GRACE_ENDS = datetime(2026, 12, 4, 0, 0, tzinfo=VIETNAM_TZ)  # November's end and 3 grace days, in Vietnam time
RULES = RulesReply(
    unit_id="xa-hoa-binh",
    rules={"period_rated_low": {"enabled": True, "params": {"grace_days": 3, "settle_minutes": 30}}},
)
SAID_GRACE = "khi đã hết thời gian chờ biên bản nộp muộn."
SAID_SETTLING = "khi xếp loại mới nhất đã ổn định."
SAID_BOTH = "khi đã hết thời gian chờ biên bản nộp muộn và xếp loại mới nhất đã ổn định."


def _checks(due_at: datetime | None) -> PeriodChecksReply:
    return PeriodChecksReply(committee_id="xa-hoa-binh", period="2026-11", due_at=due_at, pending=int(bool(due_at)))


@pytest.mark.parametrize(
    ("settles", "wait", "said", "moment"),
    [
        (None, "grace", SAID_GRACE, "00:00 thứ Sáu, ngày 04/12/2026"),  # no cell's rating still settling
        (GRACE_ENDS - timedelta(hours=2), "grace", SAID_GRACE, "00:00 thứ Sáu, ngày 04/12/2026"),
        (GRACE_ENDS + timedelta(hours=2, minutes=41), "settling", SAID_SETTLING, "02:41 thứ Sáu, ngày 04/12/2026"),
        (GRACE_ENDS, "both", SAID_BOTH, "00:00 thứ Sáu, ngày 04/12/2026"),
    ],
    ids=["no-check-pending", "grace-later", "settling-later", "together"],
)
def test_the_period_alerts_note_gives_only_the_reason_that_holds_them_back(
    settles: datetime | None, wait: str, said: str, moment: str
) -> None:
    """The trial's note said both "the days for late minutes are over and the latest ratings have settled" whichever
    one held the alerts back: the later of the two is said alone (both when they end together)."""
    checks = _checks(settles)
    now = datetime(2026, 12, 3, 18, 49, tzinfo=VIETNAM_TZ)
    due = data.alerts_ahead(RULES, "2026-11", checks=checks, now=now)
    assert data.alerts_waiting_for(RULES, "2026-11", checks=checks) == wait
    page = committee_page(rollup({"poor": 1}, []), alerts_due=due, alerts_wait=wait)
    note = f"Cảnh báo của tháng 11/2026 sẽ được xét lúc {moment}, {said}"
    assert note in page, page[page.index('id="inbox-title"') :][:2000]
    for other in {SAID_GRACE, SAID_SETTLING, SAID_BOTH} - {said}:
        assert f"{moment}, {other}" not in page


@pytest.mark.parametrize(
    ("available", "posted_channel", "listed"),
    [
        (["email", "inbox"], "pigeon", "Thư điện tử"),  # no SMS gateway: the page shows SMS disabled
        (["email", "inbox"], "webhook", "Thư điện tử"),  # the disabled box sent anyway (a tampered form)
        (["email", "webhook", "inbox"], "pigeon", "Thư điện tử, Tin nhắn (cổng SMS)"),  # a gateway configured
    ],
)
async def test_the_preferences_error_lists_only_the_channels_the_page_offers(
    available: list[str], posted_channel: str, listed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[Any] = []

    async def get_my_preferences(*_: Any) -> dict[str, Any]:
        return {"recipient_id": "m", "channels": ["inbox"], "digest": False, "available_channels": available}

    async def set_my_preferences(*arguments: Any) -> None:
        sent.append(arguments)

    monkeypatch.setattr(member.preferences, "get_my_preferences", get_my_preferences)
    monkeypatch.setattr(member.preferences, "set_my_preferences", set_my_preferences)
    request = posted(f"csrf=t&channels=email&channels={posted_channel}&digest=on".encode())
    viewer: Any = SimpleNamespace(principal=None, csrf="t")
    with pytest.raises(FormErrors) as caught:
        await member.save_my_preferences(request, viewer, SimpleNamespace())  # type: ignore[arg-type]
    assert caught.value.errors == {
        "channels": f"Kênh nhận thông báo: “{posted_channel}” không nằm trong các lựa chọn cho phép ({listed})."
    }
    assert sent == []
    # what the page offers is saved as before
    await member.save_my_preferences(posted(b"csrf=t&channels=email&digest=on"), viewer, SimpleNamespace())  # type: ignore[arg-type]
    assert len(sent) == 1


@pytest.mark.parametrize(
    ("available", "posted_channels", "said"),
    [
        # a tampered form: the disabled SMS box and an unknown channel, both named, not the first alone
        (["email", "inbox"], ["webhook", "pigeon"], "“webhook” và “pigeon”"),
        (["email", "inbox"], ["pigeon", "webhook", "pigeon", "fax"], "“pigeon”, “webhook” và “fax”"),
    ],
)
async def test_every_unoffered_channel_chosen_is_named_in_one_message(
    available: list[str], posted_channels: list[str], said: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several channels chosen that the page does not offer: the error named the first and the person, fixing it,
    met the next one on the following post."""

    async def get_my_preferences(*_: Any) -> dict[str, Any]:
        return {"recipient_id": "m", "channels": ["inbox"], "digest": False, "available_channels": available}

    async def set_my_preferences(*_: Any) -> None:
        raise AssertionError("an unoffered choice was sent on")

    monkeypatch.setattr(member.preferences, "get_my_preferences", get_my_preferences)
    monkeypatch.setattr(member.preferences, "set_my_preferences", set_my_preferences)
    body = "csrf=t&channels=email&" + "&".join(f"channels={channel}" for channel in posted_channels)
    viewer: Any = SimpleNamespace(principal=None, csrf="t")
    with pytest.raises(FormErrors) as caught:
        await member.save_my_preferences(posted(body.encode()), viewer, SimpleNamespace())  # type: ignore[arg-type]
    assert caught.value.errors == {
        "channels": f"Kênh nhận thông báo: {said} đều không nằm trong các lựa chọn cho phép (Thư điện tử)."
    }


HIDDEN_IN_TEMPLATES = re.compile(r'type="hidden" name="([^"{]+)(?:\{\{[^"]*)?"')
RELOAD = "trường này do trang tự điền, vui lòng tải lại biểu mẫu rồi gửi lại."


def _hidden_fields() -> set[str]:
    """Every hidden input of the app's forms, as its template names it (`was.{{ name }}` as `was.`)."""
    found: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        found.update(HIDDEN_IN_TEMPLATES.findall(template.read_text(encoding="utf-8")))
    return found


def test_every_hidden_field_of_every_form_has_a_vietnamese_name() -> None:
    hidden = _hidden_fields()
    assert {"csrf", "form_key", "meeting_id", "was.", "task_id-", "rejection_id"} <= hidden, hidden
    for name in hidden:
        shown = name + ("2" if name.endswith("-") else "days_after" if name.endswith(".") else "")
        said = forms.hidden_label(shown)
        assert said is not None and said != shown and not re.search(r"[_.]", said), (name, said)
    assert forms.hidden_label("form_key") == "Mã biểu mẫu"
    assert forms.hidden_label("data.unit_id") == "Đơn vị"
    assert forms.hidden_label("task_id-2") == "Mã nhiệm vụ, dòng 2"
    assert forms.hidden_label("location") is None


@pytest.mark.parametrize("name", sorted(_hidden_fields() | {"unit_id"}))
@pytest.mark.parametrize("value", [b"%00", b"%FF"])
async def test_a_tampered_hidden_field_is_refused_in_vietnamese_asking_for_the_form_to_be_reloaded(
    name: str, value: bytes
) -> None:
    """A trial's tampered `form_key=%00` was refused as `form_key: … vui lòng nhập lại.`: the English name of a field
    no one can type in, and the wrong thing to do."""
    field = name + ("2" if name.endswith("-") else "days_after" if name.endswith(".") else "")
    await forms.form_of(posted(b"csrf=t&" + field.encode() + b"=a" + value + b"b"), READ)
    said = dict(UNSTORABLE.get())
    assert list(said) == [field], said
    assert said[field].startswith(f"{forms.hidden_label(field)}: có một ký tự không lưu được ("), said
    assert said[field].endswith(RELOAD) and field not in said[field], said


def test_an_api_refusal_of_a_hidden_field_names_it_and_asks_for_a_reload() -> None:
    with pytest.raises(FormErrors) as caught:
        forms.build(RescoreCreate, {"unit_id": "x" * 300, "period_from": "2026-01", "period_to": None})
    assert caught.value.errors == {
        "unit_id": "Đơn vị: giá trị này do trang tự điền, nhưng bản gửi đi bị thiếu hoặc không hợp lệ. Vui lòng tải"
        " lại biểu mẫu rồi gửi lại."
    }
    # a field the person types in is still said as before
    assert (
        forms.unstorable_message("Địa điểm", "\x00")
        == "Địa điểm: có một ký tự không lưu được (U+0000); vui lòng nhập lại."
    )
