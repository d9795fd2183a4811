"""A note under a key figure (the committee's "5/6 chi bộ đã sinh hoạt…" under its regularity) is small, plain text:
at 390 px a trial's page drew it in the figures' large bold style, as a `<small>` inside the figure's `dd` only
shrank it a step and kept it bold."""

import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "services/gateway/web"


def test_every_note_inside_a_figure_is_a_figure_note() -> None:
    for template in sorted((WEB / "templates").glob("*.html")):
        for figure in re.findall(r"<dd data-figure=.*?</dd>", template.read_text("utf-8")):
            for small in re.findall(r"<small[^>]*>", figure):
                assert 'class="figure-note"' in small, (template.name, small)


def test_a_figures_small_text_is_set_plain_and_small() -> None:
    css = (WEB / "static/app.css").read_text("utf-8")
    rule = re.search(r"^([^{}\n]*\.figures dd small[^{}\n]*)\{([^}]*)\}", css, re.MULTILINE)
    assert rule is not None
    assert "font-weight: normal" in rule.group(2) and "font-size: .85rem" in rule.group(2)
