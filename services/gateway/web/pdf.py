"""PDF documents with ReportLab, Vietnamese glyphs from the DejaVu fonts embedded (Debian's fonts-dejavu-core,
installed by deploy/bootstrap.sh), emoji and symbols they lack from Symbola (Debian's fonts-symbola, monochrome): a
committee's report and a meeting's minutes (biên bản) in the customary layout."""

import io
import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from services.gateway.web.i18n import N_, _, after_dash
from shared.text import shown_name, without_controls

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = {
    "Serif": "DejaVuSerif.ttf",
    "Serif-Bold": "DejaVuSerif-Bold.ttf",
    "Serif-Italic": "DejaVuSerif-Italic.ttf",
    "Sans": "DejaVuSans.ttf",
    "Sans-Bold": "DejaVuSans-Bold.ttf",
}
FALLBACK = "Fallback"
"""The registered name of the font drawing what the DejaVu faces lack (emoji, symbols): FALLBACK_FILE."""
FALLBACK_FILE = Path("/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf")
"""Symbola (Debian's fonts-symbola, installed by deploy/bootstrap.sh): monochrome glyphs for the emoji of Unicode
10 and most symbols, which ReportLab can embed (colour emoji fonts are bitmaps it cannot). A trial's minutes PDF
printed a typed emoji as words while the page and the mails showed it. Without the file no fallback is used."""


REPORTLAB_CMAP = ttfonts.makeToUnicodeCMap
"""ReportLab's ToUnicode CMap of an embedded subset, which writes a character beyond U+FFFF as its bare code point
(`<1F44D>`): no UTF-16, so readers (pypdf, a viewer's search and copy) lose every emoji (utf16_cmap mends it)."""
OVER_BMP = re.compile(r"<([0-9A-F]{2})> <([0-9A-F]{5,6})>")
"""One line of REPORTLAB_CMAP's bfchar list mapping a glyph to a character beyond U+FFFF."""


def utf16_cmap(fontname: str, subset: Sequence[int]) -> str:
    """REPORTLAB_CMAP with each character beyond U+FFFF written in UTF-16BE (its surrogate pair, `<D83DDC4D>`), as
    the PDF reference requires of a ToUnicode CMap's destination strings."""

    def pair(found: re.Match[str]) -> str:
        return f"<{found[1]}> <{chr(int(found[2], 16)).encode('utf-16-be').hex().upper()}>"

    return OVER_BMP.sub(pair, REPORTLAB_CMAP(fontname, subset))


@cache
def fonts() -> None:
    """Register the TrueType fonts once (embedded as subsets in every PDF), their ToUnicode CMaps in UTF-16
    (utf16_cmap: the fallback font's emoji are beyond U+FFFF)."""
    ttfonts.makeToUnicodeCMap = utf16_cmap
    for name, file in FONTS.items():
        path = FONT_DIR / file
        if not path.exists():
            raise RuntimeError(f"font {path} missing: install fonts-dejavu-core (deploy/bootstrap.sh)")
        pdfmetrics.registerFont(TTFont(name, str(path)))
    pdfmetrics.registerFontFamily("Serif", normal="Serif", bold="Serif-Bold", italic="Serif-Italic")
    if FALLBACK_FILE.exists():
        pdfmetrics.registerFont(TTFont(FALLBACK, str(FALLBACK_FILE)))


def fallback_glyphs() -> Any:
    """The code points the fallback font (FALLBACK) draws (empty when it is not installed); call fonts() first."""
    return pdfmetrics.getFont(FALLBACK).face.charToGlyph if FALLBACK in pdfmetrics.getRegisteredFontNames() else {}


def _styles(serif: bool) -> dict[str, ParagraphStyle]:
    font = "Serif" if serif else "Sans"
    bold = f"{font}-Bold"
    return {
        "body": ParagraphStyle("body", fontName=font, fontSize=11 if serif else 9.5, leading=15 if serif else 13),
        "head": ParagraphStyle("head", fontName=bold, fontSize=11, leading=14, alignment=TA_CENTER),
        "head-left": ParagraphStyle("head-left", fontName=font, fontSize=11, leading=14, alignment=TA_CENTER),
        "place": ParagraphStyle("place", fontName="Serif-Italic", fontSize=11, leading=14, alignment=TA_CENTER),
        "title": ParagraphStyle("title", fontName=bold, fontSize=15, leading=20, alignment=TA_CENTER, spaceBefore=8),
        "subtitle": ParagraphStyle("subtitle", fontName=bold, fontSize=12, leading=16, alignment=TA_CENTER),
        "h2": ParagraphStyle("h2", fontName=bold, fontSize=11, leading=15, spaceBefore=8, alignment=TA_LEFT),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=9, leading=11),
        "cell-bold": ParagraphStyle("cell-bold", fontName=bold, fontSize=9, leading=11),
    }


