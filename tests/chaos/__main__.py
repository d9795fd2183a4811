"""`python -m tests.chaos [--events N | --cells N]`: the fault suite (`make chaos`; `--cells 12` is the short form CI
runs; the default is the long form, at least 100,000 events).

A private RabbitMQ node, two fresh databases (the quiet run's and the faulty run's), the whole system as
processes for each; exits 1 when anything was lost, duplicated or dead-lettered, or the final states differ.
"""

import argparse
import asyncio
import math
import sys
import tempfile
import time
from pathlib import Path

from tests.chaos.broker import private_broker
from tests.chaos.suite import LANES, SINGLE_EVERY, backfill, compare, run_faulty, run_quiet
from tests.support.env import DEFAULT_DATABASE_URL, fresh_database
from tests.support.system import running_system

QUIET_ENV = {"CHIBO_LOG_LEVEL": "WARNING", "CHIBO_RELAY_POLL_SECONDS": "0.5"}


def cells_for(events: int) -> int:
    """The fewest cells whose backfill has at least `events` events."""
    per_cell = (len(backfill(200)) - len(backfill(100))) / 100
    cells = max(1, math.ceil((events - len(backfill(0))) / per_cell))
    while len(backfill(cells)) < events:
        cells += 1
    return cells


def main() -> int:
    """Run both passes and print one line per fault; the exit code says whether everything held."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000, help="events of the backfill, at least (the default)")
    parser.add_argument("--cells", type=int, help="cells of the province instead (about 23 events each)")
    parser.add_argument("--single-every", type=int, default=SINGLE_EVERY, help="every Nth batch one event per message")
    parser.add_argument("--lanes", type=int, default=LANES, help="batches in flight at once")
    parser.add_argument("--timeout", type=float, help="seconds to wait for the system to go quiet (default by size)")
    args = parser.parse_args()
    cells = args.cells if args.cells is not None else cells_for(args.events)
    events = backfill(cells)
    timeout = args.timeout if args.timeout is not None else 1800 + len(events) / 5
    print(
        f"chaos: {len(events)} events ({cells} cells), batches of 250 alternately by AMQP and HTTP,"
        f" every {args.single_every}th one event per message, {args.lanes} in flight; each run waits up to"
        f" {timeout:.0f} s to go quiet",
        flush=True,
    )
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
            quiet, quiet_figures = asyncio.run(
                run_quiet(system, system.env["CHIBO_AMQP_URL"], dsn, events, timeout, args.single_every, args.lanes)
            )
        print("chaos: " + quiet_figures.line(), flush=True)
        with (
            fresh_database(DEFAULT_DATABASE_URL) as dsn,
            running_system(
                amqp_url=broker.add_vhost("faulty"),
                database_url=dsn,
                workdir=Path(workdir) / "faulty",
                extra_env=QUIET_ENV,
            ) as system,
        ):
            lines, faulty, dead, faulty_figures = asyncio.run(
                run_faulty(
                    system, broker, system.env["CHIBO_AMQP_URL"], dsn, events, timeout, args.single_every, args.lanes
                )
            )
    print("chaos: " + faulty_figures.line(), flush=True)
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
