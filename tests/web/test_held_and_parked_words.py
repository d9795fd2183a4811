"""One Vietnamese word per thing on the operator page: a held event is "tạm giữ" (integrations.md's vocabulary,
"sự kiện tạm giữ"), a parked outbox row "gác lại". A trial's operator read held events as "Sự kiện đang chờ" and
parked rows as "tạm giữ" ("Hộp thư đi: chờ gửi / lâu nhất (giây) / tạm giữ")."""

import re
from pathlib import Path

from services.gateway.web.i18n import _

CATALOG = Path(__file__).parents[2] / "services/gateway/web/locale/vi/LC_MESSAGES/messages.po"
INTEGRATIONS = Path(__file__).parents[2] / "docs/integrations.md"


def operator_entries(word: str) -> dict[str, str]:
    """The catalog's operator strings whose English names `word` (held events, parked rows): {msgid: msgstr}."""
    entries = re.findall(r'^msgid "(.*)"\nmsgstr "(.*)"$', CATALOG.read_text(encoding="utf-8"), flags=re.M)
    return {msgid: msgstr for msgid, msgstr in entries if re.search(word, msgid, flags=re.I)}


def test_held_events_are_tam_giu_everywhere_and_parked_rows_never() -> None:
    held = operator_entries(r"held event|Held since|Stop holding|no held or rejected|no held event")
    assert len(held) >= 10, held
    for msgid, msgstr in held.items():
        assert "tạm giữ" in msgstr.lower() and "đang chờ" not in msgstr, (msgid, msgstr)
    parked = operator_entries(r"parked")
    assert len(parked) >= 7, parked
    for msgid, msgstr in parked.items():
        assert "gác lại" in msgstr and "tạm giữ" not in msgstr and "tạm dừng" not in msgstr, (msgid, msgstr)


def test_the_operator_pages_labels_read_as_the_vocabulary() -> None:
    assert "| held event | sự kiện tạm giữ" in INTEGRATIONS.read_text(encoding="utf-8")
    assert _("Held events") == "Sự kiện tạm giữ"
    assert _("No held events.") == "Không có sự kiện tạm giữ nào."
    assert (
        _("Outbox: waiting / oldest (s) / parked") == "Sự kiện chờ gửi (outbox): đang chờ / lâu nhất (giây) / gác lại"
    )
    assert _("No parked rows.") == "Không có sự kiện chờ gửi nào bị gác lại."
