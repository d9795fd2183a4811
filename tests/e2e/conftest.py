"""What the end-to-end modules share: the whole system as processes, once per module."""

from collections.abc import Iterator

import pytest

from tests.support.env import fresh_database
from tests.support.system import RunningSystem, running_system


@pytest.fixture(scope="module")
def system(amqp_url: str, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    """The four services and the mail sink, started once for this module."""
    with (
        fresh_database(database_url) as own_database,
        running_system(amqp_url=amqp_url, database_url=own_database, workdir=tmp_path_factory.mktemp("system")) as s,
    ):
        yield s
