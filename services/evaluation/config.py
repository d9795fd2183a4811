"""Settings of the evaluation service; the only module that reads the environment."""

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    """Evaluation: port, roll-up sizes and background jobs (CHIBO_* variables)."""

    http_port: int = 8102
    rollup_weakest: int = 5
    """How many weakest cells a committee roll-up lists."""
    ranking_max_limit: int = 500
    period_close_poll_seconds: float = 300.0
    """How often the month-close job looks for a month that ended (Vietnam time)."""
    period_close_batch: int = 200
    """Cells recomputed per transaction by the month-close job."""
    subtree_refresh_poll_seconds: float = 2.0
    """How often noted org-tree changes (`subtree_change`) are applied to the roll-ups' subtrees, so a read finds
    them done instead of applying a bulk load's thousands itself within the RPC's timeout (one cheap look if none)."""
    rescore_poll_seconds: float = 10.0
    """How often the rescoring worker looks for queued jobs (the RPC also wakes it)."""
    rescore_stale_seconds: float = 300.0
    """A running job whose progress has not moved for this long is taken over (its worker stopped)."""
    scoring_batch: int = 500
    """Dirty-cell notes the scoring worker claims per round (with every other note of their cells)."""
    scoring_lag_alert_seconds: float = 300.0
    """/health says `degraded` while the oldest dirty-cell note has waited longer than this (s)."""
    scoring_workers: int = 2
    """Scoring rounds side by side in a process, while lightly loaded (one under load or while bulk batches flow): a
    fact committed while a round scores is taken by the next worker instead of waiting for that round to end."""
    recheck_poll_seconds: float = 30.0
    """How often meetings whose score waits on a moment now past (a final documents' window over) are noted dirty."""
    scoring_poll_seconds: float = 1.0
    """How often the scoring worker looks for notes it was not woken for (another replica's facts)."""
    scoring_settle_seconds: float = 0.05
    """A coalescing scoring round (bulk batches flow, or the fact consumer is under load) starts once the consumer
    has had no delivery for this long ..."""
    scoring_max_wait_seconds: float = 0.25
    """... or after waiting this long after single events (bounds the event-to-score latency under load; lightly
    loaded, a round starts as soon as no delivery is in flight, at once when idle) ..."""
    scoring_bulk_wait_seconds: float = 3.0
    """... or this long while bulk batches flow (64 KiB and more; each batch a round waits for is one fewer
    republication)."""
    scoring_busy_share: float = 0.5
    """The fact consumer is under load (single events' rounds coalesce) when it was busy at least this share of the
    time since the previous round began."""
    period_hold_quiet_seconds: float = 10.0
    """While batch messages flow (one applied less than this long ago), a cell with no meeting in a year its facts
    touch has that year's periods held back, not first published Poor before its meetings arrive in the next batches
    (issue 12): they are published once the batches stop for this long, or with its meetings."""
    period_hold_seconds: float = 120.0
    """A held cell's periods are looked at again after at most this long (held again while batches still flow), so
    no held note waits past /health's lag alert, and another replica takes them if this process is gone."""
