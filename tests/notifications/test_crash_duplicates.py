"""A notifications process killed (kill -9) mid-round sends again, after its lease, only the mails that were in flight
at the kill, at most one per SMTP session (trial: 60 meeting.scheduled.v1, kill -9 1.5 s later, `make up`: 107 of
120 mails went out twice, same Message-ID, when the 120 s lease ran out; a round was recorded only once all its up to
1,000 deliveries had been sent). Against the real broker, database, service process and demo mail sink."""

import asyncio
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime
from email import message_from_bytes, policy
from email.utils import getaddresses
from pathlib import Path

import asyncpg
import pytest

from services.notifications.config import Settings
from services.notifications.domain.model import Recipient
from shared.periods import VIETNAM_TZ
from tests.notifications.fakes import Clock
from tests.notifications.test_shared_address import probation, raise_now
from tests.support.ids import random_id
from tests.support.running import free_port, stop_process
from tests.support.system import service_env

ROOT = Path(__file__).parents[2]
MAILS = 200
KILL_AFTER = 30
"""Mails the sink has received when the process is killed: the round (all MAILS leased at once) is mid-way."""
SESSIONS = 4
"""CHIBO_SMTP_CONNECTIONS of the process: mails in flight at once, the most a kill may send twice."""
LEASE_SECONDS = 4


def message_ids(directory: Path, to: set[str]) -> Counter[str]:
    """How many copies of each Message-ID the sink kept of the mails to addresses `to`: the process also sends what
    earlier tests left due in the test session's database, which are not this test's mails (CI: 263 for 200)."""
    found: Counter[str] = Counter()
    for path in directory.glob("*.eml"):
        try:
            mail = message_from_bytes(path.read_bytes(), policy=policy.compat32)
        except OSError:
            continue
        if {address.lower() for _, address in getaddresses(mail.get_all("To", []))} & to:
            found[str(mail["Message-ID"])] += 1
    return found


def spawn(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """The real notifications service process."""
    with log.open("ab") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "services.notifications", "serve"],
            cwd=ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )


def tail(log: Path) -> str:
    """The end of the process's log, for a failure's message."""
    return log.read_text(errors="replace")[-3000:]


async def wait_for(
    condition: Callable[[], Awaitable[bool]], what: str, *, process: subprocess.Popen[bytes], log: Path
) -> None:
    """Poll `condition()` until true (every 10 ms, for 3 minutes at most); fail naming `what` with the log's tail."""
    deadline = time.monotonic() + 180
    while not await condition():
        if process.poll() is not None:
            pytest.fail(f"notifications exited ({process.returncode}) before {what}:\n{tail(log)}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within 180 s:\n{tail(log)}")
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("lease_seconds", [LEASE_SECONDS, None], ids=["short lease", "service's lease"])
async def test_a_kill_mid_round_sends_again_at_most_the_mails_in_flight(
    pool: asyncpg.Pool,
    settings: Settings,
    sink: tuple[Path, int],
    amqp_url: str,
    database_url: str,
    tmp_path: Path,
    lease_seconds: int | None,
) -> None:
    """With the service's own 120 s lease too, the restarted process (on the same host and port) takes the killed
    one's leases at once (holders.DeliveryHolder): every mail is out well within the lease after the kill."""
    directory, smtp_port = sink
    recipients = [
        Recipient(id=random_id("dv"), kind="person", name=f"Nguyễn Văn {n}", emails=(f"{random_id('dv')}@example.vn",))
        for n in range(MAILS)
    ]
    # a personal text (each greeted by name): one mail per recipient, all due now, all leased by one round
    addresses = {email.lower() for recipient in recipients for email in recipient.emails}
    subject_id, clock = random_id("dv"), Clock(datetime.now(VIETNAM_TZ))
    assert await raise_now(pool, settings, clock, probation(recipients, subject_id)) == MAILS
    http_port, log = free_port(), tmp_path / "notifications.log"
    env = service_env(amqp_url, database_url, smtp_port) | {
        "CHIBO_HTTP_PORT": str(http_port),
        "CHIBO_SMTP_CONNECTIONS": str(SESSIONS),
    }
    if lease_seconds is not None:
        env["CHIBO_DELIVERY_LEASE_SECONDS"] = str(lease_seconds)
    process = spawn(env, log)

    async def received(count: int) -> bool:
        return sum(message_ids(directory, addresses).values()) >= count

    async def all_mailed() -> bool:
        return len(message_ids(directory, addresses)) >= MAILS

    async def all_recorded() -> bool:
        return bool(
            await pool.fetchval(
                "SELECT count(*) FROM notification n JOIN delivery d ON d.notification_id = n.id"
                " WHERE n.subject_id = $1 AND d.channel = 'email' AND d.status = 'delivered'",
                subject_id,
            )
            == MAILS
        )

    try:
        await wait_for(lambda: received(KILL_AFTER), f"{KILL_AFTER} mails", process=process, log=log)
        process.send_signal(signal.SIGKILL)  # kill -9 mid-round: the round leased all the mails at once
        process.wait(timeout=30)
        killed = time.monotonic()
        at_kill = sum(message_ids(directory, addresses).values())
        process = spawn(env, log)
        await wait_for(all_mailed, f"all {MAILS} mails", process=process, log=log)
        after_kill = time.monotonic() - killed
        await wait_for(all_recorded, "every delivery recorded", process=process, log=log)
    finally:
        stop_process(process)
    copies = message_ids(directory, addresses)
    twice = sum(count - 1 for count in copies.values() if count > 1)
    assert len(copies) == MAILS
    assert twice <= SESSIONS, f"{twice} mails sent twice after a kill with {at_kill} mails received"
    assert after_kill < 60, f"the killed process's mails were all out {after_kill:.0f} s after the kill"
