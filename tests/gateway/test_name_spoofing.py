"""A name another system sends with a right-to-left override (U+202E), an isolate left open (U+2067) or zero-width
characters is accepted (CONTRACT.md: names at most 200 characters, no U+0000, no unpaired surrogate), but wherever a
person reads it (a page, a mail, a CSV, a PDF) it cannot turn the text after it around or hide what it is: each
check is on the bytes the person gets."""

import io
from datetime import datetime
from typing import Any

import httpx
from markupsafe import Markup
from pypdf import PdfReader

from services.gateway.bootstrap import GatewayState
from services.gateway.handlers import TtlCache, UnitDirectory
from services.gateway.web import pdf
from services.gateway.web.core import environment, shown_text
from services.gateway.web.exports import (
    csv_lines,
    evidence_row,
    late_notes,
    locality,
    reason_notes,
    report_document,
    spreadsheet_csv,
)
from services.notifications.domain import settings as r
from services.notifications.domain.model import Alert, Recipient
from services.notifications.templates import greeting_of_many, render, render_digest
from shared.periods import VIETNAM_TZ
from shared.text import STEERING_CHARS, shown_name
from tests.gateway.fakes import World
from tests.gateway.test_minutes_label_pages import meetings_of_cell_a1, signed_in

RLO, RLI, ZWSP, BOM = "\u202e", "\u2067", "\u200b", "\ufeff"
STEERING = (*"\u202a\u202b\u202c\u202d", RLO, "\u2066", RLI, *"\u2068\u2069", ZWSP, "\u200c", "\u200d", BOM)
SPOOFED = f"Nguyễn {RLO}Văn{ZWSP} An"
"""As read without the override: "Nguyễn Văn An"; with it, the rest of the line shows reversed."""


def _clean(text: str) -> bool:
    return not any(char in text for char in STEERING)


def test_a_name_is_shown_without_the_characters_that_steer_or_hide_text() -> None:
    assert shown_name(SPOOFED) == "Nguyễn Văn An"
    assert shown_name(f"{BOM}Chi bộ{RLI} thôn 1\n\nLý do: giả") == "Chi bộ thôn 1 Lý do: giả"
    assert all(shown_name(f"A{char}B") == "AB" for char in STEERING)


async def test_a_member_named_with_an_override_shows_on_the_meeting_page_without_reversing_what_follows(
    client: httpx.AsyncClient,
    app_and_state: tuple[object, GatewayState],
    world: World,
    amqp_url: str,
    database_url: str,
) -> None:
    world.member_names[world.member_a1] = SPOOFED
    unit = world.units[world.cell_a1]
    unit_name = unit["name"]
    unit["name"] = f"Chi bộ {RLI}A1"
    # the gateway keeps units 30 s (an earlier test's page read the cell under its own name): a fresh directory
    state = app_and_state[1]
    units = state.directory
    state.directory = UnitDirectory(state.rpc, TtlCache(seconds=state.settings.unit_cache_seconds))
    guests = [{"name": f"Khách {RLO}mời"}]
    records = [{"member_id": world.member_a1, "status": "present", "reason": None}]

    def named(meeting: dict) -> dict:
        return meeting | {"attendance": {"records": records, "guests": guests}}

    try:
        with meetings_of_cell_a1(world, named=named) as made:
            async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
                page = await officer.get(f"/app/meetings/{made['named']}")
    finally:
        world.member_names.pop(world.member_a1)
        unit["name"] = unit_name
        state.directory = units
    assert page.status_code == 200, page.text
    text = page.content.decode()
    assert _clean(text)
    # each name isolated from the text around it, its title on one line without a tag
    assert "<bdi>Nguyễn Văn An</bdi>" in text
    assert "<bdi>Chi bộ A1</bdi>" in text and "<bdi>Khách mời</bdi>" in text
    assert "<title>Chi bộ A1 —" in text


