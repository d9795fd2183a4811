"""Score explanations say what happened, never what is allowed: "Biên bản, nghị quyết không được đăng tải trong 48
giờ…" read as "may not be published" to a trial user. Every reason code's wording is rendered with values and none
may say "không được" before one of the cell's own acts (đăng tải, thông báo, thông qua, ghi, giao, họp, chấm)."""

import re
from datetime import UTC, datetime

import pytest

from services.gateway.web.explain import BY_CODE, explain_part
from shared.reasons import ReasonCode, ReasonPart

VALUES = {
    "lasted": 80.0,
    "required": 90,
    "short": 10.0,
    "present": 8,
    "counted": 10,
    "rate": 0.8,
    "required_rate": 0.9,
    "strict": True,
    "count": 2,
    "limit": 3,
    "longest": 4,
    "kinds": ("minutes", "resolution"),
    "published_at": datetime(2026, 11, 7, 12, tzinfo=UTC),
    "deadline": datetime(2026, 11, 7, 12, tzinfo=UTC),
    "lead_hours": 24.0,
    "ahead_hours": 2.5,
    "hours": 48.0,
}
PERMISSION = re.compile(r"không được (đăng tải|thông báo|thông qua|ghi|giao|họp|chấm|tổ chức)")


@pytest.mark.parametrize("code", list(BY_CODE), ids=lambda code: str(code.value))
def test_no_explanation_reads_as_a_prohibition(code: ReasonCode) -> None:
    fields = set(ReasonPart.model_fields) - {"code"}
    part = ReasonPart(code=code, **{name: value for name, value in VALUES.items() if name in fields})
    assert not PERMISSION.search(explain_part(part)), explain_part(part)


def test_final_documents_late_says_they_were_still_unpublished_when_the_48_hours_ran_out() -> None:
    part = ReasonPart(code=ReasonCode.FINAL_DOCUMENTS_LATE, kinds=("minutes", "resolution"), hours=48.0)
    assert explain_part(part) == "biên bản, nghị quyết chưa được đăng tải khi hết thời hạn 48 giờ sau khi kết thúc"
