"""Findings of a new user's trial (h279): a document's link was never shown (the meeting page listed its title, kind
and time only), and the address check took `https://chibo.gov.vn@evil.example/x` (it shows one site and opens
another) and `http://0x7f.0.0.1/` (browsers open 127.0.0.1) while it refused `http://127.1/`."""

import re
import uuid
from datetime import datetime, timedelta
from types import SimpleNamespace

import httpx
import pytest

from services.gateway.auth import Role
from services.gateway.web.core import environment
from services.gateway.web.reasons import explain_rejection
from shared.contracts.registry import read_event
from shared.envelope import InvalidEvent, parse_envelope
from shared.periods import VIETNAM_TZ
from tests.shared.test_web_address import published
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import csrf_of, history_meeting, signed_in
from tests.web.test_meeting_wording import MEETING
from tests.web.test_trial_h267 import form_errors

ADDRESS = "https://ví-dụ.vn/tài-liệu/Nghị-quyết.pdf?trang=2&bản=1"
"""A document's address as a secretary types it: a Vietnamese host, path and query."""
HREF = "https://xn--v-d-rma6749a.vn/t%C3%A0i-li%E1%BB%87u/Ngh%E1%BB%8B-quy%E1%BA%BFt.pdf?trang=2&amp;b%E1%BA%A3n=1"
"""Its href in the page (HTML-escaped): the host IDNA-encoded, the rest percent-encoded as UTF-8."""


@pytest.mark.parametrize(
    ("address", "said"),
    [
        (
            "https://chibo.gov.vn@evil.example/x",
            "Đường dẫn tài liệu: có tên người dùng hoặc mật khẩu trước tên miền (phần đứng trước “@”); đường dẫn này "
            "sẽ mở “evil.example”",
        ),
        (
            "http://0x7f.0.0.1/",
            "Đường dẫn tài liệu: trình duyệt mở “0x7f.0.0.1” thành địa chỉ IP 127.0.0.1 (phần “0x7f” được đọc là số "
            "thập lục phân); hãy viết 127.0.0.1.",
        ),
        (
            "http://0177.0.0.1/",
            "Đường dẫn tài liệu: trình duyệt mở “0177.0.0.1” thành địa chỉ IP 127.0.0.1 (phần “0177”",
        ),
        (
            "http://127.1/",
            "Đường dẫn tài liệu: trình duyệt mở “127.1” thành địa chỉ IP 127.0.0.1 (địa chỉ chỉ có 2 phần",
        ),
        (
            "http://127.0.0.1./",
            "Đường dẫn tài liệu: trình duyệt mở “127.0.0.1.” thành địa chỉ IP 127.0.0.1 (địa chỉ kết",
        ),
        # trial h292: an IPv4 address written as an IPv6 one
        (
            "http://[::ffff:7f00:1]/x",
            "Đường dẫn tài liệu: trình duyệt mở “[::ffff:7f00:1]” thành địa chỉ IP 127.0.0.1 (đây là địa chỉ IPv6 "
            "ánh xạ từ IPv4); hãy viết 127.0.0.1.",
        ),
        (
            "http://[::ffff:127.0.0.1]/x",
            "Đường dẫn tài liệu: trình duyệt mở “[::ffff:127.0.0.1]” thành địa chỉ IP 127.0.0.1 (đây là địa chỉ IPv6",
        ),
        (
            "http://[::7f00:1]/x",
            "Đường dẫn tài liệu: “[::7f00:1]” là địa chỉ IP 127.0.0.1 viết theo dạng IPv6 tương thích IPv4 (dạng đã "
            "ngừng sử dụng); hãy viết 127.0.0.1.",
        ),
    ],
)
def test_a_link_that_opens_another_host_is_refused_in_vietnamese_naming_the_part(address: str, said: str) -> None:
    errors = form_errors(address)
    assert len(errors) == 1 and errors[0].startswith(said), errors
    # the operator's page says the event route's rejection alike
    with pytest.raises(InvalidEvent) as caught:
        read_event(parse_envelope(published(address)))
    explained = explain_rejection(caught.value.reason, caught.value.field)
    assert said.removeprefix("Đường dẫn tài liệu: ")[1:] in explained, explained


def rendered(documents: list[dict[str, object]]) -> str:
    """The meeting page's HTML with these documents, rendered as test_meeting_wording renders it (tags kept)."""
    return (
        environment()
        .get_template("meeting.html")
        .render(
            viewer=SimpleNamespace(role=Role.MEMBER, account=SimpleNamespace(sub="dv"), csrf="t", principal=None),
            unit={"id": "demo-cb-thon-1", "name": "Chi bộ thôn 1"},
            meeting=MEETING | {"documents": documents},
            score=None,
            upcoming=False,
            lines=[],
            members={},
            roster=[],
            speakers=[],
            crumbs=[],
            may_record=False,
            follows=False,
        )
    )


def test_a_document_stored_before_addresses_were_judged_is_shown_unlinked() -> None:
    """An address taken before h267 judged them (`javascript:…`) is shown as text, never as a link."""
    page = rendered(
        [
            {"title": "Cũ", "kind": "other", "url": "javascript:alert(1)", "published_at": "2026-11-08T08:00:00+07:00"},
            {"title": "Không link", "kind": "other", "url": None, "published_at": "2026-11-08T08:00:00+07:00"},
        ]
    )
    assert "javascript:alert(1)</span> <small>(không phải địa chỉ web hợp lệ nên không mở được từ đây)" in page
    assert 'href="javascript' not in page and page.count('class="address"') == 1


@pytest.mark.e2e
async def test_a_member_reads_a_documents_link_on_the_meeting_page(
    system: RunningSystem, province: dict[str, str]
) -> None:
    """The secretary publishes a document with a Vietnamese address; the member's meeting page links it, the
    address shown as typed and the href the URI a browser opens, with rel="noopener noreferrer nofollow"."""
    starts = datetime.now(VIETNAM_TZ).replace(microsecond=0) - timedelta(days=2)
    meeting_id = await history_meeting(
        system,
        province["secretary"],
        "demo-cb-thon-1",
        starts,
        agenda="Học tập nghị quyết",
        meeting_id=f"demo-cb-thon-1-docs-{uuid.uuid4().hex[:8]}",
    )
    async with signed_in(system, "secretary") as client:
        record = (await client.get(f"/app/meetings/{meeting_id}/record")).text
        document = {"csrf": csrf_of(record), "title": "Nghị quyết tháng 11", "kind": "resolution", "url": ADDRESS}
        sent = await client.post(f"/app/meetings/{meeting_id}/documents", data=document)
        assert sent.status_code in (200, 303), sent.text
    async with signed_in(system, "member") as client:
        page = ""

        async def linked() -> bool:
            nonlocal page
            page = (await client.get(f"/app/meetings/{meeting_id}")).text
            return "Nghị quyết tháng 11" in page

        await eventually(linked, timeout=120, interval=0.5)
    link = re.search(r'<a class="address"[^>]*>[^<]*</a>', page)
    assert link is not None, page
    assert f'href="{HREF}"' in link.group(0), link.group(0)
    assert 'rel="noopener noreferrer nofollow"' in link.group(0)
    assert link.group(0).endswith(f">{ADDRESS.replace('&', '&amp;')}</a>"), link.group(0)
    assert httpx.URL(HREF.replace("&amp;", "&")).raw_host == b"xn--v-d-rma6749a.vn"  # the host a browser looks up
