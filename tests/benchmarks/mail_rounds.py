"""Mails per second through the delivery rounds: personal alerts (one mail each) sent by `DeliveryRounds` and
`SmtpSender` to the demo mail sink (deploy.mailsink, a process of its own, as `make up` runs it) and recorded in a
throwaway database.

    .venv/bin/python -m tests.benchmarks.mail_rounds [--mails 2000] [--repeat 3] [--connections 16]

Prints, per run, the mails sent, the wall seconds from the first claim to the last outcome committed, mails/s and the
CPU seconds of this process (the sender's part of the machine). Run it in two trees to compare the mail path.
"""

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from services.notifications.bootstrap import SERVICE_DIR
from services.notifications.channels import SmtpSender
from services.notifications.config import Settings
from services.notifications.domain import settings as r
from services.notifications.domain.model import Alert, Recipient
from services.notifications.handlers.alerts import raise_alerts
from services.notifications.handlers.deliveries import DeliveryRounds
from services.notifications.unit_of_work import NotificationsUnitOfWork, uow_factory
from shared.db import create_pool
from shared.logs import configure_logging
from shared.periods import VIETNAM_TZ
from shared.runtime import migrate
from tests.support.env import DEFAULT_AMQP_URL, DEFAULT_DATABASE_URL, fresh_database
from tests.support.running import free_port

ROOT = Path(__file__).parents[2]


def probation(count: int, run: int) -> Alert:
    """A probation-ending alert to `count` members, each greeted by name: one mail each."""
    recipients = tuple(
        Recipient(id=f"bench-{run}-{n}", kind="person", name=f"Nguyễn Văn {n}", emails=(f"dv{run}.{n}@example.vn",))
        for n in range(count)
    )
    return Alert(
        rule=r.PROBATION_ENDING,
        subject_id=f"bench-subject-{run}",
        period="2026-12-20",
        recipients=recipients,
        cell_id=None,
        values={"cell": "Chi bộ thôn Đông Hòa", "member": "Võ Thị Hạnh", "ends_on": date(2026, 12, 20)},
    )


async def one_run(settings: Settings, *, mails: int, run: int) -> dict[str, float]:
    """Queue `mails` mails, then send them all in rounds; the figures of the sending."""
    pool = await create_pool(settings.database_url, schema="notifications")
    now = datetime.now(VIETNAM_TZ)
    try:
        async with NotificationsUnitOfWork(pool, settings=settings, clock=lambda: now) as uow:
            await raise_alerts([probation(mails, run)], uow)
            await uow.commit()
        sender = SmtpSender(settings)
        later = now + timedelta(minutes=1)
        rounds = DeliveryRounds(uow_factory(pool, settings=settings, clock=lambda: later), {"email": sender})
        started, cpu = time.monotonic(), time.process_time()
        try:
            while await rounds.step():
                pass
            await rounds.drain()
        finally:
            await sender.aclose()
        seconds, cpu_seconds = time.monotonic() - started, time.process_time() - cpu
        delivered = await pool.fetchval(
            "SELECT count(*) FROM delivery WHERE channel = 'email' AND status = 'delivered'"
            " AND notification_id IN (SELECT id FROM notification WHERE subject_id = $1)",
            f"bench-subject-{run}",
        )
    finally:
        await pool.close()
    return {
        "mails": delivered,
        "seconds": round(seconds, 3),
        "mails_per_s": round(delivered / seconds, 1),
        "cpu_s": round(cpu_seconds, 3),
        "commits": getattr(rounds, "commits", None),
    }


def main() -> None:
    """Run the benchmark and print one JSON line per run."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    configure_logging(service="notifications", level="WARNING", json=True)
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp, fresh_database(DEFAULT_DATABASE_URL) as dsn:
        sink = subprocess.Popen(
            [sys.executable, "-m", "deploy.mailsink", "--port", str(port), "--dir", tmp],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(1.5)  # the sink binds its port
            settings = Settings(
                amqp_url=DEFAULT_AMQP_URL,
                database_url=dsn,
                smtp_port=port,
                smtp_connections=args.connections,
                default_person_channels=["email", "inbox"],
                secret_key="khóa-niêm-phong-của-bài-đo",
            )
            asyncio.run(migrate(settings, schema="notifications", service_dir=SERVICE_DIR))
            for run in range(args.repeat):
                print(json.dumps(asyncio.run(one_run(settings, mails=args.mails, run=run))), flush=True)
        finally:
            sink.terminate()
            sink.wait(timeout=30)


if __name__ == "__main__":
    main()
