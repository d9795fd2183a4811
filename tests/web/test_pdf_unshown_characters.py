"""The Vietnamese readers' trial (h421): emoji and Arabic in minutes printed as white squares (□) in the minutes PDF,
read as a broken document. ReportLab has no font fallback (and neither shapes nor orders Arabic), so each run of
characters the embedded fonts cannot draw is said in words, once a run, never left out nor boxed. Emoji the DejaVu
faces lack are drawn by the embedded fallback font (Symbola, fonts-symbola): a later trial's minutes PDF printed a
typed emoji as words while the page and the mails showed it."""

import pytest

from services.gateway.web import pdf
from tests.web.test_exports import pdf_text

SAID = "[ký tự không hiển thị được]"


@pytest.mark.parametrize(
    ("written", "printed"),
    [
        # emoji the DejaVu faces lack are drawn by the fallback font (Symbola), their modifiers left out
        ("Ốm, nằm viện \U0001f3e5\ufe0f nhé", "Ốm, nằm viện \U0001f3e5 nhé"),
        ("Chào mừng 👨\u200d👩\u200d👧🎉!", "Chào mừng 👨👩👧🎉!"),
        ("Dòng một 😀\nDòng hai", "Dòng một 😀\nDòng hai"),
        # what neither font draws (an emoji newer than Symbola's, Arabic in the serif face) is said in words
        ("Khách: مرحبا بكم في الاجتماع.", f"Khách: {SAID}."),
        ("Thương 🥰\ufe0f🥰 lắm", f"Thương {SAID} lắm"),
        ("Không có gì lạ: ạ ễ ữ", "Không có gì lạ: ạ ễ ữ"),
    ],
)
def test_a_run_no_font_can_draw_is_said_in_words_once_and_emoji_are_drawn_by_the_fallback(
    written: str, printed: str
) -> None:
    pdf.fonts()
    assert pdf.drawable(written, "Serif") == printed


def test_the_fallback_font_is_installed() -> None:
    """deploy/bootstrap.sh installs fonts-symbola: without it emoji would be said in words again."""
    pdf.fonts()
    assert pdf.FALLBACK_FILE.exists() and ord("👍") in pdf.fallback_glyphs()


def test_the_pdf_text_holds_the_emoji_says_what_no_font_draws_and_holds_no_white_square() -> None:
    """A trial's minutes PDF printed a typed emoji as “[ký tự không hiển thị được]”: read back from the PDF, the
    emoji is there (drawn by the embedded fallback font), Arabic still said in words."""
    pdf.fonts()
    story = [pdf.para("Ý kiến: đồng ý 👍 — شكرا 🎉", pdf._styles(serif=True)["body"])]
    text = " ".join(pdf_text(pdf._build(story, title="Biên bản", subject="Thử")).split())
    assert f"Ý kiến: đồng ý 👍 — {SAID} 🎉" in text, text
    assert "\u25a1" not in text, text
