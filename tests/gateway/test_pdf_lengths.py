"""Every PDF prints any input the API accepts at its maximum lengths, whole: a task's description of 3,200
characters made the minutes' tasks table hold a row taller than a page and the download answer 500 (ReportLab's
LayoutError); now a table's rows split across pages and long text flows on (nothing is cut)."""

import importlib
import io
import random
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from services.gateway.bootstrap import GatewayState
from shared.contracts.base import MAX_NAME, MAX_TEXT
from tests.gateway.fakes import World
from tests.support.web import signed_in_web

exports = importlib.import_module("services.gateway.web.exports")
"""The exports module (the package's attribute `exports` is the pages' module of the same name)."""
pdf = importlib.import_module("services.gateway.web.pdf")

WORDS = (
    "chi bộ thảo luận kỹ việc rà soát danh sách hộ nghèo cận nghèo của thôn đối chiếu kết quả điều tra năm trước "
    "phân công đảng viên phụ trách từng xóm vận động bà con tham gia giữ gìn vệ sinh môi trường đường làng ngõ xóm "
    "xây dựng nông thôn mới nâng cao chất lượng sinh hoạt thực hiện nghị quyết của cấp ủy cấp trên đúng thời hạn"
).split()


def vietnamese(length: int, tag: str) -> str:
    """Ordinary Vietnamese text of exactly `length` characters, starting with `tag`, as a recorder types it:
    sentences of the words above in an order drawn from `tag` (so no two fields share a passage), a line break now
    and then."""
    draw = random.Random(tag)
    text = tag
    while len(text) < length:
        sentence = [draw.choice(WORDS) for _ in range(draw.randint(6, 16))]
        text += (" " if draw.random() < 0.9 else "\n") + " ".join(sentence).capitalize() + "."
    return text[:length].rstrip(" \n.") + "." * (length - len(text[:length].rstrip(" \n.")))


def squeezed(text: str) -> str:
    """The text without any whitespace: a PDF's lines wrap wherever its width says."""
    return "".join(text.split())


def pages(content: bytes) -> list[str]:
    """The extracted text of each page, squeezed."""
    return [squeezed(page.extract_text() or "") for page in PdfReader(io.BytesIO(content)).pages]


def printed_whole(text: str, printed: list[str]) -> bool:
    """Whether `text` is printed whole and in order: a run of it on one page, the rest going on over the next pages
    (a table row split across pages has its column headings repeated and the row's other cells between the runs)."""
    rest = squeezed(text)
    for page in printed:
        # the longest start of `rest` on this page (a shorter start is there whenever a longer one is)
        low, high = 0, len(rest)
        while low < high:
            middle = (low + high + 1) // 2
            if rest[:middle] in page:
                low = middle
            else:
                high = middle - 1
        rest = rest[low:]
        if not rest:
            return True
    return False


def test_the_minutes_print_every_field_whole_at_its_maximum_length() -> None:
    member_ids = [f"m{index}" for index in range(6)]
    members = {member: {"full_name": vietnamese(MAX_NAME, f"Tên{index}")} for index, member in enumerate(member_ids)}
    unknown = "u" * 64  # a member no longer on the cell's list reads by id: an identifier at its longest (64)
    meeting: dict[str, Any] = {
        "meeting_id": "m",
        "kind": "regular",
        "starts_at": "2026-11-04T19:30:00+07:00",
        "location": vietnamese(MAX_NAME, "Nơi"),
        "topic": vietnamese(MAX_NAME, "Chủđề"),
        "agenda": [vietnamese(MAX_TEXT, f"Chươngtrình{index}") for index in range(2)],
        "attendance": {
            "records": [
                {"member_id": "m0", "status": "present"},
                {"member_id": "m1", "status": "present"},
                {"member_id": "m2", "status": "excused", "reason": vietnamese(MAX_TEXT, "Lýdo1")},
                # exempt, not absent: an unexcused absence prints no reason since h459 (i18n.absence_reason)
                {"member_id": "m3", "status": "exempt", "reason": vietnamese(MAX_TEXT, "Lýdo2")},
                {"member_id": "m4", "status": "present"},
                {"member_id": unknown, "status": "present"},
            ],
            "guests": [{"name": vietnamese(MAX_NAME, f"Khách{index}")} for index in range(3)],
        },
        "minutes": {
            "started_at": "2026-11-04T19:30:00+07:00",
            "ended_at": "2026-11-04T21:35:00+07:00",
            "chair_id": "m0",
            "recorder_id": "m1",
            "speakers": ["m4", "m5", unknown],
            "content": vietnamese(MAX_TEXT, "Nộidung"),
            "conclusions": vietnamese(MAX_TEXT, "Kếtluận"),
            "resolutions": [
                {"text": vietnamese(MAX_TEXT, f"Nghị{index}"), "votes_for": 5, "votes_against": 0, "abstentions": 1}
                for index in range(2)
            ],
        },
        "tasks": [
            {"description": vietnamese(MAX_TEXT, f"Nhiệmvụ{index}"), "assignee_id": member, "due_on": "2026-11-30"}
            for index, member in enumerate(("m4", unknown))
        ],
    }
    unit = {"id": "cb", "name": vietnamese(MAX_NAME, "Chibộ")}
    superior = {"id": "xa", "name": vietnamese(MAX_NAME, "Đảngủy")}
    printed = pages(exports.minutes_document(meeting, unit, superior, members))
    minutes: dict[str, Any] = meeting["minutes"]
    attendance: dict[str, Any] = meeting["attendance"]
    expected = [
        unit["name"].upper(),
        superior["name"].upper(),
        meeting["location"],
        meeting["topic"],
        *meeting["agenda"],
        unknown,
        *(member["full_name"] for member in members.values()),
        *(record["reason"] for record in attendance["records"] if record.get("reason")),
        *(guest["name"] for guest in attendance["guests"]),
        minutes["content"],
        minutes["conclusions"],
        *(resolution["text"] for resolution in minutes["resolutions"]),
        *(task["description"] for task in meeting["tasks"]),
    ]
    missing = [whole[:20] for whole in expected if not printed_whole(whole, printed)]
    assert not missing, missing


