"""The process entry points: the app factory uvicorn runs, and the command line."""

import argparse
import asyncio
import json
import sys

from faststream.asgi import AsgiFastStream

from services.evaluation import bootstrap
from services.evaluation.config import Settings
from services.evaluation.handlers import rescore
from shared.db import create_pool
from shared.envelope import now
from shared.logs import configure_logging
from shared.plausible import span_range_problem
from shared.runtime import migrate


def create_app() -> AsgiFastStream:
    """The evaluation app, configured from the environment."""
    return bootstrap.create_app()


def _configure_rescore(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--unit", default=None, help="a committee or cell id: rescore its whole subtree")
    parser.add_argument(
        "--from",
        dest="period_from",
        default=None,
        help="first period re-scored: a month 2026-01, a quarter 2026-Q1, a half-year 2026-H1 or a year 2026",
    )
    parser.add_argument(
        "--to",
        dest="period_to",
        default=None,
        help="last period re-scored, same forms: 2026-12, 2026-Q4, 2026-H2, 2026",
    )


async def run_rescore(settings: Settings, *, unit: str | None, period_from: str | None, period_to: str | None) -> dict:
    """Migrate, register the shipped frameworks and rescore with a progress bar on stderr."""
    from tqdm import tqdm

    await migrate(settings, schema="evaluation", service_dir=bootstrap.SERVICE_DIR)
    pool = await create_pool(settings.database_url, schema="evaluation", min_size=1, max_size=2)
    try:
        factory = await bootstrap.prepare(pool)
        with tqdm(unit="cell", desc="rescore", file=sys.stderr) as bar:

            def on_total(total: int) -> None:
                bar.total = total
                bar.refresh()

            return await rescore(
                uow_factory=factory,
                unit_id=unit,
                period_from=period_from,
                period_to=period_to,
                on_total=on_total,
                on_cell=lambda: bar.update(1),
            )
    finally:
        await pool.close()


CLI_OPTIONS = {"period_from": "--from", "period_to": "--to"}
"""The command line's option for each field of a span."""


def span_refusal(period_from: str | None, period_to: str | None) -> str | None:
    """The line the rescore command prints for months outside what history holds (shared.plausible.span_range_problem,
    the API's rule), naming the option (`--to: 9999-12 begins more than 2 years ahead...`); None when they are fine."""
    problem = span_range_problem(period_from, period_to, now=now())
    return f"{CLI_OPTIONS[problem.field]}: {problem.reason}" if problem else None


def _rescore_command(args: argparse.Namespace) -> int:
    if refusal := span_refusal(args.period_from, args.period_to):
        print(f"rescore: {refusal}", file=sys.stderr)
        return 2
    settings = Settings()
    configure_logging(service="evaluation", level=settings.log_level, json=settings.log_json)
    result = asyncio.run(run_rescore(settings, unit=args.unit, period_from=args.period_from, period_to=args.period_to))
    print(json.dumps(result))
    return 0


def cli() -> None:
    """`python -m services.evaluation serve|migrate|health|rescore`."""
    sys.exit(bootstrap_cli())


def bootstrap_cli(argv: list[str] | None = None) -> int:
    """Run the command line with the rescore command added."""
    from shared.cli import run_service_cli

    return run_service_cli(
        name="evaluation",
        app_path="services.evaluation.main:create_app",
        settings_factory=Settings,
        service_dir=bootstrap.SERVICE_DIR,
        extra=[
            (
                "rescore",
                "recompute scores and periods of a subtree and span of months",
                _configure_rescore,
                _rescore_command,
            )
        ],
        argv=argv,
    )
