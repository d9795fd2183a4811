"""Issue 11: each process has its own RabbitMQ user, allowed only its own queues and the exchanges it needs.

deploy/broker_users.sh (what `make up` runs) is applied to a vhost of this test's own with users of its own prefix;
then a process holding the gateway's or evaluation's credentials tries to consume meetings' RPC queue and to
publish facts where only meetings and the feeds may. Everything created here is deleted afterwards.
"""

import shutil
import stat
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aio_pika
import aiormq
import pytest

from shared.contracts import meetings_rpc
from shared.contracts.meetings_rpc import GetUnit
from shared.instances import OPS_EXCHANGE, InstanceBoard, InstanceIdentity, publish_status
from shared.ops.dead_letters import dead_letter_counts
from shared.ops.rpc import add_dead_letter_methods
from shared.rpc import RpcMethods, RpcRequest, answer
from shared.topology import (
    EVALUATION_FACTS,
    EVENTS_EXCHANGE,
    INGEST_EXCHANGE,
    MEETINGS_INGEST,
    RPC_MESSAGE_TTL_MS,
    declare_topology,
)
from tests.support.broker_users import SCRIPT_SECONDS, SLOW
from tests.support.running import eventually

ROOT = Path(__file__).parents[2]
NAMES = ("meetings", "evaluation", "notifications", "gateway", "feed", "listen")

pytestmark = [
    pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs the broker's rabbitmqctl"),
    SLOW,
]


@dataclass(frozen=True)
class BrokerUsers:
    """How the script was run here: its command line (to run it again) and its vhost, user prefix and output file."""

    command: list[str]
    vhost: str
    prefix: str
    out: Path

    def run(self) -> str:
        """Run the script again; its standard output."""
        return subprocess.run(self.command, check=True, capture_output=True, text=True, timeout=SCRIPT_SECONDS).stdout


def rabbitmqctl(*args: str, stdin: str | None = None) -> None:
    """One rabbitmqctl command; CalledProcessError when it fails."""
    subprocess.run(["rabbitmqctl", "-q", *args], input=stdin, check=True, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def broker_users(tmp_path_factory: pytest.TempPathFactory, amqp_url: str) -> Iterator[BrokerUsers]:
    """The script run once with a vhost that does not exist yet; vhost and users removed afterwards."""
    tag = uuid.uuid4().hex[:8]
    vhost, prefix = f"chibo-sec-{tag}", f"chibo-sec-{tag}-"
    out = tmp_path_factory.mktemp("broker") / "credentials.env"
    address = urlsplit(amqp_url)
    guest = address.username or "guest"
    try:
        # the vhost does not exist yet: the script creates it and lets guest declare the topology, as `make up` does
        command = [str(ROOT / "deploy" / "broker_users.sh"), "--vhost", vhost, "--admin", guest]
        command += ["--prefix", prefix, "--out", str(out)]
        command += ["--host", address.hostname or "127.0.0.1", "--port", str(address.port or 5672)]
        users = BrokerUsers(command, vhost, prefix, out)
        assert "already as wanted" not in users.run()
        yield users
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False, capture_output=True, timeout=60)
        for name in NAMES:
            subprocess.run(
                ["rabbitmqctl", "-q", "delete_user", f"{prefix}{name}"], check=False, capture_output=True, timeout=60
            )


@pytest.fixture(scope="module")
def credentials(broker_users: BrokerUsers) -> dict[str, str]:
    """{process: its AMQP URL} as the script wrote them, owner-only."""
    assert stat.S_IMODE(broker_users.out.stat().st_mode) == 0o600
    urls = dict(line.split("=", 1) for line in broker_users.out.read_text().splitlines() if line)
    return {name: urls[f"CHIBO_AMQP_URL_{name.upper()}"] for name in NAMES}


