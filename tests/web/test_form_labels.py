"""Every web form's refusals name its inputs as its page labels them (forms.FormLabels), on the running system: each
form found on the app's pages is posted with each of its inputs holding a bad value (U+0000, bytes that are not
UTF-8), and with an input it does not have; the refusal shown names no raw input name (`held_offset`, `cell_id`,
`start_date`) and holds no English. The operations page's address parameters, the sign-in form read as every other
form is, and a CSRF token that is not ASCII (a 500 before: hmac.compare_digest refuses such a str) are here too."""

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import quote_from_bytes

import httpx
import pytest

from services.gateway.web.pages.secretary import TAKE_STORED
from tests.support.system import RunningSystem
from tests.web.conftest import PERIOD, RUNNING, csrf_of, signed_in, web_account
from tests.web.test_record_values import begun_meeting

pytestmark = pytest.mark.e2e

CELL = "demo-cb-thon-1"
PAGES = {
    "secretary": [
        f"/app/cells/{CELL}/meetings/new",
        f"/app/cells/{CELL}/meetings/held",
        f"/app/meetings/{CELL}-{PERIOD}/record",
        f"/app/meetings/{CELL}-{RUNNING}/record",
    ],
    "member": ["/app/me"],
    "monitor": ["/app/monitoring", f"/app/monitoring/meetings/{CELL}-{PERIOD}"],
    "officer": ["/app/committees/demo-tinh-uy/alerts", "/app/committees/demo-tinh-uy/rescore"],
}
"""The pages whose forms are walked, by who sees them."""
UNSENT = ("/sign-out", "/read")
"""Forms whose action changes something whatever their inputs hold but the CSRF token (signing out, marking a notice
read): posted only with a bad token, which is refused before anything is done."""
BAD = {"U+0000": b"a\x00b", "not UTF-8": b"a\xffb"}
"""The bad values each input is posted with (a character no text is stored with; bytes no UTF-8 text holds)."""
NOT_ON_FORM = "Một trường không có trên biểu mẫu này"
"""How a refusal names an input the form does not have."""
STRAY = "ten_truong_la"
"""An input no form has."""
STORED = "không lưu được"
"""What a bad value's refusal says: that it cannot be stored (an alert's on/off tick too, named by its label)."""
ENGLISH = re.compile(
    r"\b(the|is|not|please|field|value|must|enter|choose|cannot|contains|character|form|stored|valid)\b", re.I
)


@dataclass
class Form:
    """A form of a page: where it posts and its inputs' names and values as the page fills them."""

    action: str
    inputs: list[tuple[str, str]] = field(default_factory=list)
    hidden: set[str] = field(default_factory=set)
    """The inputs the page fills in (`type="hidden"`): any other is one a person sees."""
    labels: dict[str, str] = field(default_factory=dict)
    """The inputs' own labels where the page gives them one (`aria-label`: a roster row's names the member)."""


