"""Settings of the evaluation service; the only module that reads the environment."""

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    """Evaluation: port and roll-up sizes (CHIBO_* variables)."""

    http_port: int = 8102
    rollup_weakest: int = 5
    """How many weakest cells a committee roll-up lists."""
    ranking_max_limit: int = 500
