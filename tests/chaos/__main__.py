"""`python -m tests.chaos [--cells N]`: the fault suite (`make chaos`; `--cells 20` is the short form CI runs).

A private RabbitMQ node, two fresh databases (the quiet run's and the faulty run's), the whole system as
processes for each; exits 1 when anything was lost, duplicated or dead-lettered, or the final states differ.
"""

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from tests.chaos.broker import private_broker
from tests.chaos.suite import backfill, compare, run_faulty, run_quiet
from tests.support.env import DEFAULT_DATABASE_URL, fresh_database
from tests.support.system import running_system

QUIET_ENV = {"CHIBO_LOG_LEVEL": "WARNING", "CHIBO_RELAY_POLL_SECONDS": "0.5"}


def main() -> int:
    """Run both passes and print one line per fault; the exit code says whether everything held."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cells", type=int, default=4400, help="cells of the province (about 23 events each)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for the system to go quiet")
    args = parser.parse_args()
    events = backfill(args.cells)
    print(f"chaos: {len(events)} events ({args.cells} cells), half by AMQP and half by HTTP", flush=True)
    started = time.monotonic()
    with private_broker() as broker, tempfile.TemporaryDirectory() as workdir:
        print(f"chaos: private RabbitMQ node {broker.node} on port {broker.port}", flush=True)
        with (
            fresh_database(DEFAULT_DATABASE_URL) as dsn,
            running_system(
                amqp_url=broker.add_vhost("quiet"),
                database_url=dsn,
                workdir=Path(workdir) / "quiet",
                extra_env=QUIET_ENV,
            ) as system,
        ):
            quiet = asyncio.run(run_quiet(system, system.env["CHIBO_AMQP_URL"], dsn, events, args.timeout))
        print(f"chaos: quiet run done in {time.monotonic() - started:.0f} s", flush=True)
        with (
            fresh_database(DEFAULT_DATABASE_URL) as dsn,
            running_system(
                amqp_url=broker.add_vhost("faulty"),
                database_url=dsn,
                workdir=Path(workdir) / "faulty",
                extra_env=QUIET_ENV,
            ) as system,
        ):
            lines, faulty, dead = asyncio.run(
                run_faulty(system, broker, system.env["CHIBO_AMQP_URL"], dsn, events, args.timeout)
            )
    for line in lines:
        print(line.line(), flush=True)
    differences = compare(quiet, faulty)
    bad = [line for line in lines if line.lost or line.duplicated]
    print(
        f"final state vs quiet run: {'identical' if not differences else 'DIFFERENT'}"
        f" ({len(quiet['scores'])} meeting scores, {len(quiet['periods'])} cell periods, {len(quiet['alerts'])} alerts,"
        f" {quiet['mails']} mails); dead letters {dead}; {time.monotonic() - started:.0f} s in all"
    )
    for difference in differences:
        print("  " + difference)
    checks = len(lines) + 2  # every fault's line, the final state, the dead letters
    failed = len(bad) + bool(differences) + bool(dead)
    print(f"chaos: {checks - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
