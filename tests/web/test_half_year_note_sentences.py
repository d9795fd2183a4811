"""A trial's officer read the half-year note on a cell's page as one sentence of about 80 words (what is rated, whose
ratings are shown, over which months the score is the mean, a cell set up partway, the running month, a month without
a meeting). Each of its forms now says those things in short sentences, one thing each."""

import re
from datetime import date

import pytest

from services.gateway.web.i18n import half_year_no_rating

ENDED, RUNNING, FIRST_MONTH = date(2027, 1, 5), date(2026, 12, 5), date(2026, 7, 3)
FORMS = {
    "ended": (ENDED, {}),
    "ended, a cell set up partway": (ENDED, {"rollup": {"fewest_months_counted": 4, "most_months_counted": 4}}),
    "ended, cells set up partway": (ENDED, {"rollup": {"fewest_months_counted": 4, "most_months_counted": 6}}),
    "running": (RUNNING, {}),
    "running, a cell set up partway": (RUNNING, {"rollup": {"fewest_months_gone": 3, "most_months_gone": 3}}),
    "running, cells set up partway": (RUNNING, {"rollup": {"fewest_months_gone": 3, "most_months_gone": 5}}),
    "running, a cell's own months": (RUNNING, {"span": ("2026-09", None)}),
    "running, a cell set up this month": (RUNNING, {"rollup": {"fewest_months_gone": 0, "most_months_gone": 0}}),
    "in its first month": (FIRST_MONTH, {}),
}
LONGEST = 25
"""Words a sentence of the note may have at most (the old single sentence had 60 to 80)."""


@pytest.mark.parametrize("form", sorted(FORMS))
def test_each_form_of_the_half_year_note_is_short_sentences(form: str) -> None:
    today, given = FORMS[form]
    note = half_year_no_rating("2026-H2", today, **given)  # type: ignore[arg-type]
    sentences = [part for part in re.split(r"(?<=\.)\s+", note) if part]
    assert len(sentences) >= 3, note
    longest = max(sentences, key=lambda sentence: len(sentence.split()))
    assert len(longest.split()) <= LONGEST, longest
    assert all(sentence[0].isupper() or sentence[0].isdigit() for sentence in sentences), note
    assert ";" not in note, note  # no clauses strung together
