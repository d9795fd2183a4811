"""The Vietnamese readers' trial (h421): emoji and Arabic in minutes printed as white squares (□) in the minutes PDF,
read as a broken document. ReportLab has no font fallback (and neither shapes nor orders Arabic), so each run of
characters the embedded fonts cannot draw is said in words, once a run, never left out nor boxed."""

import pytest

from services.gateway.web import pdf
from tests.web.test_exports import pdf_text

SAID = "[ký tự không hiển thị được]"


@pytest.mark.parametrize(
    ("written", "printed"),
    [
        ("Ốm, nằm viện \U0001f3e5\ufe0f nhé", f"Ốm, nằm viện {SAID} nhé"),
        ("Chào mừng 👨\u200d👩\u200d👧🎉!", f"Chào mừng {SAID}!"),
        ("Khách: مرحبا بكم في الاجتماع.", f"Khách: {SAID}."),
        ("Dòng một 😀\nDòng hai", f"Dòng một {SAID}\nDòng hai"),
        ("Không có gì lạ: ạ ễ ữ", "Không có gì lạ: ạ ễ ữ"),
    ],
)
def test_a_run_the_serif_font_cannot_draw_is_said_in_words_once(written: str, printed: str) -> None:
    pdf.fonts()
    assert pdf.drawable(written, "Serif") == printed


def test_the_pdf_text_says_it_and_holds_no_white_square() -> None:
    pdf.fonts()
    story = [pdf.para("Ý kiến: đồng ý 👍 — شكرا", pdf._styles(serif=True)["body"])]
    text = " ".join(pdf_text(pdf._build(story, title="Biên bản", subject="Thử")).split())
    assert f"Ý kiến: đồng ý {SAID} — {SAID}" in text, text
    assert "\u25a1" not in text, text