@pytest.fixture(scope="module")
async def topology(credentials: dict[str, str]) -> AsyncIterator[dict[str, str]]:
    """Each service declares what it declares at start, with its own credentials (this is their positive check)."""
    await declare_topology(credentials["meetings"], [MEETINGS_INGEST])
    await declare_topology(credentials["evaluation"], [EVALUATION_FACTS])
    await declare_topology(credentials["feed"])
    for service in ("meetings", "evaluation"):
        connection = await aio_pika.connect(credentials[service])
        channel = await connection.channel()
        await channel.declare_queue(f"{service}.rpc", durable=True, arguments={"x-message-ttl": RPC_MESSAGE_TTL_MS})
        await connection.close()
    yield credentials


async def refused(url: str, action: str, target: str, routing_key: str = "meeting.scheduled.v1") -> bool:
    """Whether the broker refuses `action` (consume | publish | declare) on `target` for the user of `url`."""
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        try:
            if action == "consume":
                queue = await channel.get_queue(target, ensure=False)
                await queue.consume(lambda message: None)  # type: ignore[arg-type, return-value]
            elif action == "publish":
                exchange = await channel.get_exchange(target, ensure=False)
                await exchange.publish(aio_pika.Message(b"{}"), routing_key=routing_key)
            else:
                await channel.declare_queue(target, durable=True, arguments={"x-message-ttl": RPC_MESSAGE_TTL_MS})
        except aiormq.exceptions.ChannelAccessRefused:
            return True
        return False
    finally:
        await connection.close()


@pytest.mark.parametrize(
    ("who", "action", "target"),
    [
        ("gateway", "consume", "meetings.rpc"),
        ("evaluation", "consume", "meetings.rpc"),
        ("notifications", "consume", "meetings.rpc"),
        ("gateway", "consume", "meetings.ingest"),
        ("evaluation", "consume", "meetings.ingest"),
        ("gateway", "declare", "meetings.rpc"),
        ("evaluation", "declare", "meetings.rpc"),
        ("gateway", "publish", EVENTS_EXCHANGE),
        ("gateway", "publish", INGEST_EXCHANGE),
        ("evaluation", "publish", INGEST_EXCHANGE),
        ("feed", "publish", EVENTS_EXCHANGE),
        ("feed", "consume", "meetings.rpc"),
        ("evaluation", "publish", EVENTS_EXCHANGE),  # a meetings fact on chibo.events: not evaluation's type
        ("notifications", "publish", EVENTS_EXCHANGE),
        # the external listeners' login: its own server-named queues on chibo.events, nothing else (trial: the demo's
        # only other login, the feed's, could not even declare a listener's queue)
        ("listen", "publish", INGEST_EXCHANGE),
        ("listen", "publish", EVENTS_EXCHANGE),
        ("listen", "publish", ""),  # the default exchange: straight into a service's queue
        ("listen", "consume", "meetings.ingest"),
        ("listen", "consume", "meetings.rpc"),
        ("listen", "consume", "evaluation.facts"),
        ("listen", "declare", "meetings.rpc"),
    ],
)
async def test_another_processs_credentials_are_refused(
    topology: dict[str, str], who: str, action: str, target: str
) -> None:
    assert await refused(topology[who], action, target)


@pytest.mark.parametrize(
    ("who", "action", "target"),
    [
        ("meetings", "consume", "meetings.rpc"),
        ("meetings", "consume", "meetings.ingest"),
        ("meetings", "publish", EVENTS_EXCHANGE),
        ("evaluation", "consume", "evaluation.rpc"),
        ("feed", "publish", INGEST_EXCHANGE),
        ("gateway", "publish", ""),  # the default exchange: its RPC requests
    ],
)
async def test_each_process_may_do_its_own_work(topology: dict[str, str], who: str, action: str, target: str) -> None:
    assert not await refused(topology[who], action, target)