class Forms(HTMLParser):
    """The POST forms of a page (their inputs, selects with their chosen or first option, and textareas)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.buttons: list[tuple[int, str, str | None, dict[str, str]]] = []
        self._select: str | None = None
        self._chosen: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Forms, inputs, selects and their options, textareas."""
        named = {key: value or "" for key, value in attrs}
        if tag == "form" and named.get("method", "").lower() == "post":
            self.forms.append(Form(html.unescape(named.get("action", ""))))
            return
        if not self.forms or "disabled" in named:
            return
        if tag == "button" and named.get("formaction"):
            # a part of the record page's one form: the whole form sent to the button's address, with its key
            self.buttons.append((len(self.forms) - 1, html.unescape(named["formaction"]), named.get("name"), named))
        if tag in ("input", "select", "textarea") and "name" in named and "aria-label" in named:
            self.forms[-1].labels.setdefault(named["name"], html.unescape(named["aria-label"]))
        if tag == "input" and "name" in named:
            kind = named.get("type", "text")
            if kind == "hidden":
                self.forms[-1].hidden.add(named["name"])
            if kind not in ("checkbox", "radio") or "checked" in named:
                self.forms[-1].inputs.append((named["name"], named.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select":
            self._select, self._chosen = named.get("name"), None
        elif tag == "option" and self._select is not None and (self._chosen is None or "selected" in named):
            self._chosen = named.get("value", "")
        elif tag == "textarea":
            self._textarea, self._text = named.get("name"), ""

    def handle_data(self, data: str) -> None:
        """A textarea's text."""
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        """A select's or a textarea's value, once read."""
        if tag == "select" and self._select is not None and self.forms:
            self.forms[-1].inputs.append((self._select, self._chosen or ""))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self.forms:
            self.forms[-1].inputs.append((self._textarea, self._text))
            self._textarea = None


def forms_of(page: str) -> list[Form]:
    """The POST forms of a page's HTML."""
    parser = Forms()
    parser.feed(page)
    # a form whose buttons send it elsewhere (formaction: the record page's parts) is posted as each button sends it,
    # and to its own address too (Enter, which saves nothing but refuses as they do: secretary.keep_typed)
    found = list(parser.forms)
    for index, action, name, named in parser.buttons:
        whole = parser.forms[index]
        if name == TAKE_STORED:
            continue
        extra = [(name, named.get("value", ""))] if name else []
        found.append(Form(action, inputs=[*whole.inputs, *extra], hidden=set(whole.hidden), labels=dict(whole.labels)))
    return found


def body(inputs: list[tuple[str, str]], name: str | None = None, bad: bytes = b"") -> bytes:
    """An urlencoded body of `inputs`, input `name`'s value replaced by the raw bytes `bad` (percent-encoded)."""
    return b"&".join(
        quote_from_bytes(key.encode()).encode()
        + b"="
        + quote_from_bytes(bad if key == name else value.encode(), safe=b"").encode()
        for key, value in inputs
    )


REFUSALS = (
    re.compile(r'<div[^>]*role="alert"[^>]*>(.*?)</div>', re.S),
    re.compile(r'<p[^>]*role="alert"[^>]*>(.*?)</p>', re.S),
    re.compile(r'<span class="field-error">(.*?)</span>', re.S),
    re.compile(r'<section class="card narrow">\s*<h1>(.*?)</h1>\s*<p>(.*?)</p>', re.S),
)


def refusals(page: str) -> list[str]:
    """The refusals a page shows: its alerts, its fields' errors, an error page's title and message, as text."""
    found: list[str] = []
    for pattern in REFUSALS:
        for match in pattern.finditer(page):
            for part in match.groups():
                # a name in <bdi> is inline, part of its sentence's line (shared.text.isolated_name)
                inline = re.sub(r"</?bdi>", "", part)
                found.extend(html.unescape(line).strip() for line in re.split(r"<[^>]+>", inline))
    return [line for line in found if line]


def raw_names(said: str, names: set[str]) -> list[str]:
    """The input names `said` holds as words of their own (`start_date`, `reason-m-1`, `was.enabled`)."""
    return [name for name in names if re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", said)]


@dataclass
class Walk:
    """What posting the forms found."""

    posted: int = 0
    faults: list[str] = field(default_factory=list)

    def judge(
        self,
        what: str,
        answer: httpx.Response,
        names: set[str],
        *,
        expect: str | None = None,
        refused: bool,
        visible: bool = False,
    ) -> None:
        """A refusal (never a 500, and never an acceptance when `refused`) that names no raw input name and holds no
        English; `expect` in it when given (one of its `|`-separated wordings)."""
        self.posted += 1
        if answer.status_code >= 500 or (refused and answer.status_code < 400):
            self.faults.append(f"{what}: {answer.status_code}")
            return
        said = " | ".join(refusals(answer.text))
        if not said:
            self.faults.append(f"{what}: {answer.status_code} without a refusal shown")
        if found := raw_names(said, names):
            self.faults.append(f"{what}: raw {found} in {said!r}")
        if english := ENGLISH.findall(said):
            self.faults.append(f"{what}: English {english} in {said!r}")
        if expect is not None and not any(wording in said for wording in expect.split("|")):
            self.faults.append(f"{what}: {expect!r} not in {said!r}")
        if visible and NOT_ON_FORM in said:
            self.faults.append(f"{what}: an input the page shows said as not on the form in {said!r}")


def variants(form: Form) -> Iterator[tuple[str, str, bytes, str | None]]:
    """(what, input spoilt, its bad bytes, wording expected) of each bad posting of `form`: each input (one of each
    row's, `status-<member>` once) with each bad value, and an input the form does not have."""
    if form.action.endswith(UNSENT):
        yield "csrf=%FF", "csrf", b"\xff", None
        return
    stems: set[str] = set()
    for name, _value in form.inputs:
        stem = name.split("-")[0]
        if stem in stems:
            continue
        stems.add(stem)
        # an input a person sees is named as the page labels it (its own label, when the page gives it one), never
        # as a field the form does not have (a trial's roster row said "Lý do vắng" for every member)
        said = f"{form.labels[name]}: có một ký tự {STORED}" if name in form.labels else STORED
        for label, bad in BAD.items():
            yield f"{name}={label}", name, bad, None if name == "csrf" else said
    yield "stray input", STRAY, BAD["U+0000"], NOT_ON_FORM


async def walk(client: httpx.AsyncClient, page_path: str, done: set[str], walked: Walk) -> None:
    """Post every form of the page at `page_path` not posted yet (its kind: its action, ids left out) in every bad
    way."""
    page = await client.get(page_path)
    assert page.status_code == 200, (page_path, page.status_code)
    for form in forms_of(page.text):
        kind = re.sub(r"/[^/]*-[^/]*(?=/|$)", "/…", form.action.split("?")[0])
        if kind in done:
            continue
        done.add(kind)
        names = {name for name, _value in form.inputs} | {STRAY}
        for what, name, bad, expect in variants(form):
            inputs = form.inputs + ([(STRAY, "")] if name == STRAY else [])
            answer = await client.post(
                form.action,
                content=body(inputs, name, bad),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            visible = name != STRAY and name not in form.hidden
            walked.judge(f"{kind} {what}", answer, names, expect=expect, refused=True, visible=visible)


async def test_every_forms_refusals_name_its_inputs_as_its_page_labels_them(
    system: RunningSystem, province: dict[str, str]
) -> None:
    walked, done = Walk(), set[str]()
    begun, _starts = await begun_meeting(system, province)  # its roster and minutes forms: shown once it has begun
    pages = {**PAGES, "secretary": [*PAGES["secretary"], f"/app/meetings/{begun}/record"]}
    for who, paths in pages.items():
        async with signed_in(system, who) as client:
            for path in paths:
                await walk(client, path, done, walked)
    assert walked.faults == [], "\n".join(walked.faults)
    # every kind of form of those pages was found and posted
    # (the record page's one form posted by Enter too: its own address, which saves nothing but refuses alike)
    assert {
        "/app/cells/…/meetings",
        "/app/meetings/…/minutes",
        "/app/meetings/…/record",
        "/app/me/preferences",
    } <= done, done
    assert walked.posted > 100, walked.posted


OPERATOR = "van-hanh-nhan"
OPERATIONS_FORMS = [
    Form("/app/operations/dead-letters/replay", [("queue", "khong.co.dlq"), ("event_id", "evt-khong-co")]),
    Form("/app/operations/dead-letters/purge", [("queue", "khong.co.dlq"), ("confirm", "yes")]),
    Form("/app/operations/parked/replay", [("service", "meetings"), ("id", "999999999")]),
    Form("/app/operations/parked/drop", [("service", "meetings"), ("id", "999999999"), ("reason", "thử")]),
    Form("/app/operations/held/retry", [("source", "urn:khong-co"), ("event_id", "evt-khong-co")]),
    Form("/app/operations/held/drop", [("source", "urn:khong-co"), ("event_id", "evt-khong-co"), ("reason", "thử")]),
    Form("/app/operations/rejections/dismiss", [("rejection_id", "khong-co"), ("event_id", ""), ("reason", "thử")]),
    Form("/app/operations/rejections/replay", [("rejection_id", "khong-co"), ("event_id", "")]),
    Form(
        "/app/operations/rejections/matching/dismiss",
        [
            ("code", ""),
            ("source", "urn:khong-co"),
            ("sender", ""),
            ("received_after", ""),
            ("received_before", ""),
            ("reason", "thử"),
            ("matched", "0"),
        ],
    ),
]
"""The operations page's forms, which it shows only beside what they act on (a dead letter, a parked row, a held
event, a rejection): posted as the page would, naming nothing there is, so nothing is done whatever they hold."""


async def test_the_operations_forms_and_address_name_no_raw_input_or_parameter(system: RunningSystem) -> None:
    await web_account(system, OPERATOR, "operator", None, None)
    walked = Walk()
    async with signed_in(system, OPERATOR) as client:
        page = await client.get("/app/operations")
        assert page.status_code == 200
        token = csrf_of(page.text)
        for form in OPERATIONS_FORMS:
            form.inputs.insert(0, ("csrf", token))
            names = {name for name, _value in form.inputs} | {STRAY}
            for what, name, bad, expect in variants(form):
                inputs = form.inputs + ([(STRAY, "")] if name == STRAY else [])
                answer = await client.post(
                    form.action,
                    content=body(inputs, name, bad),
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                )
                walked.judge(f"{form.action} {what}", answer, names, expect=expect, refused=True)
        # the address's parameters: a list's position, the choice of rejections listed
        parameters = {"held_offset", "rejections_offset", "rejections", "dead_letters_offset", "parked_offset"}
        for query in (
            "held_offset=-1",
            "rejections_offset=abc",
            "dead_letters_offset.evaluation.facts.dlq=x",
            "parked_offset.meetings=2.5",
            "rejections=bogus",
        ):
            answer = await client.get(f"/app/operations?{query}")
            assert answer.status_code in (400, 422), (query, answer.status_code)
            walked.judge(query, answer, parameters | {query.split("=")[0]}, refused=True)
    assert walked.faults == [], "\n".join(walked.faults)
    assert walked.posted > 60, walked.posted


async def test_a_year_outside_the_cells_years_is_named_without_the_raw_parameter(
    system: RunningSystem, province: dict[str, str]
) -> None:
    async with signed_in(system, "secretary") as client:
        answer = await client.get(f"/app/cells/{CELL}/evidence?year=2001")
    assert answer.status_code == 404
    said = " ".join(refusals(answer.text))
    assert "Không có dữ liệu của năm 2001 (năm ghi trong địa chỉ của trang)" in said, said
    assert not raw_names(said, {"year"}), said


async def sign_in_page(client: httpx.AsyncClient) -> str:
    """The sign-in form's CSRF token (its cookie set on the client)."""
    return csrf_of((await client.get("/app/sign-in")).text)


async def post_sign_in(client: httpx.AsyncClient, sent: bytes) -> httpx.Response:
    """The sign-in form posted as the raw urlencoded `sent`."""
    return await client.post(
        "/app/sign-in", content=sent, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )


async def test_the_sign_in_form_is_read_as_every_other_form(system: RunningSystem, province: dict[str, str]) -> None:
    """It read its fields with FastAPI's Form, which takes raw bytes as Latin-1 (`Nguyá»…n`), and a name too long was
    the app's 404 page."""
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as client:
        token = (await sign_in_page(client)).encode()
        # raw UTF-8, not percent-encoded: read as typed, and shown back so
        raw = await post_sign_in(client, b"csrf=" + token + "&username=Nguyễn Văn A&password=sai".encode())
        assert raw.status_code == 401, raw.status_code
        assert 'value="Nguyễn Văn A"' in raw.text and "Tên đăng nhập hoặc mật khẩu không đúng." in raw.text
        # bytes that are not UTF-8, a character no text is stored with: refused naming the field
        for sent, said in (
            (b"&username=a%FFb&password=x", "Tên đăng nhập: có một ký tự không lưu được (không phải UTF-8 hợp lệ)"),
            (b"&username=a%00b&password=x", "Tên đăng nhập: có một ký tự không lưu được (U+0000)"),
            (b"&username=a&password=%FF", "Mật khẩu: có một ký tự không lưu được (không phải UTF-8 hợp lệ)"),
            (b"&username=a&password=x&next=%FF", "Trang quay lại: có một ký tự không lưu được"),
            (b"&username=a&password=x&" + STRAY.encode() + b"=%00", "Một trường không có trên biểu mẫu này"),
            (b"&username=" + b"a" * 201 + b"&password=x", "Tên đăng nhập: tối đa 200 ký tự (đã nhập 201)."),
            (b"&username=&password=x", "Tên đăng nhập: không được để trống."),
        ):
            token = (await sign_in_page(client)).encode()
            answer = await post_sign_in(client, b"csrf=" + token + sent)
            assert answer.status_code == 422, (sent, answer.status_code)
            shown = " ".join(refusals(answer.text))
            assert said in shown, (sent, shown)
            assert not ENGLISH.findall(shown) and not raw_names(shown, {"username", "password", "next", STRAY})


async def test_a_csrf_token_that_is_not_ascii_is_refused_in_vietnamese_not_a_500(
    system: RunningSystem, province: dict[str, str]
) -> None:
    """hmac.compare_digest raises TypeError on a str that is not ASCII: such a token was a 500."""
    token = "mã-bảo-mật".encode()
    async with signed_in(system, "secretary") as client:
        for encoded in (quote_from_bytes(token).encode(), token):
            answer = await client.post(
                f"/app/cells/{CELL}/meetings",
                content=b"csrf=" + encoded + b"&kind=regular&location=x",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert answer.status_code == 403, answer.status_code
            assert "Biểu mẫu đã hết hạn" in answer.text
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as client:
        await sign_in_page(client)
        answer = await post_sign_in(client, b"csrf=" + quote_from_bytes(token).encode() + b"&username=a&password=x")
        assert answer.status_code == 403, answer.status_code
        assert "Biểu mẫu đã hết hạn. Vui lòng đăng nhập lại." in " ".join(refusals(answer.text))
