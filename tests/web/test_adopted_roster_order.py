"""A trial: once the minutes were adopted, the record page listed the roster by internal member id, while its form
and the meeting page list members by given name in Vietnamese order (shared.collation.by_person)."""

import re
from typing import Any

from tests.web.test_adoption_once import record_page

MEMBERS = {
    "m-1": {"id": "m-1", "full_name": "Trần Văn Đức"},
    "m-2": {"id": "m-2", "full_name": "Nguyễn Thị Bình"},
    "m-3": {"id": "m-3", "full_name": "Lê Văn An"},
    "m-4": {"id": "m-4", "full_name": "Hoàng Thị Dung"},
}
ATTENDANCE: dict[str, Any] = {
    "records": [{"member_id": member, "status": "present", "reason": None} for member in MEMBERS],
}


def test_the_adopted_roster_lists_members_by_given_name() -> None:
    page = record_page("2026-11-21T09:03:11+07:00", attendance=ATTENDANCE, members=MEMBERS)
    roster = re.search(r'<table id="roster">(.*?)</table>', page, re.S)
    assert roster, page
    shown = [name for name in ("Lê Văn An", "Nguyễn Thị Bình", "Hoàng Thị Dung", "Trần Văn Đức") if name in roster[1]]
    assert len(shown) == 4
    order = sorted(shown, key=lambda name: roster[1].index(name))
    assert order == ["Lê Văn An", "Nguyễn Thị Bình", "Hoàng Thị Dung", "Trần Văn Đức"], order
