"""Settings of the meetings service; the only module that reads the environment."""

from shared.config import ServiceSettings, days_covering


class Settings(ServiceSettings):
    """Meetings settings: CHIBO_* variables on top of the shared ones."""

    http_port: int = 8101
    hold_timeout_seconds: float = 86400.0
    """How long an event waits for its referent before it is rejected."""
    hold_sweep_seconds: float = 60.0
    """How often the background task looks for expired held events."""
    ingest_group_max: int = 128
    """Most single-event deliveries of meetings.ingest judged as one group (shared.group_commit)."""
    ingest_group_window_seconds: float = 0.005
    """How long an idle group commit waits after a delivery for others to join it."""
    ingest_group_concurrency: int = 2
    """Groups of single events judged at once (each its own transactions; events sharing a cell, member or meeting
    never in two at once, and in their order): the next group gathers and runs while the previous one commits."""
    processed_retention_days: int | None = None
    """Meetings' inbox is the public ingest's memory: CONTRACT.md's (`source`, `id`) identifies an event with no time
    limit (sent again it is `duplicate`; another event under it is refused naming `id`), so it is never pruned unless
    an operator sets CHIBO_PROCESSED_RETENTION_DAYS, knowing a copy sent later is then judged anew."""

    def processed_retention_floor_days(self) -> tuple[int, str]:
        """Besides the broker's redelivery, a held event is applied up to `hold_timeout_seconds` after it came, and a
        copy sent meanwhile must still be answered `duplicate` once it is."""
        base, why = super().processed_retention_floor_days()
        held = days_covering(self.hold_timeout_seconds)
        if held <= base:
            return base, why
        return held, "as a held event is applied up to CHIBO_HOLD_TIMEOUT_SECONDS after it came"