MISSING_GLYPH = N_("[characters that cannot be shown]")
"""What a run of characters the embedded fonts draw no glyph for (an emoji newer than the fallback font's, FALLBACK;
Arabic in the serif face, which ReportLab could not shape nor order right to left anyway) is printed as, said in
words (`[ký tự không hiển thị được]`): ReportLab has no font fallback and left them out, and the white square printed
since (U+25A1) read as a broken PDF in the Vietnamese readers' trial."""
MARKS = frozenset({"Mn", "Me", "Sk", "Cf"})
"""Unicode categories of what only modifies the character before it (a variation selector, a skin tone, a joiner):
within a run printed as MISSING_GLYPH, left out rather than printed as one of their own."""
BETWEEN = frozenset(" \t")
"""What may stand between two characters of one run printed as MISSING_GLYPH (the spaces between Arabic words): one
note for the run, not one a word."""


def pieces(text: str, font: str) -> list[tuple[str, bool]]:
    """`text` cut into pieces (text, drawn by the fallback font FALLBACK): what the registered font `font` draws (and
    line breaks) in its own pieces, what it lacks but the fallback draws in fallback pieces (the marks modifying such
    a character, MARKS, left out: ReportLab draws no combined emoji), and each run of characters neither draws (with
    the marks modifying them, MARKS, and the spaces between them, BETWEEN) replaced by one MISSING_GLYPH in
    Vietnamese; the spaces around a run kept."""
    glyphs = pdfmetrics.getFont(font).face.charToGlyph
    extra = fallback_glyphs()
    said: list[tuple[str, bool]] = []

    def add(part: str, fallback: bool) -> None:
        if said and said[-1][1] == fallback:
            said[-1] = (said[-1][0] + part, fallback)
        elif part:
            said.append((part, fallback))

    state = "drawn"  # or "fallback" (after a character the fallback draws) or "missing" (within a run said in words)
    held = ""
    for char in text:
        mark = unicodedata.category(char) in MARKS
        if state == "fallback" and mark:
            continue
        if state == "missing" and (mark or char in BETWEEN):
            held += char if char in BETWEEN else ""
            continue
        if char == "\n" or ord(char) in glyphs:
            add(held + char, False)
            state, held = "drawn", ""
        elif ord(char) in extra:
            add(held, False)
            add(char, True)
            state, held = "fallback", ""
        else:
            if state != "missing":
                add(_(MISSING_GLYPH), False)
            state, held = "missing", ""
    add(held, False)
    return said


def drawable(text: str, font: str) -> str:
    """`text` as its PDF prints it (pieces): each run of characters neither `font` nor the fallback font draws
    replaced by one MISSING_GLYPH in Vietnamese, the marks modifying characters drawn by neither or by the fallback
    left out; line breaks and the spaces around a run kept."""
    return "".join(part for part, _fallback in pieces(text, font))


