"""The alert rules of DOMAIN.md as pure functions of the projection, the settings and the clock.

Each returns the alerts to raise now (possibly none). Whether an alert was raised before is not
their concern: the (rule, subject, recipient, period) key makes a repeated evaluation harmless. The
absence rules are the exception: one alert per run of absences (per crossing of the months) is a fact
about the member's whole announced history, which they read with the figures alerts were anchored on.
"""

from services.notifications.domain.rules.cells import (
    cell_without_committee,
    monitor_behind_quota,
    month_without_meeting,
    no_regular_meeting,
    quarter_without_thematic,
)
from services.notifications.domain.rules.common import (
    EARLY_DOCUMENT_KINDS,
    FINAL_DOCUMENT_KINDS,
    NOTICE_RULES,
    build_alerts,
    meeting_values,
)
from services.notifications.domain.rules.meetings import (
    RECORDS_DUE_AT_SQL,
    absence_added_period,
    change_id,
    documents_missing,
    meeting_change,
    meeting_due_times,
    meeting_notice,
    meeting_reminder,
    minutes_due_times,
    minutes_late,
    minutes_late_may_have_fired,
    minutes_not_late,
    notice_may_fire,
    records_due_at,
    records_lacking,
    unexcused_absences,
)
from services.notifications.domain.rules.members import (
    absence_history,
    absence_history_may_alert,
    absence_runs,
    pending_stretches,
    probation_check_day,
    probation_ending,
    probation_ends_on,
    unexcused_crossings,
)
from services.notifications.domain.rules.scores import (
    MEETING_SCORE_CHECK,
    meeting_rated_low,
    meeting_rated_low_may_alert,
    meeting_score_due,
    period_check_due,
    period_due,
    period_rated_low,
)

__all__ = [
    "EARLY_DOCUMENT_KINDS",
    "FINAL_DOCUMENT_KINDS",
    "MEETING_SCORE_CHECK",
    "NOTICE_RULES",
    "RECORDS_DUE_AT_SQL",
    "absence_added_period",
    "absence_history",
    "absence_history_may_alert",
    "absence_runs",
    "build_alerts",
    "cell_without_committee",
    "change_id",
    "documents_missing",
    "meeting_change",
    "meeting_due_times",
    "meeting_notice",
    "notice_may_fire",
    "meeting_rated_low",
    "meeting_rated_low_may_alert",
    "meeting_score_due",
    "meeting_reminder",
    "meeting_values",
    "minutes_due_times",
    "minutes_not_late",
    "minutes_late_may_have_fired",
    "minutes_late",
    "month_without_meeting",
    "monitor_behind_quota",
    "no_regular_meeting",
    "period_check_due",
    "period_due",
    "pending_stretches",
    "records_due_at",
    "records_lacking",
    "period_rated_low",
    "probation_check_day",
    "probation_ending",
    "probation_ends_on",
    "quarter_without_thematic",
    "unexcused_absences",
    "unexcused_crossings",
]
