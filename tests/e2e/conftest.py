"""What the end-to-end modules share: the whole system as processes, once per module."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.env import fresh_database
from tests.support.system import RunningSystem, running_system

SLOW = 900
"""Seconds an end-to-end test may take, the start of its system included (five processes, each migrating and
connecting; 100-150 s on a loaded shared machine), and issue-token's own run: the suite's 300 s stopped
test_instances under load before it checked anything."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The end-to-end tests' bound: a module's system starts inside whichever test comes first."""
    for item in items:
        if Path(str(item.path)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.timeout(SLOW))


@pytest.fixture(scope="module")
def system(amqp_url: str, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    """The four services and the mail sink, started once for this module."""
    with (
        fresh_database(database_url) as own_database,
        running_system(amqp_url=amqp_url, database_url=own_database, workdir=tmp_path_factory.mktemp("system")) as s,
    ):
        yield s
