"""`make bench`: every benchmark, each printing its own figures.

    uv run python -m tests.benchmarks [bulk] [rollup] [month-start] [sweep] [--cells N]

Without names it runs them all. Each one works in a throwaway database (and vhost) of its own.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.env import DEFAULT_DATABASE_URL, fresh_database

ROOT = Path(__file__).parents[2]
BENCHMARKS = ("bulk", "rollup", "sweep", "month-start")


def run(args: list[str], *, env: dict[str, str] | None = None) -> None:
    """Run one benchmark command, its output going straight to ours."""
    print(f"\n$ {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, *args], cwd=ROOT, env={**os.environ, **(env or {})}, check=True)


def bench_bulk(cells: int, members: int) -> None:
    """Generate a province and bulk-load it into a fresh database (time, events/s, peak RSS)."""
    with tempfile.TemporaryDirectory() as workdir, fresh_database(DEFAULT_DATABASE_URL) as dsn:
        events = Path(workdir) / "province.jsonl"
        run(
            [
                "-m",
                "services.meetings",
                "generate-province",
                "--cells",
                str(cells),
                "--members",
                str(members),
                "--out",
                str(events),
            ]
        )
        started = time.perf_counter()
        run(["-m", "services.meetings", "bulk-load", str(events)], env={"CHIBO_DATABASE_URL": dsn})
        print(f"bulk-load wall time: {time.perf_counter() - started:.1f} s", flush=True)


def main() -> None:
    """Run the chosen benchmarks."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"any of {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--cells", type=int, default=35_000, help="cells of the bulk-loaded province")
    parser.add_argument("--members", type=int, default=600_000, help="members of the bulk-loaded province")
    parser.add_argument("--spike-cells", type=int, default=2_000, help="cells meeting at once in month-start")
    args = parser.parse_args()
    names = args.names or list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    if "bulk" in names:
        bench_bulk(args.cells, args.members)
    if "rollup" in names:
        run(["-m", "tests.evaluation.bench_rollup"])
    if "sweep" in names and (ROOT / "tests" / "notifications" / "bench_sweep.py").exists():
        run(["-m", "tests.notifications.bench_sweep"])
    if "month-start" in names:
        run(["-m", "tests.benchmarks.month_start", "--cells", str(args.spike_cells)])


if __name__ == "__main__":
    main()
