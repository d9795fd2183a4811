"""A process that stops cleanly is `stopped` on the gateway's board as its shutdown begins, however slow a new
broker login is (a loaded machine).

A full `make test` failed tests/e2e/test_instances.py: the second evaluation process, stopped by SIGTERM, never read
`stopped`. A process said so only last, after its broker had stopped, on a broker connection of its own opened for
that one message (a new login: a dozen round trips) within a fixed 3 s, the message expiring 1.5 s later with the
test's heartbeat period; on a loaded machine it was given up, and the process stayed `missing` for good. It now says
so on its broker's open connection as its shutdown begins (the connection of its last heartbeat), and only when that
failed, last, on a connection of its own.

The meetings service runs in this process on a virtual host of its own, its broker reached through a proxy that,
once the service runs, holds every new connection for longer than a stop could wait (a new login never succeeds
in time); the board reads the heartbeats directly."""

from pathlib import Path

import aio_pika

from services.meetings.bootstrap import create_app
from services.meetings.config import Settings
from shared.instances import InstanceBoard
from tests.support.env import fresh_database, isolated_vhost
from tests.support.proxy import cuttable
from tests.support.running import eventually, free_port, running_app
from tests.support.serving import entered

SLOW_LOGIN = 30.0
"""Seconds a new broker connection is held once the service runs: longer than any stop waits for one."""


async def test_a_clean_stop_is_on_the_board_though_a_new_login_is_slow(infra: tuple[str, str], tmp_path: Path) -> None:
    async with entered(isolated_vhost(infra[0])) as amqp_url, entered(fresh_database(infra[1])) as database_url:
        connection = await aio_pika.connect_robust(amqp_url)
        board = InstanceBoard(window_seconds=600)  # only what the process says makes it `stopped`, not the window
        await board.listen(connection, owner="test-h227")
        try:
            async with cuttable(amqp_url) as proxy:
                settings = Settings(
                    amqp_url=proxy.url(amqp_url),
                    database_url=database_url,
                    http_port=free_port(),
                    status_every_seconds=0.5,
                    graceful_timeout=5,
                )

                def states() -> list[str]:
                    return [instance["state"] for instance in board.view("meetings")[1]]

                async with running_app(create_app(settings), port=settings.http_port):
                    await eventually(lambda: states() == ["reporting"], timeout=120)
                    proxy.connect_delay = SLOW_LOGIN
                # the app has stopped: it said so while its broker's connection was open
                await eventually(lambda: states() == ["stopped"], timeout=60)
                assert board.view("meetings")[0] == "down"
        finally:
            await board.close()
            await connection.close()
