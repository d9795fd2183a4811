"""The command line every FastStream service offers: serve, migrate, health."""

import argparse
import asyncio
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Collection, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shared.config import SavedSettingsError, ServiceSettings, checkout_system, service_http_port
from shared.logs import configure_logging
from shared.runtime import migrate

KEEP_ALIVE_SECONDS = 75
"""How long `serve` keeps an idle HTTP connection open: longer than its clients' idle expiry, so a client never sends
on a connection the server is closing."""

ExtraCommand = tuple[str, str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]


def run_service_cli(
    *,
    name: str,
    app_path: str,
    settings_factory: Callable[[], ServiceSettings],
    service_dir: Path,
    extra: Sequence[ExtraCommand] = (),
    as_gateway: Collection[str] = (),
    argv: Sequence[str] | None = None,
) -> int:
    """Parse argv and run one of the service's commands; return the exit code. Every command runs on the settings of
    this checkout (shared.config.checkout_system: exported, else its var/up.env as `make up` saved it, else the
    defaults), and one that acts on the broker or database (`migrate`, the service's own; not `serve` or `health`)
    first says on stderr which vhost, broker user and database (shared.config.acting_on). The commands named in
    `as_gateway` ask a service's RPC as the gateway does, so they run as the gateway's broker user when `make up` made
    one (shared.config.gateway_caller)."""
    parser = argparse.ArgumentParser(prog=f"python -m services.{name}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the service (consumers, relay, /health, /asyncapi)")
    commands.add_parser("migrate", help="apply pending SQL migrations to the service's schema")
    commands.add_parser("health", help="ask the running service whether it is healthy (exit 1 if not)")
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {}
    for command, help_text, configure, handler in extra:
        configure(commands.add_parser(command, help=help_text))
        handlers[command] = handler
    args = parser.parse_args(argv)
    with ExitStack() as system:  # every settings object the command builds reads the checkout's system
        try:
            settings = system.enter_context(
                checkout_system(
                    f"{name} {args.command}",
                    settings_factory,
                    say=args.command not in ("serve", "health"),
                    as_gateway=args.command in as_gateway,
                )
            )
        except SavedSettingsError as exc:
            print(f"python -m services.{name}: settings: {exc}", file=sys.stderr)
            return 2
        except ValidationError as exc:  # a setting the service cannot run with: say which, without a traceback
            print(f"python -m services.{name}: invalid settings (CHIBO_* variables or .env)\n{exc}", file=sys.stderr)
            return 2
        try:
            port = service_http_port(name, settings)
        except ValueError as exc:
            print(f"python -m services.{name}: settings: {exc}", file=sys.stderr)
            return 2
        return _run(name, app_path, service_dir, handlers, args, settings, port)


def _run(
    name: str,
    app_path: str,
    service_dir: Path,
    handlers: dict[str, Callable[[argparse.Namespace], int]],
    args: argparse.Namespace,
    settings: ServiceSettings,
    port: int,
) -> int:
    if args.command == "serve":
        import uvicorn

        # the app's own settings (its heartbeat's and holder's http_port) name the port it listens on
        os.environ["CHIBO_HTTP_PORT"] = str(port)

        uvicorn.run(
            app_path,
            factory=True,
            host=settings.http_host,
            port=port,
            log_config=None,
            timeout_graceful_shutdown=int(settings.graceful_timeout),
            # longer than a client's or proxy's idle expiry (httpx 5 s, load balancers 60 s): with uvicorn's default
            # 5 s the server closed an idle connection just as a client sent on it ("Server disconnected without
            # sending a response" in a loaded test run)
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
        return 0
    if args.command == "migrate":
        configure_logging(service=name, level=settings.log_level, json=settings.log_json)
        applied = asyncio.run(migrate(settings, schema=name, service_dir=service_dir))
        print(json.dumps({"service": name, "applied": applied}))
        return 0
    if args.command == "health":
        return _print_health(f"http://{settings.http_host}:{port}/health")
    return handlers[args.command](args)


def _print_health(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body: Any = json.loads(response.read())
            status = response.status
    except urllib.error.HTTPError as exc:
        body, status = json.loads(exc.read() or b"{}"), exc.code
    except OSError as exc:
        print(json.dumps({"status": "down", "error": str(exc)}))
        return 1
    print(json.dumps(body, ensure_ascii=False))
    return 0 if status == 200 else 1
