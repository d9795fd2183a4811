"""A trial: a check-in device's roster listing 1 of the cell's 5 members was taken silently and scored 100 %
attendance, while the secretary's same roster on the web is refused `roster_incomplete` naming the members it leaves
out. The record page now tells the secretary of a stored roster lacking members of the cell at the meeting's start,
in the words of that refusal (forms.named_comrades: the first few by name, then how many more), that it was recorded
and that the rate counts only those on it. Rendered without a running system."""

from pathlib import Path

from services.gateway.web import forms
from services.gateway.web.pages import secretary
from tests.web.test_adoption_once import record_page
from tests.web.test_names_in_sentences import page

MEMBERS = {
    "m2": {"id": "m2", "full_name": "Lê Văn An"},
    "m1": {"id": "m1", "full_name": "Trần Thị Bình"},
    "m4": {"id": "m4", "full_name": "Hoàng Văn Cường"},
    "m3": {"id": "m3", "full_name": "Phạm Thị Dung"},
    "m5": {"id": "m5", "full_name": "Vũ Thị Em"},
}
"""The cell's members at the meeting's start in Vietnamese name order, as data.members_by_id gives them."""


def test_a_stored_roster_lacking_members_is_said_naming_them_as_the_form_refuses_it() -> None:
    said = forms.roster_lacks(MEMBERS, {"m1": {"member_id": "m1", "status": "present"}})
    assert said is not None
    shown = page(said)  # as the record page prints it: the names isolated, in the form's refusal's words
    assert "Lê Văn An</bdi>, <bdi>Hoàng Văn Cường</bdi>, <bdi>Phạm Thị Dung</bdi> và 1 đồng chí khác" in shown, shown
    assert "tỷ lệ tham dự chỉ tính" in shown, shown


def test_a_full_roster_or_none_says_nothing() -> None:
    full = {member_id: {"member_id": member_id, "status": "present"} for member_id in MEMBERS}
    assert forms.roster_lacks(MEMBERS, full) is None
    assert forms.roster_lacks(MEMBERS, {}) is None


def test_the_record_page_shows_it_to_the_secretary() -> None:
    said = forms.roster_lacks(MEMBERS, {"m1": {"member_id": "m1", "status": "present"}})
    shown = record_page(None, roster_lacks=said)
    assert '<p class="notice" id="roster-lacks">Điểm danh: danh sách đã ghi còn thiếu đồng chí <bdi>Lê Văn An' in shown
    assert 'id="roster-lacks"' not in record_page(None, roster_lacks=None)
    assert "roster_lacks=forms.roster_lacks(" in Path(secretary.__file__).read_text()  # the page passes it