def test_the_minutes_print_a_task_of_3200_characters() -> None:
    """The trial's case: one task of 3,200 characters (1,500 and 2,500 printed; 3,200 answered 500)."""
    description = vietnamese(3200, "Nhiệmvụ")
    meeting: dict[str, Any] = {
        "kind": "regular",
        "starts_at": "2026-11-04T19:30:00+07:00",
        "location": "Nhà văn hóa thôn 2",
        "minutes": {"ended_at": "2026-11-04T21:35:00+07:00", "chair_id": "dv1", "recorder_id": "dv2"},
        "tasks": [{"description": description, "assignee_id": "dv1", "due_on": "2026-11-30"}],
    }
    content = exports.minutes_document(meeting, {"name": "Chi bộ thôn 2"}, {"name": "Đảng ủy xã Hòa Bình"}, {})
    assert printed_whole(description, pages(content))


def test_the_reports_print_names_at_their_maximum_length() -> None:
    """A cell's or a unit's name of 200 characters in the report's tables, cell by cell and by unit."""
    names = [vietnamese(MAX_NAME, f"Chibộ{index}") for index in range(3)]
    header = ["Chi bộ", "Điểm", "Xếp loại", "Thường kỳ", "Chuyên đề", "Dự họp (%)", "Phát biểu (%)"]
    rows = [[name, "80", "Tốt", "1", "0", "90", "50"] for name in names]
    figures = [(vietnamese(MAX_NAME, "Chỉsố"), "1")]
    full = pdf.report_pdf(title="Báo cáo", subtitle="Tháng 11/2026", figures=figures, header=header, rows=rows)
    summary = pdf.report_summary_pdf(
        title="Báo cáo",
        subtitle="Tháng 11/2026",
        figures=figures,
        note="Ghi chú",
        units_title="Theo đơn vị",
        units_header=["Đơn vị", "Số chi bộ", "Điểm", "Tốt", "Khá", "Trung bình", "Yếu"],
        units=[[name, "3", "80", "1", "1", "1", "0"] for name in names],
        weakest_title="Yếu nhất",
        weakest_header=header,
        weakest=rows,
        none_weak="Không có",
    )
    for content in (full, summary):
        printed = pages(content)
        assert [name[:20] for name in names if not printed_whole(name, printed)] == []


@pytest.fixture
async def officer(
    app_and_state: tuple[object, GatewayState], world: World, amqp_url: str, database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser signed in as an officer of the fake province's root committee."""
    app, _ = app_and_state
    async with signed_in_web(app, "tinh", "committee_officer", world.root, database_url, amqp_url) as client:
        yield client


async def test_the_minutes_download_with_a_task_at_its_longest_answers_its_pdf_drawn_off_the_event_loop(
    officer: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trial's download: GET /app/meetings/{id}/minutes.pdf answered 500 for a task of 3,200 characters. At
    10,000 the minutes take a second or more to draw: drawn in a worker thread, as the report is, not on the event
    loop that answers every other request."""
    description = vietnamese(MAX_TEXT, "Nhiệmvụ")
    monkeypatch.setitem(world.meetings[world.meeting_a1]["tasks"][0], "description", description)
    drawn_on_loop: list[bool] = []
    draw = exports.minutes_document

    def recorded(*args: Any, **kwargs: Any) -> bytes:
        drawn_on_loop.append(threading.current_thread() is threading.main_thread())
        return bytes(draw(*args, **kwargs))

    monkeypatch.setattr(exports, "minutes_document", recorded)
    answer = await officer.get(f"/app/meetings/{world.meeting_a1}/minutes.pdf")
    assert answer.status_code == 200, answer.text
    assert printed_whole(description, pages(answer.content))
    assert drawn_on_loop == [False]