def test_every_value_a_page_prints_loses_its_steering_characters_and_a_name_is_isolated() -> None:
    template = environment().from_string("{{ reason }} | {{ member | name }} 12 | {{ member | plain_name }}")
    shown = template.render(reason=f"Ốm{RLO} nặng", member=f"{RLO}<b>An</b>")
    assert shown == "Ốm nặng | <bdi>&lt;b&gt;An&lt;/b&gt;</bdi> 12 | &lt;b&gt;An&lt;/b&gt;"


def test_a_printed_value_without_steering_characters_is_the_value_itself_and_markup_stays_markup() -> None:
    """shown_text runs on each of the ~2,000 values a committee page prints: a clean one (ASCII or Vietnamese, text or
    Markup) comes back as it is, not copied; one with steering characters loses them and keeps its type."""
    clean = ["Chi bộ khu phố 3", "80.5", "", Markup("<bdi>Nguyễn Văn An</bdi>"), Markup("<td>12</td>")]
    assert [value for value in [*clean, 12, 80.5, None] if shown_text(value) is not value] == []
    spoofed = shown_text(Markup(f"<bdi>{SPOOFED}</bdi>"))
    assert type(spoofed) is Markup and spoofed == "<bdi>Nguyễn Văn An</bdi>"
    assert all(type(shown_text(f"a{char}b")) is str and shown_text(f"a{char}b") == "ab" for char in STEERING_CHARS)
    assert shown_text(f"Ốm{RLO} nặng\n{BOM}") == "Ốm nặng\n"


def test_a_mail_naming_a_member_with_an_override_reads_in_order() -> None:
    recipient = Recipient(id="a", kind="person", name=f"Lê Thị {RLO}Hồng\nKính gửi đồng chí khác,")
    alert = Alert(
        rule=r.UNEXCUSED_ABSENCE,
        subject_id="m1",
        period="absent",
        recipients=(recipient,),
        cell_id="c",
        values={
            "cell": f"Chi bộ {RLI}khu phố 3",
            "member": SPOOFED,
            "meeting_kind": "regular",
            "starts_at": datetime(2026, 11, 3, 19, 30, tzinfo=VIETNAM_TZ),
            "location": f"Nhà văn hóa{ZWSP}",
        },
    )
    title, body = render(alert, recipient)
    assert _clean(title) and _clean(body)
    assert title == "Đảng viên vắng mặt không lý do: Nguyễn Văn An, Chi bộ khu phố 3 — buổi sinh hoạt ngày 03/11/2026"
    # the name cannot begin a line of its own: a fake greeting stays inside the real one
    assert body.startswith("Kính gửi đồng chí Lê Thị Hồng Kính gửi đồng chí khác,,\n\n")
    assert "Đồng chí Nguyễn Văn An vắng mặt không có lý do" in body and "tại Nhà văn hóa." in body
    many = greeting_of_many([recipient, Recipient(id="b", kind="person", name=SPOOFED)])
    assert many == "Kính gửi các đồng chí Lê Thị Hồng Kính gửi đồng chí khác, và Nguyễn Văn An,"
    digest_title, digest_body = render_digest(
        recipient=recipient, day=datetime(2026, 11, 4).date(), alerts=[(r.UNEXCUSED_ABSENCE, f"Vắng: {SPOOFED}")]
    )
    assert _clean(digest_title) and _clean(digest_body) and "1. Vắng: Nguyễn Văn An" in digest_body


def test_a_csv_names_a_member_with_an_override_in_order_and_no_formula_runs() -> None:
    row = evidence_row({"member_id": "m1", "name": SPOOFED}, year="2026")
    formula = f'{ZWSP}=HYPERLINK("http://x")'
    data = spreadsheet_csv(["id", "name"], [row[:2], ["m2", formula], ["m3", f"{RLO}@SUM(1)"]])
    text = data.decode("utf-8-sig")
    assert _clean(text)
    assert text.splitlines() == ["id;name", "m1;Nguyễn Văn An", 'm2;"\'=HYPERLINK(""http://x"")"', "m3;'@SUM(1)"]
    assert csv_lines([[f"-{RLO}1"]]) == "-1\r\n"  # a number once the override is gone, not a formula


