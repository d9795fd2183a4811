"""A name set into a sentence built in Python (a form's refusal naming a member, the committee page's late meeting,
the evidence page's heading) is printed in <bdi> as templates print `{{ name | name }}`, escaped, its steering
characters dropped: a right-to-left name cannot carry the words and figures beside it into its direction, and a name
holding markup stays text. Rendered without a running system."""

from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest

from services.gateway.web import data, forms
from services.gateway.web.core import environment
from shared.periods import VIETNAM_TZ
from shared.text import isolated_name

NAME = "Lê\u202e Thị <script>alert(1)</script> Bình"
"""A member's name CONTRACT.md accepts: a right-to-left override and markup in it."""
SHOWN = "<bdi>Lê Thị &lt;script&gt;alert(1)&lt;/script&gt; Bình</bdi>"
"""NAME as a page shows it: cleaned (shared.text.shown_name), escaped, isolated."""
HEBREW = "\u05d0\u05d1\u05d2 5"


def page(value: Any) -> str:
    """`value` as a template prints it in a page's text."""
    return environment().from_string("<p>{{ value }}</p>").render(value=value)


def assert_isolated(html: str) -> None:
    assert SHOWN in html, html
    assert "<script>" not in html and "\u202e" not in html and "\u2068" not in html and "\u2069" not in html, html


def test_a_refusal_naming_a_member_prints_the_name_isolated_and_escaped() -> None:
    chair = forms.absent_at_meeting("chair_id", NAME)
    assert_isolated(page(chair))
    assert page(chair).startswith("<p>Đồng chí <bdi>"), page(chair)
    exempt = forms.absent_at_meeting("speakers-m-1", NAME, status="exempt")
    assert_isolated(page(exempt))
    refusal = SimpleNamespace(member_names=[NAME, "Trần Văn An"], missing=4)
    roster = page(forms.roster_incomplete(refusal))
    assert_isolated(roster)
    assert "<bdi>Trần Văn An</bdi> và 2 đồng chí khác" in roster, roster


def test_a_rows_label_names_the_member_isolated() -> None:
    labels = forms.FormLabels(
        choices={"status-": "Attendance"}, named={"status-": "Attendance of %(name)s"}, names={"m-1": NAME}
    )
    found = labels.find("status-m-1")
    assert found is not None
    assert_isolated(page(found[0]))


def test_the_committee_pages_late_meeting_names_its_cell_isolated() -> None:
    item = {
        "cell_id": "c-1",
        "cell_name": NAME,
        "kind": "regular",
        "starts_at": datetime(2026, 11, 20, 19, 30, tzinfo=VIETNAM_TZ),
        "missing": ["minutes"],
    }
    title = page(data.late_minutes_shown(item)["title"])
    assert_isolated(title)
    assert title.startswith("<p><bdi>") and "</bdi>: " in title, title


def test_the_evidence_heading_isolates_the_units_name() -> None:
    html = (
        environment()
        .from_string("<small>{{ name | isolated_name | after_dash('Năm 2026') }}</small>")
        .render(name=NAME)
    )
    assert html == f"<small>{SHOWN} — năm 2026</small>", html


@pytest.mark.parametrize("name", [HEBREW, "Nguyễn Văn An"])
def test_only_the_isolated_pair_becomes_a_tag_and_an_isolate_left_open_is_dropped(name: str) -> None:
    assert page(f"Đồng chí {isolated_name(name)}, 19:30") == f"<p>Đồng chí <bdi>{name}</bdi>, 19:30</p>"
    assert page("a \u2068b <i> c") == "<p>a b &lt;i&gt; c</p>"
    assert page("a \u2069 b \u2068c\u2069") == "<p>a  b <bdi>c</bdi></p>"


def test_a_name_carrying_its_own_isolates_becomes_no_tag_in_an_attribute() -> None:
    """A name sent with a balanced U+2068 … U+2069 of its own (CONTRACT.md accepts it) is text in an attribute: the
    roster's labels read it through plain_name, never as a <bdi> the page would print inside the label."""
    html = (
        environment()
        .from_string("""<select aria-label="{{ _('Attendance of %(name)s', name=name | plain_name) }}"></select>""")
        .render(name=f"\u2068{NAME}\u2069")
    )
    assert html == '<select aria-label="Điểm danh đồng chí Lê Thị &lt;script&gt;alert(1)&lt;/script&gt; Bình"></select>'
