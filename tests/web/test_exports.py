"""The committee's report as CSV (UTF-8 with BOM) and PDF, a meeting's minutes as PDF, and the yearly evidence."""

import csv
import html
import io
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from services.gateway.web.i18n import format_number, format_period, format_rating
from services.gateway.web.periods import last_closed_month, running, this_month
from tests.support.system import RunningSystem
from tests.web.conftest import DEMO, PERIOD, RUNNING, signed_in

pytestmark = pytest.mark.e2e


def pdf_text(content: bytes) -> str:
    """The extracted text of every page."""
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)


def embedded_fonts(content: bytes) -> set[str]:
    """Names of the fonts whose program is embedded in the PDF."""
    names = set()
    for page in PdfReader(io.BytesIO(content)).pages:
        resources: Any = page["/Resources"]
        for font in (resources.get("/Font") or {}).values():
            descriptor = font.get_object().get("/FontDescriptor")
            if descriptor is not None and "/FontFile2" in descriptor.get_object():
                names.add(str(font.get_object()["/BaseFont"]))
    return names


async def test_the_report_csv_parses_to_the_apis_figures(system: RunningSystem, api: httpx.AsyncClient) -> None:
    ranking = (await api.get(f"/v1/committees/demo-tinh-uy/ranking?period={PERIOD}&limit=200")).json()
    async with signed_in(system, "officer") as client:
        response = await client.get(f"/app/committees/demo-tinh-uy/report.csv?period={PERIOD}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:6] == ["Mã chi bộ", "Chi bộ", "Điểm", "Xếp loại", "Kỳ", "Trạng thái kỳ"]
    by_id = {row[0]: row for row in rows[1:]}
    assert set(by_id) == {item["cell_id"] for item in ranking["items"]}
    for item in ranking["items"]:
        row = by_id[item["cell_id"]]
        assert row[1] == item["name"]
        assert row[2] == format_number(item["score"])
        assert row[3] == format_rating(item["rating"])
        assert row[4:6] == [
            format_period(PERIOD),
            "đã kết thúc" if not running(PERIOD) else "đang diễn ra, số liệu tạm tính",
        ]
        ratings = (await api.get(f"/v1/cells/{item['cell_id']}/ratings?period={PERIOD}")).json()["items"][0]
        assert row[6] == str(ratings["regular_held"])
        assert float(row[8].replace(",", ".")) == pytest.approx(ratings["attendance_rate"] * 100, abs=0.05)


@pytest.mark.parametrize(
    ("period", "status"),
    [
        (this_month(), "đang diễn ra, số liệu tạm tính"),
        (f"{this_month()[:4]}-Q{(int(this_month()[5:]) - 1) // 3 + 1}", "đang diễn ra, số liệu tạm tính"),
        (this_month()[:4], "đang diễn ra, số liệu tạm tính"),
        (last_closed_month(), "đã kết thúc"),
        (str(int(this_month()[:4]) - 1), "đã kết thúc"),
    ],
)
def test_every_row_of_the_report_csv_says_whether_its_period_has_ended(period: str, status: str) -> None:
    """The committee page marks the month still running, the CSV did not: a provisional score (every cell that has
    not met yet reads Kém) read in a spreadsheet as final. Each row now names its period and whether it has ended."""
    from services.gateway.web.exports import report_csv

    report = report_csv(
        [
            {"cell_id": "cb-1", "name": "Chi bộ thôn 1", "score": 0.0, "rating": "poor", "regular_held": 0},
            {"cell_id": "cb-2", "name": "Chi bộ thôn 2", "score": 91.5, "rating": "good", "regular_held": 1},
        ],
        period=period,
    )
    header, *rows = list(csv.reader(io.StringIO(report.decode("utf-8-sig")), delimiter=";"))
    assert header[2:6] == ["Điểm", "Xếp loại", "Kỳ", "Trạng thái kỳ"]
    assert [row[4:6] for row in rows] == [[format_period(period), status]] * 2
    assert [row[2:4] for row in rows] == [["0", "Kém"], ["91,5", "Tốt"]]  # the figures where they were


def test_a_provisional_cell_period_reads_provisional_in_the_report_of_a_closed_month() -> None:
    """A trial's CSV of a closed month read "51,7;Trung bình;…;đã kết thúc" for a cell whose period the API flags
    `provisional` (manual items not assessed yet, the score may still change): its rating now says "tạm tính", as
    the pages badge a provisional score; a cell without the flag reads as before."""
    from services.gateway.web.exports import report_csv, report_row

    cells = [
        {"cell_id": "cb-1", "name": "Chi bộ thôn 1", "score": 51.7, "rating": "average", "flags": ["provisional"]},
        {"cell_id": "cb-2", "name": "Chi bộ thôn 2", "score": 91.5, "rating": "good", "flags": []},
    ]
    period = last_closed_month()
    header, *rows = list(csv.reader(io.StringIO(report_csv(cells, period=period).decode("utf-8-sig")), delimiter=";"))
    assert [row[2:6] for row in rows] == [
        ["51,7", "Trung bình (tạm tính)", format_period(period), "đã kết thúc"],
        ["91,5", "Tốt", format_period(period), "đã kết thúc"],
    ]
    assert [report_row(cell, period=None)[2:4] for cell in cells] == [
        ["51,7", "Trung bình (tạm tính)"],
        ["91,5", "Tốt"],
    ]


def test_the_report_pdf_title_of_a_running_period_nests_no_brackets() -> None:
    """The title read "Tỉnh ủy Demo — Quý IV/2026 (đang diễn ra (tạm tính))": one bracket, worded as a phrase; the
    period after the dash in lower case, as a phrase goes on ("Tỉnh ủy Demo — quý IV/2026", not "— Quý IV/2026")."""
    from services.gateway.web.exports import report_document

    month = this_month()
    quarter = f"{month[:4]}-Q{(int(month[5:]) - 1) // 3 + 1}"
    rollup: dict[str, Any] = {"cells": 0, "score": None, "by_rating": {}, "not_met_yet": None}
    for period in (month, quarter, month[:4]):
        text = " ".join(
            pdf_text(report_document({"name": "Tỉnh ủy Demo"}, period, {"rollup": rollup, "rows": []})).split()
        )
        assert f"Tỉnh ủy Demo — {format_period(period, within=True)} (đang diễn ra, số liệu tạm tính)" in text
        assert "Tỉnh ủy Demo — tháng " in text or "Tỉnh ủy Demo — quý " in text or "Tỉnh ủy Demo — năm " in text
        assert "((" not in text and "))" not in text
    # the document's properties name it too (a trial read Subject and Creator "(unspecified)")
    document = report_document({"name": "Tỉnh ủy Demo"}, last_closed_month(), {"rollup": rollup, "rows": []})
    metadata = PdfReader(io.BytesIO(document)).metadata
    assert metadata is not None
    assert metadata.subject == f"Tỉnh ủy Demo — tháng {int(last_closed_month()[5:])}/{last_closed_month()[:4]}"
    assert metadata.creator == "chibo" and metadata.author == "chibo"
    assert metadata.title == f"Báo cáo tình hình sinh hoạt chi bộ — {metadata.subject}"
    ended = " ".join(
        pdf_text(report_document({"name": "Tỉnh ủy Demo"}, last_closed_month(), {"rollup": rollup, "rows": []})).split()
    )
    assert f"Tỉnh ủy Demo — {format_period(last_closed_month(), within=True)}" in ended and "tạm tính" not in ended


@pytest.mark.parametrize("summary", [False, True])
def test_the_report_pdf_of_the_running_month_explains_its_figures_as_the_page_does(summary: bool) -> None:
    """The fresh-user trial: in the month in progress the PDF printed "Tỷ lệ chi bộ sinh hoạt đều đặn hằng tháng
    100 %" while 5 of 6 cells read "Chưa sinh hoạt thường kỳ", saying only "(đang diễn ra, số liệu tạm tính)"; the
    committee page explains how such figures read. The PDF now says the page's very words under its figures (cell
    by cell, and in the summary of a large committee), and the regularity is over every cell (DOMAIN.md, h368:
    1/6, its base named beside it)."""
    from services.gateway.web.exports import report_document
    from tests.web.test_committee_page import committee_page

    month = this_month()
    rollup: dict[str, Any] = {
        "committee_id": "xa-hoa-binh",
        "period": month,
        "cells": 6,
        "score": 85.0,
        "regularity": 1 / 6,
        "attendance_rate": 0.9,
        "speaking_rate": 0.5,
        "thematic_coverage": 1 / 6,
        "by_rating": {"good": 1, "fair": 0, "average": 0, "poor": 0},
        "not_met_yet": 5,
        "weakest": [],
    }
    rows = [{"cell_id": "thon-1", "name": "Chi bộ thôn 1", "score": 85.0, "rating": "good"}] + [
        {"cell_id": f"thon-{index}", "name": f"Chi bộ thôn {index}", "not_met_yet": True} for index in range(2, 7)
    ]
    unit = {"id": "xa-hoa-binh", "name": "Đảng ủy xã Hòa Bình"}
    data = {"rollup": rollup, "sub_units": [], "weakest": []} if summary else {"rollup": rollup, "rows": rows}
    text = "".join(pdf_text(report_document(unit, month, data)).split())
    page = committee_page(rollup, running=True)
    notice = html.unescape(page[page.index('id="in-progress">') : page.index("</p>", page.index('id="in-progress"'))])
    notice = "".join(notice.removeprefix('id="in-progress">').split())
    assert "điểmtrungbìnhchỉtínhcácchibộđãsinhhoạtthườngkỳ" in notice
    assert "tỷlệchibộsinhhoạtđềuđặnhằngthángvàtỷlệchibộcósinhhoạtchuyênđềtínhtrêntấtcảcácchibộ" in notice
    # the page's words, beside the figures: after the regularity's 16,7 % of 1/6 cells, before the cells' table
    assert notice in text, text
    figure = text.index("Tỷlệchibộsinhhoạtđềuđặnhằngtháng16,7%—1/6chibộđãsinhhoạtthườngkỳ(thángđangdiễnra)")
    assert figure < text.index(notice) < text.index("Chibộthôn" if not summary else "Theođơnvịtrựcthuộc")
    # a closed month's figures are final: nothing of the kind
    closed = {**rollup, "period": last_closed_month(), "not_met_yet": None}
    data = {**data, "rollup": closed}
    assert "chưakếtthúc" not in "".join(pdf_text(report_document(unit, last_closed_month(), data)).split())


async def test_the_report_pdf_holds_the_cells_names_with_diacritics(
    system: RunningSystem, api: httpx.AsyncClient
) -> None:
    async with signed_in(system, "officer") as client:
        response = await client.get(f"/app/committees/demo-tinh-uy/report.pdf?period={PERIOD}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    text = " ".join(pdf_text(response.content).split())  # a long name wraps inside its table cell
    for name in ("Chi bộ Trạm Y tế phường", "Chi bộ Trường Tiểu học Hòa Bình", "Chi bộ Công an phường"):
        assert name in text
    assert f"— {format_period(PERIOD, within=True)}" in text
    assert any("DejaVu" in font for font in embedded_fonts(response.content))


async def test_the_minutes_pdf_has_the_customary_layout(system: RunningSystem, api: httpx.AsyncClient) -> None:
    meeting = (await api.get(f"/v1/meetings/demo-cb-thon-2-{PERIOD}")).json()
    async with signed_in(system, "commune-officer") as client:
        response = await client.get(f"/app/meetings/demo-cb-thon-2-{PERIOD}/minutes.pdf")
        not_held = await client.get("/app/meetings/no-such-meeting/minutes.pdf")
    assert response.status_code == 200
    text = pdf_text(response.content)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert "ĐẢNG ỦY XÃ HÒA BÌNH" in lines[0]
    assert "ĐẢNG CỘNG SẢN VIỆT NAM" in text
    assert "CHI BỘ THÔN 2" in text
    assert f"Hòa Bình, ngày 04 tháng {PERIOD[5:]} năm {PERIOD[:4]}" in " ".join(text.split())
    assert "BIÊN BẢN" in text
    metadata = PdfReader(io.BytesIO(response.content)).metadata
    assert metadata is not None and metadata.creator == "chibo"
    assert metadata.subject is not None and metadata.subject.startswith("Chi bộ thôn 2 — ")
    for resolution in meeting["minutes"]["resolutions"]:
        assert resolution["text"] in " ".join(text.split())
    assert "CHỦ TRÌ" in text and "THƯ KÝ" in text
    assert any("DejaVu" in font for font in embedded_fonts(response.content))
    assert not_held.status_code == 404


async def test_the_yearly_evidence_counts_a_members_meetings_like_the_history(
    system: RunningSystem, api: httpx.AsyncClient
) -> None:
    member = "demo-cb-thon-2-dv04"
    history = (await api.get(f"/v1/members/{member}/history")).json()
    year_of = RUNNING[:4]  # this year, running
    records = [r for r in history["records"] if str(r["starts_at"]).startswith(year_of)]
    counted = [r for r in records if r["held"] and r["status"] not in ("exempt", "transferred")]
    async with signed_in(system, "commune-officer") as client:
        page = (await client.get(f"/app/cells/demo-cb-thon-2/evidence?year={year_of}")).text
        csv_text = (await client.get(f"/app/cells/demo-cb-thon-2/evidence.csv?year={year_of}")).content.decode(
            "utf-8-sig"
        )
    row = next(r for r in csv.reader(io.StringIO(csv_text), delimiter=";") if r[0] == member)
    assert row[2:6] == [
        str(len(counted)),
        str(sum(r["status"] == "present" for r in counted)),
        str(sum(r["status"] == "excused" for r in counted)),
        str(sum(r["status"] == "absent" for r in counted)),
    ]
    assert f'data-member="{member}"' in page
    # the year is running (the demo's figures are of this year): the page and every row of the file say so
    year = page.split('id="year-rating">', 1)[1].split("</dd>", 1)[0]
    assert "đang diễn ra, số liệu tạm tính" in year and "data-in-progress" in year
    assert f"— năm {year_of}</small>" in page and f"— Năm {year_of}" not in page  # the heading goes on in lower case
    assert row[-2:] == [f"Năm {year_of}", "đang diễn ra, số liệu tạm tính"]


async def test_the_yearly_evidence_counts_the_months_and_quarters_the_cell_existed_in(system: RunningSystem) -> None:
    """The demo cells set up on 1 December 2025 had one month and one quarter to count in 2025, not four quarters (a
    user trial read "0/4" beside "1/1"): the months and quarters of the history's first year, and of them the
    quarters the weak thôn 2 held a thematic meeting in (none for 2025-Q4: its December was regular)."""
    first_year = [month for month in DEMO.months if str(month.year) == DEMO.first_year]
    quarters = {(month.month - 1) // 3 for month in first_year}
    thematic = {(month.month - 1) // 3 for month in DEMO.thematic("weak") if month in first_year}
    async with signed_in(system, "commune-officer") as client:
        page = (await client.get(f"/app/cells/demo-cb-thon-2/evidence?year={DEMO.first_year}")).text
    assert page.split('id="months-with-meeting">', 1)[1].split("</dd>", 1)[0] == f"{len(first_year)}/{len(first_year)}"
    assert page.split('id="quarters-with-thematic">', 1)[1].split("</dd>", 1)[0] == f"{len(thematic)}/{len(quarters)}"


async def test_the_evidence_of_a_year_outside_the_cells_span_is_a_page_naming_the_year(system: RunningSystem) -> None:
    """A trial's evidence of any four-digit year (1900, 2999, a year before the cell was set up) read as a year of empty
    rows; it is bounded to the years the cell's year picker offers (the demo cells: from DEMO.first_year to this
    year): a year before them the 404 naming the span, one not begun or implausible the 422 every page gives."""
    this_year = this_month()[:4]
    async with signed_in(system, "commune-officer") as client:
        before = str(int(DEMO.first_year) - 1)
        for path in ("evidence", "evidence.csv"):
            page = await client.get(f"/app/cells/demo-cb-thon-2/{path}?year={before}")
            assert page.status_code == 404, (before, path)
            said = html.unescape(page.text)
            assert f"Không có dữ liệu của năm {before} (năm ghi trong địa chỉ của trang)" in said, (before, path)
            assert f"chi bộ hoạt động từ năm {DEMO.first_year} đến năm {this_year}" in said
            assert f'href="/app/cells/demo-cb-thon-2/evidence?year={this_year}"' in page.text
            # next year is not begun, 1900 and 2999 outside the periods there are: 422, as everywhere (h243)
            for year, words in (
                ("1900", "Kỳ không hợp lệ"),
                ("2999", "Kỳ không hợp lệ"),
                (str(int(this_year) + 1), "Chưa đến kỳ"),
            ):
                page = await client.get(f"/app/cells/demo-cb-thon-2/{path}?year={year}")
                assert page.status_code == 422 and words in page.text, (year, path, page.status_code)
        for year in (DEMO.first_year, this_year):
            assert (await client.get(f"/app/cells/demo-cb-thon-2/evidence?year={year}")).status_code == 200


def test_the_evidence_counts_only_held_meetings() -> None:
    """The fresh-user trial: two extraordinary meetings with a roster and no minutes (then status `held`, now
    `scheduled`) were counted in the members' meetings expected and absences; only meetings with minutes, not
    cancelled, are held (DOMAIN.md)."""
    from services.gateway.web.exports import held_meeting_ids

    listed = [
        {"meeting_id": "submitted", "status": "minutes_submitted"},
        {"meeting_id": "roster-only", "status": "scheduled"},
        {"meeting_id": "approved", "status": "minutes_approved"},
        {"meeting_id": "ahead", "status": "scheduled"},
        {"meeting_id": "called-off", "status": "cancelled"},
    ]
    assert held_meeting_ids(listed) == ["submitted", "approved"]


@pytest.mark.parametrize(
    ("year", "status"),
    [(this_month()[:4], "đang diễn ra, số liệu tạm tính"), (str(int(this_month()[:4]) - 1), "đã kết thúc")],
)
def test_every_row_of_the_evidence_csv_says_whether_its_year_has_ended(year: str, status: str) -> None:
    """The evidence of the year in progress read as final in a spreadsheet; its rows now name the year and whether it
    has ended, in the columns the report CSV uses."""
    from services.gateway.web.exports import evidence_csv

    people = [{"member_id": "dv-1", "name": "Nguyễn Văn An", "expected": 11, "present": 10, "excused": 1}]
    header, *rows = list(csv.reader(io.StringIO(evidence_csv(people, year=year).decode("utf-8-sig")), delimiter=";"))
    assert header[-2:] == ["Kỳ", "Trạng thái kỳ"]
    assert [row[-2:] for row in rows] == [[f"Năm {year}", status]]
    assert rows[0][:5] == ["dv-1", "Nguyễn Văn An", "11", "10", "1"]  # the figures where they were


def test_names_that_read_as_formulas_reach_the_spreadsheet_as_text() -> None:
    """A unit's or member's name comes from other systems: one that starts like a formula (`=`, `+`, `-`, `@`, a tab
    or a carriage return) is written with a leading apostrophe in both CSV exports, so opening the file runs nothing
    (OWASP "CSV injection"); plain numbers, negative ones included, and ordinary names are written as they are."""
    from services.gateway.web.exports import evidence_header, evidence_row, report_csv, spreadsheet_csv

    hostile = ['=HYPERLINK("http://evil.example","Bấm")', "@SUM(1+1)*cmd", "+1+1", "-2+3", "\t=1", "\r=1"]
    report = report_csv(
        period="2026-11",
        rows=[
            {"cell_id": f"cb-{index}", "name": name, "score": 55.0, "rating": "average"}
            for index, name in enumerate(hostile)
        ]
        + [{"cell_id": "cb-ok", "name": "Chi bộ thôn 1", "score": 90.5, "rating": "good"}],
    )
    rows = list(csv.reader(io.StringIO(report.decode("utf-8-sig")), delimiter=";"))
    # a name is shown on one line, trimmed (shared.text.shown_name): "\t=1" and "\r=1" reach it as "=1", still inert
    shown = ["'" + " ".join(name.split()) for name in hostile]
    assert [row[1] for row in rows[1:]] == shown + ["Chi bộ thôn 1"]
    assert rows[-1][2] == "90,5"
    evidence = spreadsheet_csv(
        evidence_header(),
        [evidence_row({"member_id": "dv-1", "name": hostile[1], "expected": 12, "absent": -1}, year="2025")],
    )
    (member,) = list(csv.reader(io.StringIO(evidence.decode("utf-8-sig")), delimiter=";"))[1:]
    assert member[1] == "'@SUM(1+1)*cmd" and "-1" in member[2:]


def test_the_minutes_close_after_the_tasks_table_not_between_its_heading_and_the_table() -> None:
    """ "V. Phân công nhiệm vụ", then its table, then "Buổi sinh hoạt kết thúc lúc …", then the signatures (the
    closing line used to print under the tasks' heading, above their table)."""
    from services.gateway.web.exports import minutes_document

    meeting = {
        "starts_at": "2026-11-04T19:30:00+07:00",
        "kind": "regular",
        "location": "Nhà văn hóa thôn 2",
        "minutes": {"ended_at": "2026-11-04T21:35:00+07:00", "chair_id": "dv1", "recorder_id": "dv2"},
        "tasks": [{"description": "Rà soát danh sách hộ nghèo", "assignee_id": "dv1", "due_on": "2026-11-30"}],
    }
    members = {"dv1": {"full_name": "Nguyễn Văn An"}, "dv2": {"full_name": "Trần Thị Bình"}}
    content = minutes_document(meeting, {"name": "Chi bộ thôn 2"}, {"name": "Đảng ủy xã Hòa Bình"}, members)
    text = " ".join(pdf_text(content).split())
    order = [
        text.index(part) for part in ("Phân công nhiệm vụ", "Rà soát danh sách hộ nghèo", "kết thúc lúc", "CHỦ TRÌ")
    ]
    assert order == sorted(order), order


@pytest.mark.parametrize(
    ("approved_at", "said"),
    [
        (None, "kết thúc lúc 21:35 thứ Tư, ngày 04/11/2026. Biên bản chưa được chi bộ thông qua."),
        (
            "2026-11-04T21:30:00+07:00",
            "Biên bản đã được đọc lại cho chi bộ nghe và được chi bộ thông qua lúc 21:30 thứ Tư, ngày 04/11/2026.",
        ),
    ],
)
def test_the_minutes_say_they_were_read_back_only_once_adopted(approved_at: str | None, said: str) -> None:
    """DOMAIN.md "Meetings": the minutes are read and adopted. A trial's minutes not adopted printed "Biên bản đã
    được đọc lại cho chi bộ nghe."; they now say they are not adopted yet, and adopted ones say both."""
    from services.gateway.web.exports import minutes_document

    meeting: dict[str, Any] = {
        "starts_at": "2026-11-04T19:30:00+07:00",
        "kind": "regular",
        "location": "Nhà văn hóa thôn 2",
        "minutes": {"ended_at": "2026-11-04T21:35:00+07:00", "chair_id": "dv1", "recorder_id": "dv2"},
        "approved_at": approved_at,
        "tasks": [],
    }
    members = {"dv1": {"full_name": "Nguyễn Văn An"}, "dv2": {"full_name": "Trần Thị Bình"}}
    text = " ".join(pdf_text(minutes_document(meeting, {"name": "Chi bộ thôn 2"}, None, members)).split())
    assert said in text, text
    assert ("đọc lại" in text) == (approved_at is not None), text


def test_the_minutes_split_the_members_summoned_into_official_and_probationary() -> None:
    """DOMAIN.md: the minutes hold the members summoned (official/probationary). A member whose probation ended
    after the meeting was probationary at it; one no longer on the cell's list is counted apart."""
    from services.gateway.web.exports import minutes_document

    members = {
        "a": {"full_name": "Nguyễn Văn An", "status": "official"},
        "b": {"full_name": "Trần Thị Bình", "status": "official"},
        "c": {"full_name": "Lê Văn Cường", "status": "probationary", "probation_ends_on": "2027-03-01"},
        "d": {"full_name": "Phạm Thị Dung", "status": "official", "probation_ends_on": "2026-11-20"},
        "e": {"full_name": "Hồ Văn Em", "status": "official", "probation_ends_on": "2025-01-10"},
    }
    records = [{"member_id": member, "status": "present"} for member in (*members, "gone")]
    meeting = {
        "meeting_id": "m",
        "kind": "regular",
        "starts_at": "2026-11-04T19:30:00+07:00",
        "location": "Nhà văn hóa",
        "attendance": {"records": records, "guests": []},
        "minutes": {"started_at": "2026-11-04T19:30:00+07:00", "ended_at": "2026-11-04T21:10:00+07:00"},
        "tasks": [],
    }
    unit = {"id": "cb", "name": "Chi bộ thôn 1"}
    text = " ".join(pdf_text(minutes_document(meeting, unit, None, members)).split())
    assert (
        "Tổng số đảng viên được triệu tập: 6 (3 đảng viên chính thức, 2 đảng viên dự bị,"
        " 1 đồng chí không còn trong danh sách của chi bộ); có mặt: 6"
    ) in text
    # the period within the heading in lower case, as the phrase goes on (not 'Sinh hoạt thường kỳ, Tháng 11/2026')
    assert "Sinh hoạt thường kỳ, tháng 11/2026" in text
    # the document's subject goes on after the cell's name in lower case, not "Chi bộ thôn 1 — Sinh hoạt …"
    metadata = PdfReader(io.BytesIO(minutes_document(meeting, unit, None, members))).metadata
    assert metadata is not None
    assert metadata.subject == "Chi bộ thôn 1 — sinh hoạt thường kỳ, tháng 11/2026", metadata.subject
    # a viewer without the cell's list reads the total alone, not a split of unknowns
    alone = " ".join(pdf_text(minutes_document(meeting, unit, None, {})).split())
    assert "Tổng số đảng viên được triệu tập: 6; có mặt: 6" in alone


def test_the_minutes_leave_exempt_and_transferred_members_out_of_those_summoned() -> None:
    """DOMAIN.md: exempt and temporarily transferred members are listed but not summoned; the minutes count the
    members summoned without them and give them a line of their own, naming them. Hand-counted: 6 on the roster,
    4 summoned (3 official, 1 probationary), 3 present, 1 absent with leave, 2 not summoned."""
    from services.gateway.web.exports import minutes_document

    members = {
        "a": {"full_name": "Nguyễn Văn An", "status": "official"},
        "b": {"full_name": "Trần Thị Bình", "status": "official"},
        "c": {"full_name": "Lê Văn Cường", "status": "probationary", "probation_ends_on": "2027-03-01"},
        "d": {"full_name": "Phạm Thị Dung", "status": "official"},
        "e": {"full_name": "Hồ Văn Em", "status": "official"},
        "g": {"full_name": "Vũ Thị Giang", "status": "official"},
    }
    statuses = {"a": "present", "b": "present", "c": "present", "d": "excused", "e": "exempt", "g": "transferred"}
    meeting = {
        "meeting_id": "m",
        "kind": "regular",
        "starts_at": "2026-11-04T19:30:00+07:00",
        "location": "Nhà văn hóa",
        "attendance": {"records": [{"member_id": k, "status": v} for k, v in statuses.items()], "guests": []},
        "minutes": {"started_at": "2026-11-04T19:30:00+07:00", "ended_at": "2026-11-04T21:10:00+07:00"},
        "tasks": [],
    }
    text = " ".join(pdf_text(minutes_document(meeting, {"id": "cb", "name": "Chi bộ thôn 1"}, None, members)).split())
    assert (
        "Tổng số đảng viên được triệu tập: 4 (3 đảng viên chính thức, 1 đảng viên dự bị); có mặt: 3;"
        " vắng có lý do: 1; vắng không lý do: 0."
    ) in text, text
    assert "Không triệu tập do miễn sinh hoạt hoặc đang sinh hoạt tạm thời nơi khác: 2 đồng chí." in text, text
    assert "Hồ Văn Em: Miễn sinh hoạt" in text, text
    assert "Vũ Thị Giang" in text, text


async def test_the_minutes_pdf_gives_the_official_and_probationary_members_summoned(
    system: RunningSystem, api: httpx.AsyncClient
) -> None:
    meeting = (await api.get(f"/v1/meetings/demo-cb-thon-2-{PERIOD}")).json()
    members = {m["id"]: m for m in (await api.get("/v1/cells/demo-cb-thon-2/members?limit=200")).json()["items"]}
    # exempt and temporarily transferred members are listed but not summoned (DOMAIN.md "Minutes")
    summoned = [
        members[record["member_id"]]
        for record in meeting["attendance"]["records"]
        if record["status"] not in ("exempt", "transferred")
    ]
    day = "2026-11-04"
    probationary = sum(m["status"] == "probationary" or str(m.get("probation_ends_on") or "") > day for m in summoned)
    async with signed_in(system, "commune-officer") as client:
        response = await client.get(f"/app/meetings/demo-cb-thon-2-{PERIOD}/minutes.pdf")
    text = " ".join(pdf_text(response.content).split())
    assert (
        f"Tổng số đảng viên được triệu tập: {len(summoned)} ({len(summoned) - probationary} đảng viên chính thức,"
        f" {probationary} đảng viên dự bị); có mặt:"
    ) in text


@pytest.mark.parametrize(
    ("votes", "said"),
    [
        ((11, 1), "thông qua lúc 21:40 thứ Tư, ngày 04/11/2026 với 11 đồng chí tán thành, 1 đồng chí không tán thành."),
        ((12, None), "thông qua lúc 21:40 thứ Tư, ngày 04/11/2026 với 12 đồng chí tán thành."),
        ((None, None), "thông qua lúc 21:40 thứ Tư, ngày 04/11/2026."),
    ],
)
def test_the_minutes_say_the_votes_adopting_them(votes: tuple[int | None, int | None], said: str) -> None:
    """The minutes' closing says the votes on adopting them (minutes.approved.v1's optional votes_for and
    votes_against, in MeetingReply as adoption_votes_*), each only when the adoption named it."""
    from services.gateway.web.exports import adoption_line

    meeting = {
        "approved_at": "2026-11-04T21:40:00+07:00",
        "adoption_votes_for": votes[0],
        "adoption_votes_against": votes[1],
    }
    assert adoption_line(meeting) == "Biên bản đã được đọc lại cho chi bộ nghe và được chi bộ " + said
