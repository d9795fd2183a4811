"""Typed settings shared by every service; each service's config.py extends these."""

from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Connection and runtime settings common to all services, read from CHIBO_* variables."""

    model_config = SettingsConfigDict(env_prefix="CHIBO_", env_file=".env", extra="ignore")

    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/chibo"
    db_pool_min: int = 1
    db_pool_max: int = 10
    log_level: str = "INFO"
    log_json: bool | None = None
    prefetch: int = 32
    delivery_limit: int = 5
    graceful_timeout: float = 15.0
    rpc_timeout: float = 5.0
    rpc_callers: list[str] = []
    """AMQP users whose requests on this service's RPC queue are answered, judged by the message's `user_id`, which
    RabbitMQ checks against the publisher's login (issue 11); empty answers any user allowed on the queue."""
    relay_batch_size: int = 1000
    """Outbox rows the relay takes at a time; consecutive rows of one type among them go out as one batch message."""
    relay_poll_seconds: float = 2.0
    outbox_retention_days: int = 7
    statistics_poll_seconds: float = 10.0
    """How often the service checks its tables for ones grown or churned past the analyze threshold (0: never;
    shared/statistics.py)."""
    statistics_analyze_fraction: float = 0.5
    statistics_analyze_min_rows: int = 1000
    """A table is analyzed once rows changed since its last analyze exceed min_rows + fraction × its planned rows. The
    planner scales a table's analyzed row count by its pages now, so what matters is the first analyze of a grown table
    (none, or one of it empty); later ones mostly refresh value distributions, and each costs up to 0.5-0.6 s."""
    bindings_check_seconds: float = 30.0
    """How often a service declares the shared exchanges and binds its consumer queues again (also at once when its
    broker connection is restored): an exchange deleted and declared again has lost its bindings, and its events
    would go to chibo.unrouted until then. Idempotent and cheap (one channel, a few dozen declarations);
    0: only at start."""
    http_host: str = "127.0.0.1"
    http_port: int = 8100