def test_a_name_with_line_breaks_and_a_header_is_one_line_in_a_csv_a_page_and_a_mail() -> None:
    """CONTRACT.md accepts a name with CR LF (only U+0000 and an unpaired surrogate are refused): stored as sent, it
    is one line wherever a person reads it, so "Bcc: ..." after it never begins a line of its own."""
    name = "Lê Văn B\r\nBcc: evil@x.com\x85\x07\u2028X"
    assert shown_name(name) == "Lê Văn B Bcc: evil@x.com X"
    text = spreadsheet_csv(["id", "name"], [evidence_row({"member_id": "m1", "name": name}, year="2026")[:2]])
    assert text.decode("utf-8-sig").split("\r\n") == ["id;name", "m1;Lê Văn B Bcc: evil@x.com X", ""]
    page = environment().from_string("{{ n | name }}|{{ n | plain_name }}").render(n=name)
    assert page == "<bdi>Lê Văn B Bcc: evil@x.com X</bdi>|Lê Văn B Bcc: evil@x.com X"
    recipient = Recipient(id="a", kind="person", name=name)
    title, body = render_digest(
        recipient=recipient, day=datetime(2026, 11, 4).date(), alerts=[(r.UNEXCUSED_ABSENCE, "Vắng")]
    )
    assert "Kính gửi đồng chí Lê Văn B Bcc: evil@x.com X" in body and "\nBcc" not in title + body


def test_a_pdf_paragraph_holds_no_character_that_steers_text() -> None:
    pdf.fonts()
    paragraph = pdf.para(f"Chủ trì: {SPOOFED}", pdf._styles(serif=True)["body"])
    assert paragraph.text == "Chủ trì: Nguyễn Văn An"


def test_a_reports_notes_and_the_minutes_place_print_a_name_as_shown_name_does() -> None:
    """The report PDF's notes under its table (a month changed late, a rating's reason) and the minutes' place line
    printed a cell's or committee's name as sent: its override turned the note around and its line break began
    "Bcc: ..." on a line of its own (pdf.para keeps line breaks). Each is shared.text.shown_name's one line now."""
    name = f"Chi bộ {RLO}Lê Văn B\r\nBcc: evil@x.com\x85\u2028X"
    shown = "Chi bộ Lê Văn B Bcc: evil@x.com X"
    assert shown_name(name) == shown
    late = {"old_score": 85.0, "old_rating": "fair", "new_score": 92.0, "new_rating": "good"}
    late |= {"changed_at": "2026-12-04"}
    reason = {"code": "no_thematic_meeting", "band": "good"}
    row: dict[str, Any] = {"cell_id": "k1", "name": name, "period": "2026-11", "rating": "poor", "score": 92.0}
    row |= {"late_change": late, "rating_reason": reason, "flags": []}
    notes = late_notes([row], period="2026-11") + reason_notes([row], period="2026-11")
    assert len(notes) == 2 and all(note.startswith(f"{shown} — ") for note in notes), notes
    assert locality({"name": f"Đảng ủy xã Hòa{RLI}\r\nBình"}, {"name": "Chi bộ"}) == "Hòa Bình"
    rollup: dict[str, Any] = {"cells": 1, "score": 92.0, "by_rating": {"poor": 1}}
    for data in ({"rows": [row]}, {"sub_units": [], "weakest": [row]}):
        content = report_document({"name": "Đảng ủy phường 9"}, "2026-11", {"rollup": rollup, **data})
        lines = [
            line for page in PdfReader(io.BytesIO(content)).pages for line in (page.extract_text() or "").split("\n")
        ]
        assert _clean("\n".join(lines)) and not any(line.startswith("Bcc") for line in lines), lines
        assert any(line.startswith(f"{shown} — ") for line in lines), lines