def para(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text (escaped; line breaks kept), without the characters that only steer or hide text
    (shared.text.without_controls: a name or reason sent with a right-to-left override U+202E turns the text after
    it around in a viewer's search and copy, and its glyph-less box shows in print), what its font lacks drawn in
    the fallback font (FALLBACK: emoji) and anything neither can draw said as MISSING_GLYPH (pieces), never dropped.
    Every text of a PDF is one."""
    markup = "".join(
        f'<font name="{FALLBACK}">{escape(part)}</font>' if fallback else escape(part)
        for part, fallback in pieces(without_controls(text), style.fontName)
    )
    return Paragraph(markup.replace("\n", "<br/>"), style)


CREATOR = "chibo"
"""The application the PDFs' metadata names as their creator (viewers show it in the document's properties)."""


def _build(story: list[Flowable], *, title: str, subject: str) -> bytes:
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=25 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=shown_name(title),
        subject=shown_name(subject),
        author=CREATOR,
        creator=CREATOR,
        lang="vi",
    )
    document.build(story)
    return buffer.getvalue()


def report_pdf(
    *,
    title: str,
    subtitle: str,
    figures: Sequence[tuple[str, str]],
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    unrated: tuple[str, str] | None = None,
    notes: Sequence[tuple[str, Sequence[str]]] = (),
    figures_note: str = "",
) -> bytes:
    """A committee's report: title, key figures (`figures_note` under them: how a running period's figures read),
    and a table of its cells, then each of `notes` (heading, lines: the months whose result changed after they
    closed, the cells' rating reasons) that has lines; `unrated` (heading, message) instead of the figures and the
    table for a period without any data ("Chưa có dữ liệu")."""
    fonts()
    style = _styles(serif=False)
    story: list[Flowable] = [para(title, style["title"]), para(subtitle, style["subtitle"]), Spacer(1, 6 * mm)]
    if unrated is not None:
        heading, message = unrated
        story += [para(heading, style["h2"]), para(message, style["body"])]
        return _build(story, title=f"{title} — {subtitle}", subject=subtitle)
    story.append(
        _table(
            [[para(name, style["cell"]), para(value, style["cell-bold"])] for name, value in figures],
            [70 * mm, 40 * mm],
        )
    )
    if figures_note:
        story += [Spacer(1, 2 * mm), para(figures_note, style["body"])]
    story.append(Spacer(1, 6 * mm))
    data = [[para(text, style["cell-bold"]) for text in header]]
    data += [[para(text, style["cell"]) for text in row] for row in rows]
    widths = [52 * mm] + [(167 - 52) * mm / (len(header) - 1)] * (len(header) - 1)
    story.append(_table(data, widths, header=True))
    story += _notes(notes, style)
    return _build(story, title=f"{title} — {subtitle}", subject=subtitle)


def _notes(sections: Sequence[tuple[str, Sequence[str]]], style: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Each section's lines under its heading (a report's months changed after they closed, its cells' rating
    reasons), nothing for a section without lines."""
    return [
        flowable
        for title, notes in sections
        if notes
        for flowable in (para(title, style["h2"]), *(para(note, style["body"]) for note in notes))
    ]


def report_summary_pdf(
    *,
    title: str,
    subtitle: str,
    figures: Sequence[tuple[str, str]],
    note: str,
    units_title: str,
    units_header: Sequence[str],
    units: Sequence[Sequence[str]] | None,
    weakest_title: str,
    weakest_header: Sequence[str],
    weakest: Sequence[Sequence[str]],
    none_weak: str,
    figures_note: str = "",
    notes: Sequence[tuple[str, Sequence[str]]] = (),
    units_note: str = "",
    units_unavailable: str = "",
) -> bytes:
    """A large committee's report: title, key figures (`figures_note` under them: how a running period's figures
    read), `note` (why no cell-by-cell list), a table of its directly subordinate units (none for `units` None: a
    committee of cells only) with `units_note` under it, or under its title `units_unavailable` when given (the units
    could not be listed), and one of its weakest cells (`none_weak` in its place when there are none), then `notes` as
    report_pdf lists them."""
    fonts()
    style = _styles(serif=False)
    story: list[Flowable] = [para(title, style["title"]), para(subtitle, style["subtitle"]), Spacer(1, 6 * mm)]
    story.append(
        _table(
            [[para(name, style["cell"]), para(value, style["cell-bold"])] for name, value in figures],
            [70 * mm, 40 * mm],
        )
    )
    if figures_note:
        story += [Spacer(1, 2 * mm), para(figures_note, style["body"])]
    story += [Spacer(1, 4 * mm), para(note, style["body"])]
    if units is not None:
        data = [[para(text, style["cell-bold"]) for text in units_header]]
        data += [[para(text, style["cell"]) for text in row] for row in units]
        widths = [52 * mm] + [(167 - 52) * mm / (len(units_header) - 1)] * (len(units_header) - 1)
        story += [para(units_title, style["h2"]), _table(data, widths, header=True)]
        if units_note:
            story += [Spacer(1, 2 * mm), para(units_note, style["body"])]
    elif units_unavailable:
        story += [para(units_title, style["h2"]), para(units_unavailable, style["body"])]
    story.append(para(weakest_title, style["h2"]))
    if weakest:
        data = [[para(text, style["cell-bold"]) for text in weakest_header]]
        data += [[para(text, style["cell"]) for text in row] for row in weakest]
        widths = [52 * mm] + [(167 - 52) * mm / (len(weakest_header) - 1)] * (len(weakest_header) - 1)
        story.append(_table(data, widths, header=True))
    else:
        story.append(para(none_weak, style["body"]))
    story += _notes(notes, style)
    return _build(story, title=f"{title} — {subtitle}", subject=subtitle)


def _table(data: list[list[Any]], widths: Sequence[float], *, header: bool = False) -> Table:
    """A table of paragraphs whose rows split across pages (splitInRow, its headings repeated on each page): a task's
    description may hold 10,000 characters, a row several pages tall that ReportLab refused whole (LayoutError)."""
    table = Table(data, colWidths=list(widths), repeatRows=1 if header else 0, splitInRow=1)
    commands: list[Any] = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f1f3f4")))
    table.setStyle(TableStyle(commands))
    return table


def minutes_pdf(
    *,
    superior: str,
    cell: str,
    place_and_date: str,
    title: str,
    subtitle: str,
    sections: Sequence[tuple[str, str]],
    tasks_header: Sequence[str],
    tasks: Sequence[Sequence[str]],
    signatures: tuple[tuple[str, str], tuple[str, str]],
    closing: Sequence[str] = (),
    notice: str = "",
    after_tasks: Sequence[tuple[str, str]] = (),
) -> bytes:
    """A meeting's minutes: the committee's name top left, "ĐẢNG CỘNG SẢN VIỆT NAM" top right, place and date,
    the title (with `notice` under it when given: a cancelled meeting's minutes do not count), then the body (its
    last section's tasks table under that section), the `after_tasks` sections (heading, text), the closing lines
    (when the meeting ended, that the minutes were read) and the signatures of chair and recorder."""
    fonts()
    style = _styles(serif=True)
    left = [para(superior.upper(), style["head-left"]), para(cell.upper(), style["head"]), para("*", style["head"])]
    party = _("COMMUNIST PARTY OF VIET NAM")
    right = [
        Paragraph(f"<u>{escape(party)}</u>", style["head"]),
        Spacer(1, 3 * mm),
        para(place_and_date, style["place"]),
    ]
    header = Table([[left, right]], colWidths=[75 * mm, 92 * mm])
    header.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story: list[Flowable] = [header, Spacer(1, 8 * mm), para(title, style["title"]), para(subtitle, style["subtitle"])]
    if notice:
        story += [Spacer(1, 2 * mm), para(notice, style["place"])]
    story.append(Spacer(1, 5 * mm))
    for heading, text in sections:
        if heading:
            story.append(para(heading, style["h2"]))
        if text:
            story.append(para(text, style["body"]))
    if tasks:
        data = [[para(text, style["cell-bold"]) for text in tasks_header]]
        data += [[para(text, style["cell"]) for text in row] for row in tasks]
        story.append(Spacer(1, 2 * mm))
        story.append(_table(data, [80 * mm, 50 * mm, 37 * mm], header=True))
    for heading, text in after_tasks:
        story += [para(heading, style["h2"])] if heading else []
        story += [para(text, style["body"])] if text else []
    if closing:
        story.append(Spacer(1, 3 * mm))
    story.extend(para(text, style["body"]) for text in closing if text)
    story.append(Spacer(1, 10 * mm))
    (left_role, left_name), (right_role, right_name) = signatures
    signs = Table(
        [
            [para(left_role, style["head"]), para(right_role, style["head"])],
            [Spacer(1, 18 * mm), Spacer(1, 18 * mm)],
            [para(left_name, style["head"]), para(right_name, style["head"])],
        ],
        colWidths=[83 * mm, 84 * mm],
    )
    # the titles, the space to sign and the names on one page (KeepTogether moves the whole block on when it would
    # straddle a page break: a trial's names printed alone on page 2, away from "THƯ KÝ / CHỦ TRÌ")
    story.append(KeepTogether([signs]))
    return _build(story, title=f"{title} {subtitle}", subject=after_dash(cell, subtitle) if cell else subtitle)


def place_and_date(place: str, moment: datetime) -> str:
    """`Hòa Bình, ngày 04 tháng 11 năm 2026` (the customary line under the party's name)."""
    return _(
        "%(place)s, day %(day)s month %(month)s year %(year)s",
        place=place,
        day=f"{moment:%d}",
        month=f"{moment:%m}",
        year=f"{moment:%Y}",
    )
