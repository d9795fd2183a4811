"""The re-score form's months, judged by the API's own rule (shared.periods.span_problem) and said in Vietnamese:
a first month not begun says so (the user trial read a vague "hệ thống không chấp nhận giá trị này"); a last month
still ahead is taken, the job re-scoring up to now."""

from datetime import datetime

from services.gateway.web.pages.rescore import span_errors
from shared.periods import VIETNAM_TZ

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=VIETNAM_TZ)


def test_a_first_month_not_begun_says_there_is_nothing_to_rescore_yet() -> None:
    assert span_errors("2030-01", None, NOW) == {
        "period_from": "Từ tháng: tháng 1/2030 chưa bắt đầu nên chưa có gì để chấm lại. Vui lòng chọn một tháng từ "
        "tháng 12/2026 trở về trước."
    }
    assert span_errors("2030-01", "2030-03", NOW).keys() == {"period_from"}


def test_a_last_month_before_the_first_names_the_last_month() -> None:
    assert span_errors("2026-06", "2026-02", NOW) == {"period_to": "Đến tháng: không được trước tháng bắt đầu."}


def test_a_span_of_history_is_taken_even_when_its_last_month_is_still_ahead() -> None:
    assert span_errors("2026-12", "2027-06", NOW) == {}
    assert span_errors("2026-01", "2026-11", NOW) == {}
    assert span_errors("2026-01", None, NOW) == {}
