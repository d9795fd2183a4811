"""A new user's trial of the wording (services/gateway/web/locale/vi/LC_MESSAGES/messages.po): the held-meeting page
read "(từ ngày 21:31 thứ Sáu, ngày 27/11/2026 trở đi)", three texts said "bạn" where the app says "đồng chí", and a
field left empty read as the literal "vui lòng nhập trường này" (a thematic meeting's topic without saying why)."""

import re
from datetime import datetime

from babel.messages.pofile import read_po

from services.gateway.web.i18n import CATALOG, _, format_moment
from shared.envelope import VIETNAM_TZ

HELD_BOUND = (
    "Only a meeting held in the last %(days)s days (from %(earliest)s on) is recorded here; a meeting still ahead is"
    " scheduled, so that its members are notified."
)


def test_the_held_meetings_bound_names_its_moment_once() -> None:
    earliest = format_moment(datetime(2026, 11, 27, 21, 31, tzinfo=VIETNAM_TZ))
    said = _(HELD_BOUND, days=7, earliest=earliest)
    assert "(từ 21:31 thứ Sáu, ngày 27/11/2026 trở đi)" in said, said
    assert "ngày 21:31" not in said


def test_the_catalog_addresses_people_as_comrade_and_says_what_is_missing_in_plain_words() -> None:
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle, locale="vi")
    said = [str(message.string) for message in catalog if message.id and message.string]
    assert [text for text in said if re.search(r"\bbạn\b", text, re.IGNORECASE)] == []
    assert [text for text in said if "nhập trường này" in text] == []
    assert _("You may not do this.") == "Đồng chí không có quyền thực hiện thao tác này."
    assert _("Your notice settings cannot be shown right now.") == (
        "Lúc này chưa hiển thị được cách đồng chí nhận thông báo."
    )
    assert _("%(field)s: please fill in this field.", field="Địa điểm") == "Địa điểm: không được để trống."
