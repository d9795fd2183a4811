"""`make bench`: the presets of issue 12, each printing its figures and, in the same run, a raw baseline.

    uv run python -m tests.benchmarks [PRESET ...] [--scale S] [--json FILE] [--profile DIR]

Presets (default: all, full size; `--scale 0.01` runs each at a hundredth, a quick form in minutes):
- province-year  a generated 10,000-cell province and a year of meetings through the AMQP batch route
- single         the same events, one per message
- month-start    35,000 cells holding their meeting at once; until every meeting is scored and notice mailed
- latency        a steady 200 events/s for 60 s; p50/p95/p99 event → score and event → notice
- bulk           a 35,000-cell, 600,000-member tree through `bulk-load`; then a 100-cell province with six months of
                 meetings through `bulk-load` and the batch route alternately, 3× (target: bulk ÷ batch seconds ≤ 1)
- rollup         the province-root, commune and ranking queries over 35,000 cells, then an officer's report
                 downloads (CSV, PDF) of the province root and its largest commune through the running services
- member-moves   1,000 members moved in one batch with 20 rosters naming them (after the meetings, then backdated
                 before them), in-process through meetings' batch route, beside bare asyncpg writing the same rows in
                 one transaction; targets: statements per transaction and withdrawal, none per mover, and the ratio
                 of each case (after, backdated); the process's peak RSS while each side's batches ran
- evidence       the gateway's evidence page of a 2,000-member cell with a held meeting a month (January-November),
                 opened 5 times, beside bare asyncpg reading the same rosters and tallying them; target: the ratio
- sweep          the notifications' daily sweep over a 35,000-cell, 600,000-member province (both scaled), beside bare
                 asyncpg doing the same reads and writing the same notification rows, a transaction per batch

The service presets run all four services as OS processes against a throwaway database and vhost, and
the baseline (tests/benchmarks/baseline.py: bare aio-pika and asyncpg, same messages) in another pair. A preset's
`targets` (member-moves, evidence, bulk) are printed and written: any missed makes the run exit with status 1 after
the others ran; a target that holds only at full size (the member-moves and evidence time ratios, which fixed costs
swell on a small run) is shown below it as "not checked at --scale S" (`checked: false`, `met: null`).
"""

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from tests.benchmarks.targets import all_met, describe

ROOT = Path(__file__).parents[2]
PRESETS = (
    "province-year",
    "single",
    "month-start",
    "latency",
    "bulk",
    "rollup",
    "member-moves",
    "evidence",
    "sweep",
)


def show(result: dict[str, Any]) -> bool:
    """Print a preset's figures: the JSON, then one line per ratio and per target; whether every target was met."""
    print(json.dumps(result, indent=2, ensure_ascii=False), flush=True)
    for name, value in (result.get("ratio") or {}).items():
        print(f"{result['preset']}: chibo/baseline {name} = {value}", flush=True)
    targets = result.get("targets") or {}
    for name, target in targets.items():
        print(describe(result["preset"], name, target), flush=True)
    return all_met(targets)


def build_parser() -> argparse.ArgumentParser:
    """`make bench`'s command line (BENCH_ARGS); `check` refuses unknown presets and a scale outside (0, 1]."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("presets", nargs="*", help=f"any of {', '.join(PRESETS)} (default: all)")
    parser.add_argument("--scale", type=float, default=1.0, help="size relative to the full preset (0 < S ≤ 1)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds to wait for each stage of a preset (default: 36,000 × scale, at least 900)",
    )
    parser.add_argument("--quiet", type=float, default=10.0, help="seconds without results that mean settled")
    parser.add_argument("--rate", type=float, default=200.0, help="latency: events a second")
    parser.add_argument("--repeat", type=int, default=1, help="rollup: download each report N times (median kept)")
    parser.add_argument("--duration", type=float, default=60.0, help="latency: seconds of steady feed")
    parser.add_argument("--profile", type=Path, help="py-spy each service during the service presets into DIR")
    parser.add_argument("--no-baseline", action="store_true", help="skip the raw baselines")
    parser.add_argument("--json", type=Path, help="also write every preset's figures to FILE (a JSON list)")
    return parser


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The parsed command line, presets defaulting to all; exits 2 (argparse) on an unknown preset or a bad scale."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.presets = args.presets or list(PRESETS)
    unknown = sorted(set(args.presets) - set(PRESETS))
    if unknown:
        parser.error(f"unknown preset(s) {', '.join(unknown)}; choose from {', '.join(PRESETS)}")
    if not 0 < args.scale <= 1:
        parser.error(f"--scale must be in (0, 1], got {args.scale}")
    return args


def main() -> None:
    """Run the chosen presets."""
    args = parse()
    presets = args.presets
    timeout = args.timeout or max(900.0, 36_000 * args.scale)
    results: list[dict[str, Any]] = []
    baseline = not args.no_baseline
    missed: list[str] = []

    def profile(preset: str) -> Path | None:
        return args.profile / preset if args.profile else None

    for preset in presets:
        started = time.perf_counter()
        print(f"\n=== {preset} (scale {args.scale}) ===", flush=True)
        result: dict[str, Any] | None = None
        if preset in ("province-year", "single"):
            from tests.benchmarks import province_year

            result = province_year.run(
                scale=args.scale,
                single=preset == "single",
                timeout=timeout,
                quiet=args.quiet,
                profile_dir=profile(preset),
                baseline=baseline,
            )
        elif preset == "month-start":
            from tests.benchmarks import month_start

            result = month_start.run(
                scale=args.scale, timeout=timeout, quiet=args.quiet, profile_dir=profile(preset), baseline=baseline
            )
        elif preset == "latency":
            from tests.benchmarks import latency

            result = latency.run(
                rate=args.rate,
                duration=max(15.0, args.duration * args.scale),
                timeout=timeout,
                profile_dir=profile(preset),
                baseline=baseline,
            )
        elif preset == "bulk":
            from tests.benchmarks import bulk

            result = bulk.run(
                scale=args.scale, baseline=baseline, profile_dir=profile(preset), repeat=max(3, args.repeat)
            )
        elif preset == "rollup":
            import asyncio

            from tests.benchmarks import reports
            from tests.evaluation import bench_rollup

            queries = asyncio.run(bench_rollup.main(args.scale))
            result = reports.run(
                scale=args.scale, baseline=baseline, timeout=timeout, profile_dir=profile(preset), repeat=args.repeat
            )
            result["queries"] = queries
            result.setdefault("ratio", {})["province_month_p95"] = queries["province_month_p95_ratio"]
        elif preset == "member-moves":
            from tests.benchmarks import member_moves

            result = member_moves.preset(scale=args.scale, baseline=baseline)
        elif preset == "evidence":
            from tests.benchmarks import evidence

            result = evidence.run(scale=args.scale, baseline=baseline, timeout=timeout)
        elif preset == "sweep":
            from tests.notifications import bench_sweep

            result = bench_sweep.preset(scale=args.scale, baseline=baseline)
        if result is not None:
            result["wall_s"] = round(time.perf_counter() - started, 1)
            if not show(result):
                missed.append(preset)
            results.append(result)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    if missed:
        print(f"targets missed: {', '.join(missed)}", flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