async def test_the_listener_login_hears_chibo_events_on_a_queue_of_its_own(topology: dict[str, str]) -> None:
    """What docs/examples/listener.py does with CHIBO_AMQP_URL_LISTEN: a server-named exclusive queue bound to
    chibo.events receives a score event; binding it to any other exchange is refused."""
    connection = await aio_pika.connect(topology["listen"])
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True)
        assert queue.name.startswith("amq.gen-")
        await queue.bind(EVENTS_EXCHANGE, routing_key="score.#")
        assert not await refused(topology["evaluation"], "publish", EVENTS_EXCHANGE, "score.cell.updated.v1")
        message = await eventually(lambda: queue.get(fail=False), timeout=30)
        assert message.routing_key == "score.cell.updated.v1"
        for exchange in (INGEST_EXCHANGE, OPS_EXCHANGE):
            with pytest.raises(aiormq.exceptions.ChannelAccessRefused):
                await queue.bind(exchange, routing_key="#")
            channel = await connection.channel()
            queue = await channel.declare_queue(exclusive=True)
    finally:
        await connection.close()


async def test_each_service_publishes_only_its_own_types_on_the_events_exchange(topology: dict[str, str]) -> None:
    assert not await refused(topology["evaluation"], "publish", EVENTS_EXCHANGE, "score.meeting.updated.v1")
    assert not await refused(topology["evaluation"], "publish", EVENTS_EXCHANGE, "framework.adopted.v1")  # internal
    assert await refused(topology["meetings"], "publish", EVENTS_EXCHANGE, "framework.adopted.v1")
    assert not await refused(topology["notifications"], "publish", EVENTS_EXCHANGE, "notification.delivered.v1")
    assert not await refused(topology["meetings"], "publish", EVENTS_EXCHANGE, "ingest.rejected.v1")
    assert await refused(topology["meetings"], "publish", EVENTS_EXCHANGE, "score.meeting.updated.v1")


async def test_a_request_cannot_claim_another_users_identity(topology: dict[str, str]) -> None:
    """evaluation may reach amq.default (for its RPC replies), so it can drop a message into meetings.rpc; meetings
    answers only requests whose user_id is the gateway's, and the broker refuses a user_id that is not the login."""
    gateway_user = urlsplit(topology["gateway"]).username
    connection = await aio_pika.connect(topology["evaluation"])
    try:
        channel = await connection.channel()
        with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed):
            message = aio_pika.Message(b'{"method": "get_unit", "params": {}}', user_id=gateway_user)
            await channel.default_exchange.publish(message, routing_key="meetings.rpc")
    finally:
        await connection.close()
    connection = await aio_pika.connect(topology["gateway"])
    try:
        channel = await connection.channel()
        message = aio_pika.Message(b'{"method": "get_unit", "params": {}}', user_id=gateway_user)
        await channel.default_exchange.publish(message, routing_key="meetings.rpc")
    finally:
        await connection.close()


async def test_a_service_answers_only_the_allowed_callers() -> None:
    async def get_unit(request: GetUnit) -> dict[str, Any]:
        return {"id": request.unit_id, "name": "Chi bộ", "kind": "cell", "ancestors": [request.unit_id]}

    methods = RpcMethods("meetings")
    methods.add(GetUnit, get_unit)
    request = RpcRequest(method="get_unit", params={"unit_id": "u1"})
    allowed = ["chibo-gateway"]
    assert (await answer(request, methods, caller="chibo-gateway", allowed_callers=allowed))["ok"]
    for caller in ("chibo-evaluation", None):
        reply = await answer(request, methods, caller=caller, allowed_callers=allowed)
        assert reply["ok"] is False and reply["error"]["code"] == "forbidden"


