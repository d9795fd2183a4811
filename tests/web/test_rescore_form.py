"""The re-score form's months, judged by the API's own rule (shared.periods.span_problem) and said in Vietnamese:
a first month not begun says so (the user trial read a vague "hệ thống không chấp nhận giá trị này"); a last month
still ahead is taken, the job re-scoring up to now."""

from datetime import datetime

from services.gateway.web.pages.rescore import failure_reason, progress_of, span_errors
from shared.periods import VIETNAM_TZ

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=VIETNAM_TZ)


def test_a_first_month_not_begun_says_there_is_nothing_to_rescore_yet() -> None:
    assert span_errors("2030-01", None, NOW) == {
        "period_from": "Từ kỳ: tháng 1/2030 chưa bắt đầu nên chưa có gì để chấm lại. Vui lòng chọn một tháng từ "
        "tháng 12/2026 trở về trước."
    }
    # a last month not begun either is said with it (h368: no page offers or shows it)
    assert span_errors("2027-01", "2027-03", NOW).keys() == {"period_from", "period_to"}
    # a last month more than two years ahead is said with it (it was said only once the first was corrected)
    assert span_errors("2030-01", "2030-03", NOW).keys() == {"period_from", "period_to"}


def test_a_last_month_before_the_first_names_the_last_month() -> None:
    assert span_errors("2026-06", "2026-02", NOW) == {"period_to": "Đến kỳ: không được trước kỳ bắt đầu."}


def test_a_span_of_history_up_to_the_running_month_is_taken_and_one_reaching_past_it_refused() -> None:
    """A trial (h368) queued 2026-01..2027-06 in December 2026, a month no page offers or shows."""
    assert span_errors("2026-12", "2027-06", NOW) == {
        "period_to": "Đến kỳ: tháng 6/2027 nằm ngoài khoảng kỳ có thể xem vì chưa bắt đầu. Vui lòng chọn một tháng từ "
        "tháng 12/2026 trở về trước."
    }
    assert span_errors("2026-12", "2026-12", NOW) == {}
    assert span_errors("2026-01", "2026-11", NOW) == {}
    assert span_errors("2026-01", None, NOW) == {}


def test_months_outside_what_the_system_holds_are_named_in_vietnamese() -> None:
    """A trial sent `period_to=9999-12` and was taken to a progress page saying only "Bị lỗi"."""
    assert span_errors("2026-01", "9999-12", NOW) == {
        "period_to": "Đến kỳ: tháng 12/9999 cách hiện tại hơn hai năm. Vui lòng chọn một tháng từ tháng 12/2028 "
        "trở về trước."
    }
    assert span_errors("0001-01", "9999-12", NOW) == {
        "period_from": "Từ kỳ: tháng 1/0001 ở trước tháng 1/2000, tháng sớm nhất hệ thống lưu giữ. Vui lòng chọn "
        "một tháng từ tháng 1/2000 trở về sau.",
        "period_to": "Đến kỳ: tháng 12/9999 cách hiện tại hơn hai năm. Vui lòng chọn một tháng từ tháng 12/2028 "
        "trở về trước.",
    }


def test_a_first_month_not_begun_and_a_last_month_before_it_are_both_said() -> None:
    """The trial's `2027-01`..`2026-01` said only the last month's mistake; the API's one answer is still the first
    span_range_problems finds (span_range_problem)."""
    assert span_errors("2027-01", "2026-01", NOW) == {
        "period_to": "Đến kỳ: không được trước kỳ bắt đầu.",
        "period_from": "Từ kỳ: tháng 1/2027 chưa bắt đầu nên chưa có gì để chấm lại. Vui lòng chọn một tháng từ "
        "tháng 12/2026 trở về trước.",
    }


def test_a_failed_job_says_why_in_vietnamese_never_the_exception() -> None:
    refused = {"status": "failed", "period_to": "9999-12", "error_field": "period_to", "error_code": "too_far_ahead"}
    assert failure_reason(refused) == (
        "Việc chấm lại không được thực hiện: Đến kỳ (12/9999) nằm ngoài khoảng tháng có thể chấm lại. Vui lòng tạo "
        "lần chấm lại mới với các tháng từ tháng 1/2000 đến tháng này."
    )
    internal = {"status": "failed", "error": "the job stopped on an internal error", "error_code": "internal"}
    assert failure_reason(internal) == (
        "Việc chấm lại bị dừng do lỗi; cán bộ vận hành xem được chi tiết trong nhật ký hệ thống."
    )
    assert progress_of(refused | {"cells_total": None})["reason"] == failure_reason(refused)
    assert progress_of({"status": "running", "cells_total": 3, "cells_done": 1})["reason"] == ""
