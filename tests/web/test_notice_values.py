"""A page's notice is the system's word only when the page was redirected with it after an action: the record page
said "Đã ghi nhận" for any `notice` in its address (`?notice=zzz`), as the member's page said "Đã lưu"."""

import re
from pathlib import Path

from services.gateway.web.pages import secretary

PAGES = Path(secretary.__file__).parent


def test_the_record_page_knows_every_notice_it_is_redirected_with_and_no_other() -> None:
    source = (PAGES / "secretary.py").read_text()
    sent = set(re.findall(r"return await _submit\([^)]*\"([a-z_]+)\"\)", source, flags=re.S))
    sent |= set(re.findall(r"/record\?notice=([a-z_]+)", source))
    # an action may say its own outcome (_submit's `outcome or notice`): a reschedule changing nothing says "unchanged"
    sent |= set(re.findall(r'^\s+return "([a-z_]+)"$', source, flags=re.M))
    assert {"approved", "minutes", "scheduled"} <= sent
    assert sent == secretary.RECORD_NOTICES
    assert "zzz" not in secretary.RECORD_NOTICES


def test_the_pages_show_no_notice_taken_as_it_is_from_their_address() -> None:
    for page in ("secretary.py", "member.py"):
        source = (PAGES / page).read_text()
        assert 'notice=request.query_params.get("notice"),' not in source, page
