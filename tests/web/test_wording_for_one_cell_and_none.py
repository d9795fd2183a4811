"""A trial's wording on a cell's pages: a score reason read "(dài nhất 0 buổi)", a single cell's half-year note asked
"Chi bộ nào đã sinh hoạt…" as of many cells, and a roster on which nobody counts read "Không đảng viên nào trong danh
sách được tính". Each now reads naturally: no run of none, the one cell named as "chi bộ", "chưa có đảng viên nào"
(and the same "không có … nào" elsewhere)."""

from datetime import date

from services.gateway.web.explain import explain_part
from services.gateway.web.i18n import _, half_year_no_rating
from services.gateway.web.reasons import NO_ACCOUNT
from shared.reasons import ReasonCode, ReasonPart

RUNNING = date(2026, 12, 5)
"""On 5 December 2026 July to November have gone by in 2026-H2."""


def test_a_runs_longest_of_none_is_left_out_of_the_reasons() -> None:
    for longest in (0, 1):
        bonus = explain_part(ReasonPart(code=ReasonCode.EXCUSED_RUN_BONUS, limit=3, longest=longest))
        assert bonus == "cộng điểm: không có đảng viên nào vắng có lý do quá 3 buổi liên tiếp", bonus
        met = explain_part(ReasonPart(code=ReasonCode.ATTENDANCE_CHECK_MET, rate=0.95, longest=longest))
        assert met == "tỷ lệ dự 95%, không ai vắng không lý do, không ai vắng hai buổi liên tiếp", met
    bonus = explain_part(ReasonPart(code=ReasonCode.EXCUSED_RUN_BONUS, limit=3, longest=2))
    assert bonus == "cộng điểm: không có đảng viên nào vắng có lý do quá 3 buổi liên tiếp (dài nhất 2 buổi)"
    met = explain_part(ReasonPart(code=ReasonCode.ATTENDANCE_CHECK_MET, rate=0.95, longest=3))
    assert met == "tỷ lệ dự 95%, không ai vắng không lý do, vắng liên tiếp dài nhất 3 buổi"


def test_a_roster_on_which_nobody_counts_reads_naturally() -> None:
    said = explain_part(ReasonPart(code=ReasonCode.NOBODY_EXPECTED))
    assert said == "chưa có đảng viên nào trong danh sách được tính"
    assert _(NO_ACCOUNT) == "không có tài khoản nào"


def test_a_single_cells_half_year_note_speaks_of_that_cell() -> None:
    every = half_year_no_rating("2026-H2", RUNNING, span=("2025-01", None))
    assert "Chi bộ nào" not in every, every
    assert "Điểm của chi bộ là trung bình điểm của 5 tháng đã qua (từ tháng 7/2026 đến tháng 11/2026)." in every
    assert "Nếu chi bộ đã sinh hoạt thường kỳ trong tháng này thì được tính thêm tháng này." in every
    set_up = half_year_no_rating("2026-H2", RUNNING, span=("2026-09", None))
    assert "Chi bộ nào" not in set_up, set_up
    assert "trung bình điểm của 3 tháng đã qua mà chi bộ đã có" in set_up
    assert "Nếu chi bộ đã sinh hoạt thường kỳ trong tháng này thì được tính thêm tháng này." in set_up
    # a committee's note is about its many cells, as before
    assert "Chi bộ nào đã sinh hoạt thường kỳ" in half_year_no_rating("2026-H2", RUNNING)