async def test_a_service_works_its_own_dead_letters_and_the_gateway_sees_only_their_depth(
    topology: dict[str, str],
) -> None:
    """Why the operator endpoints ask the owning service (shared/ops/rpc.py): meetings' user may read, replay and purge
    meetings.ingest.dlq; the gateway's may not read it, yet sees its depth (a passive declare) for the health page."""
    dead = MEETINGS_INGEST.dead_letter_queue
    connection = await aio_pika.connect(topology["meetings"])
    try:
        channel = await connection.channel(publisher_confirms=True)
        await channel.default_exchange.publish(
            aio_pika.Message(
                b'{"specversion": "1.0", "id": "evt-dead"}', headers={"x-first-death-queue": MEETINGS_INGEST.name}
            ),
            routing_key=dead,
        )
    finally:
        await connection.close()
    methods = RpcMethods("meetings")
    add_dead_letter_methods(methods, meetings_rpc.OPS, connect=lambda: aio_pika.connect(topology["meetings"]))
    listed = await answer(RpcRequest(method="list_dead_letters", params={"queue": dead}), methods)
    assert listed["ok"] and [item["event_id"] for item in listed["result"]["items"]] == ["evt-dead"]

    gateway = await aio_pika.connect(topology["gateway"])
    try:
        assert (await dead_letter_counts(gateway, [dead]))[dead] == 1
    finally:
        await gateway.close()
    assert await refused(topology["gateway"], "consume", dead)

    replayed = await answer(RpcRequest(method="replay_dead_letters", params={"queue": dead}), methods)
    assert replayed["ok"] and replayed["result"]["replayed"] == 1
    purged = await answer(RpcRequest(method="purge_dead_letters", params={"queue": dead}), methods)
    assert purged["ok"] and purged["result"]["purged"] == 0
    elsewhere = await answer(RpcRequest(method="list_dead_letters", params={"queue": "evaluation.facts.dlq"}), methods)
    assert elsewhere["error"]["code"] == "not_found" and elsewhere["error"]["field"] == "queue"


async def test_a_rerun_leaves_users_in_sync_alone_and_repairs_what_drifted(
    broker_users: BrokerUsers, topology: dict[str, str]
) -> None:
    """`make up` on a system already up: one export of the broker's definitions finds every user as wanted, and the
    users are left alone (no re-keying: their URLs stay); a changed password or topic permission is set back."""
    written = broker_users.out.read_text()
    assert "already as wanted" in broker_users.run()
    assert broker_users.out.read_text() == written

    feed, evaluation = f"{broker_users.prefix}feed", f"{broker_users.prefix}evaluation"
    rabbitmqctl("change_password", feed, stdin="another")
    rabbitmqctl("set_topic_permissions", "-p", broker_users.vhost, evaluation, EVENTS_EXCHANGE, ".*", ".*")
    assert await refused(topology["evaluation"], "publish", EVENTS_EXCHANGE) is False  # the drift is real
    assert "already as wanted" not in broker_users.run()
    assert sorted(broker_users.out.read_text().splitlines()) == sorted(written.splitlines())
    assert await refused(topology["evaluation"], "publish", EVENTS_EXCHANGE)
    assert not await refused(topology["feed"], "publish", INGEST_EXCHANGE)  # the kept password is the broker's again
    assert "already as wanted" in broker_users.run()


async def test_each_service_sends_its_heartbeat_and_the_gateway_reads_them(topology: dict[str, str]) -> None:
    """shared.instances with the scripts' users: a service declares chibo.ops and publishes its status; the gateway
    declares its exclusive status queue, binds it and reads the heartbeat (and may not publish one itself)."""
    board = InstanceBoard(window_seconds=60)
    gateway = await aio_pika.connect_robust(topology["gateway"])
    try:
        await board.listen(gateway, owner="gateway")
        meetings = await aio_pika.connect_robust(topology["meetings"])
        try:
            await publish_status(meetings, InstanceIdentity("meetings").status("ok", []), ttl_seconds=30)
        finally:
            await meetings.close()
        await eventually(lambda: "meetings" in board.services(), timeout=30)
        assert board.view("meetings")[0] == "ok"
        await board.close()
    finally:
        await gateway.close()
    assert await refused(topology["gateway"], "publish", OPS_EXCHANGE, "status.meetings")
