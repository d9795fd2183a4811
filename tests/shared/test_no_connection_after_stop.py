"""A service's background jobs never open the broker's connection again once the broker has stopped.

FastStream's `broker.connect()` opens a new connection when the broker has none, as after `broker.stop()`. The
heartbeat (shared.instances.keep_reporting), the bindings keeper and a /metrics scrape asked for the broker's own
connection that way, so one that ran between the broker's stop and the background tasks' cancellation opened a robust
connection that nobody closed: it reconnected for the rest of the process, and once its virtual host was deleted
logged `broker_reconnect_failed` every five seconds into later tests (a full run's
tests/shared/test_broker_close_lines.py read such a line of tests/ops/test_traces.py's services first).

The meetings service runs in this process on a virtual host of its own, its heartbeat and bindings check every
20 ms so that one always falls in that window; the vhost's deletion fails (tests.support.env.isolated_vhost) when a
connection of this process still reconnects to it."""

from pathlib import Path

from services.meetings.bootstrap import create_app
from services.meetings.config import Settings
from tests.support.connections import left_open
from tests.support.env import fresh_database, isolated_vhost
from tests.support.running import free_port, running_app
from tests.support.serving import entered


async def test_a_stopped_service_leaves_no_broker_connection_behind(infra: tuple[str, str], tmp_path: Path) -> None:
    async with entered(isolated_vhost(infra[0])) as amqp_url, entered(fresh_database(infra[1])) as database_url:
        vhost = amqp_url.rsplit("/", 1)[1]
        for _ in range(3):  # the window is a race: three stops make a leak (nearly) certain before the fix
            settings = Settings(
                amqp_url=amqp_url,
                database_url=database_url,
                http_port=free_port(),
                status_every_seconds=0.02,
                bindings_check_seconds=0.02,
            )
            async with running_app(create_app(settings), port=settings.http_port):
                pass
            assert left_open(vhost) == []
