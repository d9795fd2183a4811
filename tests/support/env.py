"""Where the tests find RabbitMQ and PostgreSQL.

The URLs come from the environment and default to the local services. Where a Docker engine
answers and CHIBO_TEST_CONTAINERS=1, testcontainers starts throwaway ones instead.
"""

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"


def docker_available() -> bool:
    """True when a Docker engine (not just the client) answers."""
    if shutil.which("docker") is None:
        return False
    result = subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False)
    return result.returncode == 0


@contextmanager
def broker_and_database() -> Iterator[tuple[str, str]]:
    """Yield (amqp_url, database_url) for the test session."""
    if os.environ.get("CHIBO_TEST_CONTAINERS") == "1" and docker_available():
        from testcontainers.postgres import PostgresContainer
        from testcontainers.rabbitmq import RabbitMqContainer

        with RabbitMqContainer("rabbitmq:3.13-management") as rabbit, PostgresContainer("postgres:16") as pg:
            amqp = f"amqp://guest:guest@{rabbit.get_container_host_ip()}:{rabbit.get_exposed_port(5672)}/"
            dsn = pg.get_connection_url().replace("postgresql+psycopg2://", "postgresql://")
            yield amqp, dsn
        return
    yield (
        os.environ.get("CHIBO_TEST_AMQP_URL", DEFAULT_AMQP_URL),
        os.environ.get("CHIBO_TEST_DATABASE_URL", DEFAULT_DATABASE_URL),
    )
