"""`python -m shared.ops`: the operators' command line (CHIBO_AMQP_URL and CHIBO_DATABASE_URL as the services: exported,
else as the last `make up` in this checkout saved them in var/up.env, read by deploy/settings.sh as `make status` and
deploy/serve.sh read it, else the defaults; its first line on stderr names the vhost and database it acts on).

    uv run python -m shared.ops dead-letters list [--queue Q] [--limit N] [--offset N]
    uv run python -m shared.ops dead-letters replay --queue Q [--limit N] [--event-id ID | --message-id ID | --key KEY]
    uv run python -m shared.ops dead-letters purge --queue Q --yes [--through TIME --newest KEY --count N]
    uv run python -m shared.ops outbox status --service S
    uv run python -m shared.ops outbox list --service S [--limit N] [--offset N]
    uv run python -m shared.ops outbox replay --service S (--id N ... | --all)
    uv run python -m shared.ops held list [--limit N] [--offset N]
    uv run python -m shared.ops held retry --source S --event-id ID
    uv run python -m shared.ops held drop --source S --event-id ID --reason TEXT
    uv run python -m shared.ops rejections list [--status open|replayed|dismissed] [--replayable|--not-replayable]
                                                [--limit N] [--offset N]
    uv run python -m shared.ops rejections replay --id REJECTION [--attempt N]
    uv run python -m shared.ops rejections dismiss --id REJECTION --reason TEXT
    uv run python -m shared.ops rejections dismiss (--code C --source S --sender A --before T --after T | --all)
                                                   --reason TEXT [--dry-run | --expected N]
                                                   (any of the criteria, all matching)
    uv run python -m shared.ops alert-rules list --committee C
    uv run python -m shared.ops alert-rules set --committee C --rule R [--on | --off] [--param NAME=VALUE ...]
    uv run python -m shared.ops alert-rules reset --committee C --rule R [--enabled] [--param NAME ...]
    uv run python -m shared.ops unrouted return --service S [--dry-run]

Each prints JSON, every time in it RFC 3339 as the API writes it, UTC as `Z` (shared.ops.json_value); the exit code
is 0, 1 when the held event, rejection, committee, alert rule, parked row (`outbox
replay --id`: when none of the ids given is one; with some replayed it is 0, the others listed as `unknown`), dead
letter (`dead-letters replay --event-id`, `--message-id` or `--key`) or dead-letter queue (`--queue`; `dead-letters
list` counts one the vhost
lacks as `missing`, and is 1 when it has none) named does not exist (not found), 3 when the rejection cannot be acted on
(replayed or dismissed already; or, replayed as it was, its body not kept as sent,
`body_not_kept`, read as no JSON, `body_reads_no_json`, or certain to be refused again for the same reason,
`refused_again_as_sent`: its content type, an attribute header or its batch envelope; the service's reason and code
are said) or the held event
to retry was rejected (replay its rejection instead: conflict) or a held event retried or a rejection replayed is
judged `rejected` (again: its answer is printed on stdout all the same, `rejected: ...` with its reason and code on
stderr; the audit row keeps the API's 200, as the API answers such a judgement) or a `dead-letters purge --through`
finds more letters died by then than its --count (the listing was cut: nothing deleted), 4 when
notifications refuses an alert setting (naming the field) or `dead-letters replay` is given two selectors that would
both choose (`--key` with `--event-id`, `--message-id` or `--limit`; `--event-id` with `--message-id`: the API's 422,
audited as it, nothing replayed), 5 when the service called over RPC does not take calls from
CHIBO_AMQP_URL's broker user (not in its CHIBO_RPC_CALLERS: use one it lists, e.g. CHIBO_AMQP_URL_GATEWAY's), 6 when it
does not answer (not running) or the broker at CHIBO_AMQP_URL or the database at CHIBO_DATABASE_URL does not answer
or refuses (a login refused, a vhost or database that does not exist, a database without the system's tables: the URL
without its password and the variable to set are named), or 2 for a wrong argument or a var/up.env the shell cannot
read (`rejections dismiss` too for no --id and no filter without --all, or --id with a filter); each failure is one
line on stderr (after the line naming what the command acts on). A filtered `rejections dismiss` is 0 whatever it
closed (`matched`, `dismissed` and `remaining` printed; nothing more when run again).
`held retry`, `held drop`, `rejections replay` and `rejections dismiss` ask meetings over its RPC, as the API's
POST /v1/held-events/retry and /drop and /v1/rejections/{r}/replay and /dismiss do (so meetings must be running and
the broker user be one of its CHIBO_RPC_CALLERS: they and `alert-rules` run as the gateway's user by themselves when
this checkout's `make up` made one, shared.config.gateway_caller), and are audited like them: a row in
gateway.audit_log (sub `cli:<login>`, method `CLI`, the API's path with /cli/ for /v1/, the status the API
would answer).
`dead-letters replay` and `purge` and `outbox replay` are audited the same way, under /cli/dead-letters/{q}/replay
and /purge and /cli/outbox/{s}/parked/replay, each done one logged as an `operator_action` line on stderr.
Every number and id argument is bounded as the API bounds it (BOUNDS): out of bounds is exit 2 naming it.
`unrouted return` publishes the events a service lost to chibo.unrouted (the copies in `<service>.unrouted`) back to
chibo.events with their routing keys and headers, once, each acknowledged after its publication is confirmed
(shared/ops/unrouted.py); `--dry-run` counts them by routing key and moves nothing. Audited under the path
/cli/unrouted/<service>.unrouted/return (no API route does it); exit 1 when that queue does not exist.
Beside per-process broker users (`make up`, k8s) `dead-letters replay` and `unrouted return` run as the gateway's user
and ask the owning service over its RPC (through_service; exit 5 or 6 as above): consumers trust who first published
a copy only from their own service, so a copy published as the admin was refused; with one broker user for every
process they are done here. Run as another user (the admin without CHIBO_AMQP_URL_GATEWAY or
var/broker-credentials.env) `dead-letters replay` sends back only the letters its own login first published and exits
5 naming the others' publishers and the missing gateway credentials (NotVouched).
`alert-rules` reads and changes a committee's alert settings over notifications' RPC as GET and
PUT /v1/committees/{c}/alert-rules[/{rule}] do (shared/alert_rules.py: the same change, check, answer and audit
detail); `reset` gives the committee's own on/off (`--enabled`) or parameters back to the level above.
"""

import argparse
import asyncio
import getpass
import json
import logging
import re
import string
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aio_pika
import asyncpg
from faststream.rabbit import RabbitBroker

from shared import alert_rules
from shared.audit import append_audit
from shared.config import (
    BROKER_CREDENTIALS,
    CHECKOUT,
    GATEWAY_URL,
    PEER_SERVICES,
    SAVED_SETTINGS,
    SavedSettingsError,
    ServiceSettings,
    broker_user_of,
    checkout_system,
    database_of,
    url_without_password,
    vhost_of,
)
from shared.contracts import evaluation_rpc, meetings_rpc, notifications_rpc
from shared.contracts.ops_rpc import REPLAY_SELECTORS, OpsCatalog, replay_selector_conflict
from shared.logs import configure_logging, get_logger
from shared.ops import json_value
from shared.ops.dead_letters import (
    DEAD_LETTER_QUEUES,
    PEEK_MOST,
    LargerThanShown,
    PgSentLetters,
    dead_letter_counts,
    list_dead_letters,
    purge_dead_letters,
    replay_dead_letters,
)
from shared.ops.outbox import (
    list_parked,
    outbox_health,
    parked_rows_missing,
    replay_parked,
    unknown_parked_rows,
)
from shared.ops.unrouted import UNROUTED_SERVICES, NoUnroutedWatch, return_unrouted
from shared.reading import KEPT_TAIL_SQL, ReadError, check_tree, loads, names_an_event, not_replayable_reason
from shared.rejection_counts import rejection_counts
from shared.rejection_dismissal import FILTER_OPTIONS, dismiss_filtered
from shared.rejection_fields import REJECTION_COLUMNS, public_rejection, rejection_reply
from shared.rpc import Request, RpcClient, RpcError, caller_hint
from shared.text import said_or_blank
from shared.topology import CONSUMER_QUEUES
from shared.topology import unrouted_watch as unrouted_watch_name

SERVICES = ("meetings", "evaluation", "notifications")
CATALOGS: dict[str, OpsCatalog] = {
    "meetings": meetings_rpc.OPS,
    "evaluation": evaluation_rpc.OPS,
    "notifications": notifications_rpc.OPS,
}
"""Each service's operator methods, for a replay or return the service must do itself (through_service)."""
OWNER_OF_DEAD_LETTERS = {queue.dead_letter_queue: queue.service for queue in CONSUMER_QUEUES}
"""Every dead-letter queue and the service that owns it."""

log = get_logger(__name__)


class Whole:
    """An argparse type: a whole number (ASCII digits) from `low` to `high`; ArgumentTypeError naming the bounds
    otherwise (argparse then names the argument and exits 2). A number PostgreSQL's bigint or a page cannot hold is
    refused here, not by the database as a traceback."""

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high

    def __call__(self, text: str) -> int:
        """The number given, within the bounds; ArgumentTypeError otherwise."""
        digits = text.strip()
        if re.fullmatch(r"-?[0-9]{1,30}", digits) is None:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a whole number from {self.low} to {self.high}")
        value = int(digits)
        if not self.low <= value <= self.high:
            raise argparse.ArgumentTypeError(f"{value} is not from {self.low} to {self.high}")
        return value


class Name:
    """An argparse type: an id given on the command line, `low` to `high` characters (and only the characters of
    `allowed`, a description and its test, when given); ArgumentTypeError naming the bounds otherwise."""

    def __init__(self, low: int, high: int, allowed: tuple[str, str] | None = None) -> None:
        self.low, self.high, self.allowed = low, high, allowed

    def __call__(self, text: str) -> str:
        """The id given, within the bounds; ArgumentTypeError otherwise."""
        if not self.low <= len(text) <= self.high:
            raise argparse.ArgumentTypeError(f"{self.low} to {self.high} characters, not {len(text)}")
        if self.allowed is not None and not all(char in self.allowed[1] for char in text):
            raise argparse.ArgumentTypeError(f"{text!r} has characters other than {self.allowed[0]}")
        return text


BIGINT_MAX = 2**63 - 1
PARAM_NAME = Name(1, 64)
ID_CHARACTERS = ("letters, digits and . _ : -", string.ascii_letters + string.digits + "._:-")
BOUNDS: dict[str, Whole | Name] = {
    "limit": Whole(1, 1000),
    "offset": Whole(0, 1_000_000),
    "replay_limit": Whole(1, 100_000),
    "purge_count": Whole(1, 1_000_000),
    "row_id": Whole(1, BIGINT_MAX),
    "attempt": Whole(1, 2**31 - 1),
    "expected": Whole(0, 1_000_000_000),
    "event_id": Name(1, 255),
    "message_id": Name(1, 255),
    "listing_key": Name(1, 64),
    "source": Name(1, 1000),
    "code": Name(1, 128),
    "sender": Name(1, 255),
    "rejection_id": Name(1, 64, ID_CHARACTERS),
    "committee": Name(1, 64, ID_CHARACTERS),
    "rule": Name(1, 64, ("a-z and _", string.ascii_lowercase + "_")),
    "param_name": PARAM_NAME,
}
"""Every number and id an operator gives, bounded in this one place as the API bounds them (services/gateway/http:
Limit and Offset, RowPath, IdPath, RulePath; the schemas' event_id, source, replay limit and attempt)."""


def moment(text: str) -> datetime:
    """An RFC 3339 time with its offset (`2026-12-05T08:00:00+00:00`), as `dead-letters list` prints `through`."""
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        found = None
    if found is None or found.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a time with its offset (2026-12-05T08:00:00+00:00)")
    return found


def listing_key(text: str) -> str:
    """32 lower-case hex digits, as `dead-letters list` prints a letter's `key` and the listing's `newest`."""
    if len(text) != 32 or any(char not in "0123456789abcdef" for char in text):
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not 32 hex digits (the `newest` of `dead-letters list`)")
    return text


def page_arguments(command: argparse.ArgumentParser, *, limit: int) -> None:
    """--limit and --offset of a listing (the listing's position from its start, as the API's `offset`)."""
    command.add_argument("--limit", type=BOUNDS["limit"], default=limit, help="1 to 1000")
    command.add_argument("--offset", type=BOUNDS["offset"], default=0, help="how many of the listing to skip")


EXIT_CODES = """exit codes (every command):
  0  done (a listing read; a held event retried or a rejection replayed and judged accepted, held or duplicate)
  1  not found: what the command names does not exist
  2  a wrong argument, or a var/up.env the shell cannot read
  3  not done: a held event retried or a rejection replayed was judged rejected (again; its answer is still
     printed), the rejection or held event is no longer in a state to act on, or a purge's listing was cut
  4  refused: the service refused a value (naming the field), or two replay selectors were given
  5  not allowed: the service does not take calls from this broker user
  6  unavailable: the service, the broker or the database does not answer or refuses"""
"""The exit codes `--help` lists, as the module's docstring says them at length (docs/operations.md too)."""


def parser() -> argparse.ArgumentParser:
    """The command line's arguments."""
    root = argparse.ArgumentParser(
        prog="python -m shared.ops",
        description="Recover what failed.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    areas = root.add_subparsers(dest="area", required=True)

    dead = areas.add_parser("dead-letters", help="dead-letter queues").add_subparsers(dest="action", required=True)
    listing = dead.add_parser("list", help="counts of every queue, or the first messages of one")
    listing.add_argument("--queue", choices=DEAD_LETTER_QUEUES)
    page_arguments(listing, limit=20)
    replay = dead.add_parser("replay", help="publish dead letters back to the queue they died in")
    replay.add_argument("--queue", choices=DEAD_LETTER_QUEUES, required=True)
    replay.add_argument("--limit", type=BOUNDS["replay_limit"])
    replay.add_argument("--event-id", type=BOUNDS["event_id"], help="every copy of this CloudEvents id")
    replay.add_argument("--message-id", type=BOUNDS["message_id"], help="every copy of this AMQP message id")
    replay.add_argument(
        "--key", type=BOUNDS["listing_key"], help="the one letter of this `key` in `dead-letters list --queue Q`"
    )
    purge = dead.add_parser("purge", help="drop every message of a dead-letter queue")
    purge.add_argument("--queue", choices=DEAD_LETTER_QUEUES, required=True)
    purge.add_argument("--yes", action="store_true", required=True, help="confirm")
    purge.add_argument(
        "--through",
        type=moment,
        help="only letters that died at or before this time (the `through` of `dead-letters list --queue Q`)",
    )
    purge.add_argument(
        "--newest",
        type=listing_key,
        help="the letters that died in the --through second, as `dead-letters list --queue Q` names them (`newest`);"
        " without it none of that second is dropped (one that died later in it was never listed)",
    )
    purge.add_argument(
        "--count",
        type=BOUNDS["purge_count"],
        help="with --through: the letters the listing holds (its `listed`; more died by then is exit 3, nothing"
        " deleted); alone: at most this many letters, oldest death first",
    )

    outbox = areas.add_parser("outbox", help="a service's outbox").add_subparsers(dest="action", required=True)
    status = outbox.add_parser("status", help="pending, lag, parked")
    status.add_argument("--service", choices=SERVICES, required=True)
    parked = outbox.add_parser("list", help="parked rows, oldest first")
    parked.add_argument("--service", choices=SERVICES, required=True)
    page_arguments(parked, limit=50)
    again = outbox.add_parser("replay", help="put parked rows back in line")
    again.add_argument("--service", choices=SERVICES, required=True)
    which = again.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", type=BOUNDS["row_id"], action="append", dest="ids")
    which.add_argument("--all", action="store_true")

    held = areas.add_parser("held", help="events meetings holds").add_subparsers(dest="action", required=True)
    held_list = held.add_parser("list", help="held events, oldest first")
    page_arguments(held_list, limit=50)
    retry_held = held.add_parser(
        "retry",
        help="judge a held event again now: accepted, held again (still waiting) or rejected",
        description="Judge a held event again now, as POST /v1/held-events/retry (meetings does it over its RPC; "
        "audited in gateway.audit_log).",
    )
    drop_held = held.add_parser(
        "drop",
        help="stop holding an event: it becomes a stored, published rejection with the reason (replayable)",
        description="Stop holding an event, as POST /v1/held-events/drop: it becomes a stored, published rejection "
        "giving the reason, which can still be replayed later (meetings does it over its RPC; audited).",
    )
    for command in (retry_held, drop_held):
        command.add_argument(
            "--source", type=BOUNDS["source"], required=True, help="the held event's source, as `held list` shows it"
        )
        command.add_argument(
            "--event-id", type=BOUNDS["event_id"], required=True, help="the held event's id, as `held list` shows it"
        )
    drop_held.add_argument("--reason", type=reason, required=True, help="why it is dropped (1-500 characters)")

    rejected = areas.add_parser("rejections", help="events meetings rejected").add_subparsers(
        dest="action", required=True
    )
    rejected_list = rejected.add_parser("list", help="rejections, newest first (open ones by default)")
    rejected_list.add_argument("--status", choices=REJECTION_STATUSES, default="open")
    replayable = rejected_list.add_mutually_exclusive_group()
    replayable.add_argument(
        "--replayable",
        action="store_const",
        const=True,
        dest="replayable",
        help="only those that can be replayed as sent (replayable_as_sent true; `total` counts them)",
    )
    replayable.add_argument(
        "--not-replayable",
        action="store_const",
        const=False,
        dest="replayable",
        help="only those that cannot be replayed as sent (not_replayable_reason says why; replay a corrected event)",
    )
    page_arguments(rejected_list, limit=50)
    replay_rejected = rejected.add_parser(
        "replay",
        help="judge a rejected event again as it was",
        description="Judge a rejected event again, as POST /v1/rejections/{r}/replay (over meetings' RPC; audited): "
        "the copy of its latest attempt received from a sender, or of the attempt --attempt names (rejections list "
        "shows each attempt's number, route, reason and time). Exit 3, nothing judged, when it is no longer open or "
        "cannot pass as it was: (body_not_kept), (body_reads_no_json) or (refused_again_as_sent), its content type, "
        "an attribute header or its batch envelope certain to be refused again for the same reason.",
    )
    replay_rejected.add_argument(
        "--attempt", type=BOUNDS["attempt"], default=None, help="the number of the refused attempt whose copy to judge"
    )
    dismiss_rejected = rejected.add_parser(
        "dismiss",
        help="close an open rejection without replaying it (garbage, an event dropped for good), saying why",
        description="Close an open rejection, as POST /v1/rejections/{r}/dismiss: it no longer counts as open and "
        "stays listed as dismissed with who, when and why (over meetings' RPC; audited). Without --id, every open "
        "one the filter selects (--code, --source, --sender, --before, --after, all matching; --all for none), as "
        "POST /v1/rejections/dismiss: prints matched and dismissed; --dry-run counts only.",
    )
    for command in (replay_rejected, dismiss_rejected):
        command.add_argument(
            "--id",
            type=BOUNDS["rejection_id"],
            required=command is replay_rejected,
            dest="rejection_id",
            help="the rejection's id, as listed",
        )
    dismiss_rejected.add_argument("--reason", type=reason, required=True, help="why it is closed (1-500 characters)")
    dismiss_rejected.add_argument(
        "--code",
        type=BOUNDS["code"],
        help=f"instead of --id: every open one of this refusal code ({meetings_rpc.NO_CODE!r}: stored without one)",
    )
    dismiss_rejected.add_argument("--source", type=BOUNDS["source"], help="instead of --id: those of this source")
    dismiss_rejected.add_argument("--sender", type=BOUNDS["sender"], help="instead of --id: those this account sent")
    dismiss_rejected.add_argument(
        "--before", type=moment, dest="received_before", help="instead of --id: those received before this time"
    )
    dismiss_rejected.add_argument(
        "--after", type=moment, dest="received_after", help="instead of --id: those received at or after this time"
    )
    dismiss_rejected.add_argument(
        "--all", action="store_true", dest="every", help="with no other criterion: every open rejection"
    )
    dismiss_rejected.add_argument(
        "--dry-run", action="store_true", help="with a filter: count what it selects, close none"
    )
    dismiss_rejected.add_argument(
        "--expected",
        type=BOUNDS["expected"],
        help="with a filter: the count a dry run printed (give its counted_at as --before): close nothing unless the"
        " filter selects exactly that many (expected_differs)",
    )

    unrouted = areas.add_parser("unrouted", help="events a service lost to chibo.unrouted").add_subparsers(
        dest="action", required=True
    )
    back = unrouted.add_parser(
        "return",
        help="publish the copies in <service>.unrouted back to chibo.events (once the bindings are back)",
        description="Publish each message of <service>.unrouted back to chibo.events with its routing key and headers, "
        "once, acknowledging each after the broker confirmed it (audited). Run it once the service's bindings are "
        "back (CHIBO_BINDINGS_CHECK_SECONDS); a copy finding no binding again waits in the queue for the next run.",
    )
    back.add_argument("--service", choices=UNROUTED_SERVICES, required=True)
    back.add_argument("--dry-run", action="store_true", help="count them by routing key; move nothing")

    rules = areas.add_parser("alert-rules", help="a committee's alert settings").add_subparsers(
        dest="action", required=True
    )
    rules_list = rules.add_parser(
        "list",
        help="every alert rule as it holds for the committee's subtree, with where each value comes from",
        description="As GET /v1/committees/{c}/alert-rules (over notifications' RPC).",
    )
    rules_set = rules.add_parser(
        "set",
        help="switch a rule on or off and/or set its parameters for the committee's whole subtree",
        description="As PUT /v1/committees/{c}/alert-rules/{rule} (over notifications' RPC; audited).",
    )
    rules_reset = rules.add_parser(
        "reset",
        help="give the committee's own on/off and/or parameters back to the level above",
        description="As PUT /v1/committees/{c}/alert-rules/{rule} with those values null (over notifications' RPC; "
        "audited).",
    )
    for command in (rules_list, rules_set, rules_reset):
        command.add_argument("--committee", type=BOUNDS["committee"], required=True, help="the committee's id")
    for command in (rules_set, rules_reset):
        command.add_argument(
            "--rule", type=BOUNDS["rule"], required=True, help="the rule's name, as `alert-rules list` shows it"
        )
    switch = rules_set.add_mutually_exclusive_group()
    switch.add_argument("--on", action="store_const", const=True, dest="enabled", help="send this alert")
    switch.add_argument("--off", action="store_const", const=False, dest="enabled", help="do not send it")
    rules_set.add_argument(
        "--param",
        type=param_setting,
        action="append",
        default=[],
        dest="params",
        metavar="NAME=VALUE",
        help="a parameter's new value, as JSON when it is one (hours_before=24, ratings='[\"poor\"]')",
    )
    rules_reset.add_argument("--enabled", action="store_true", dest="reset_enabled", help="on or off")
    rules_reset.add_argument(
        "--param",
        type=BOUNDS["param_name"],
        action="append",
        default=[],
        dest="params",
        metavar="NAME",
        help="a parameter's name",
    )
    return root


def command_parser(root: argparse.ArgumentParser, *words: str) -> argparse.ArgumentParser:
    """The parser of the subcommand `words` name under `root` (`rejections`, `dismiss`), so a check made after
    parsing says its error with that command's usage, as argparse says its own; KeyError for no such command."""
    command = root
    for word in words:
        (subcommands,) = [action for action in command._actions if isinstance(action, argparse._SubParsersAction)]
        command = subcommands.choices[word]
    return command


def param_setting(text: str) -> tuple[str, str]:
    """`NAME=VALUE` of `alert-rules set --param`: the name and the value's text (read by `param_value` once the
    committee is known); ArgumentTypeError without a name."""
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"{text[:80]!r} is not NAME=VALUE")
    return PARAM_NAME(name.strip()), raw


def param_value(name: str, raw: str) -> Any:
    """A `--param` value read as the API reads a body (shared/reading.py: no NaN, Infinity or key given twice): JSON
    when it is JSON (24, true, ["poor"]), else the text given; Refused naming `params.NAME` for what the API
    refuses (a NaN the loose json.loads let through reached notifications as null and erased the setting)."""
    try:
        return check_tree(loads(raw, limit=None), ("params", name))
    except ReadError as exc:
        if exc.problem == "syntax":
            return raw  # not JSON: the text given, which notifications judges (a word is no whole number)
        raise Refused(exc.reason) from None


def named(field: str | None, message: str) -> str:
    """A refusal's message naming its field once (notifications' messages already start with it)."""
    if field is None or message.startswith(f"{field}:"):
        return message
    return f"{field}: {message}"


REJECTION_STATUSES = ("open", "replayed", "dismissed")
"""A rejection's statuses (meetings' rejection.status)."""


def reason(text: str) -> str:
    """A drop's reason: 1 to 500 characters once trimmed of spaces and invisible characters (shared.text.said_or_blank:
    a reason of U+200B alone is none), as the API's; ArgumentTypeError otherwise."""
    trimmed = said_or_blank(text)
    if not trimmed:
        raise argparse.ArgumentTypeError("a reason must hold visible text, not only spaces or invisible characters")
    if len(trimmed) > 500:
        raise argparse.ArgumentTypeError(f"a reason is 1 to 500 characters (got {len(trimmed)})")
    return trimmed


HELD_PATHS = {"retry": "/cli/held-events/retry", "drop": "/cli/held-events/drop"}
"""The API route each held-event command does the work of (and is audited under)."""
AUDITED_ACTIONS = {"retry": "held_event_retried", "drop": "held_event_dropped"}
"""The audit detail's `action`, as the API writes it (services/gateway/http/recovery.py)."""


class NotFound(Exception):
    """What the command names does not exist (exit code 1)."""


class Conflict(Exception):
    """What the command names is no longer in a state to act on (exit code 3): a rejection replayed or dismissed, a
    held event rejected."""


class JudgedRejected(Exception):
    """A held event retried or a rejection replayed was judged `rejected` (again) (exit code 3, as a held event found
    rejected already is): the command did not get it through; its reply is printed on stdout all the same, the
    reason and its code on stderr."""

    def __init__(self, said: str, reply: dict[str, Any]) -> None:
        super().__init__(said)
        self.reply = reply


def judged(action: str, reply: dict[str, Any]) -> dict[str, Any]:
    """`reply` (meetings' IngestResultReply) of `action` (`held retry`, `rejections replay`) when its event was not
    rejected (accepted, held, duplicate); JudgedRejected saying its reason and code when it was."""
    if reply.get("outcome") != "rejected":
        return reply
    refusal = reply.get("refusal")
    code = refusal.get("code") if isinstance(refusal, dict) else None
    said = f"{action}: event {reply.get('id')} from {reply.get('source')} was rejected again: {reply.get('reason')}"
    raise JudgedRejected(f"{said} ({code})" if code else said, reply)


class Refused(Exception):
    """The service refused what the command asks, naming the field (exit code 4): an alert setting out of range."""


class CallerNotAllowed(Exception):
    """The service's RPC refuses CHIBO_AMQP_URL's broker user, not in its CHIBO_RPC_CALLERS (exit code 5): said by
    the command, which names itself (`said`)."""

    def __init__(self, service: str, amqp_url: str) -> None:
        super().__init__(service)
        self.service, self.amqp_url = service, amqp_url

    def said(self, command: str) -> str:
        """The refusal's one line for `python -m shared.ops <command>` (shared.rpc.caller_hint)."""
        return caller_hint("shared.ops", command, self.service, self.amqp_url)


class Unavailable(Exception):
    """The service did not answer in time, or failed (exit code 6): it is likely not running."""


UNREACHABLE = (OSError, TimeoutError, asyncpg.CannotConnectNowError)
"""What connecting to a broker or database that does not answer raises: refused (nothing listens on the port), a
name that does not resolve, no answer in time (aio_pika's AMQPConnectionError is an OSError), a server starting up."""
SYSTEM_SETTING = f"(`make up` keeps the one it used in {SAVED_SETTINGS}, read when the variable is not exported)"
"""Where an operator finds the right value of a setting a refusal names."""


def unreachable(what: str, url: str, setting: str, exc: BaseException) -> Unavailable:
    """Unavailable (exit code 6) naming what did not answer, its URL without its password, and the error's kind,
    never its text (a client's message may carry the URL with its password)."""
    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
    shown = url_without_password(url)
    return Unavailable(f"the {what} at {shown} does not answer ({why}): is it running, and {setting} right?")


def broker_refused(url: str, exc: BaseException) -> Unavailable:
    """Unavailable (exit code 6) for a broker that did not let CHIBO_AMQP_URL in: the login refused, or the vhost
    not opened (it does not exist, or the user has no permission there); else `unreachable`."""
    user = broker_user_of(url)
    shown = url_without_password(url)
    if isinstance(exc, aio_pika.exceptions.ProbableAuthenticationError):
        why = f"refused the login of user {user!r}: set CHIBO_AMQP_URL to a user and password it knows"
    elif isinstance(exc, aio_pika.exceptions.AMQPError) and not isinstance(exc, OSError):
        why = (
            f"did not open vhost {vhost_of(url)!r} (it does not exist, or user {user!r} has no permission there):"
            " set CHIBO_AMQP_URL to this system's vhost"
        )
    else:
        return unreachable("broker", url, "CHIBO_AMQP_URL", exc)
    return Unavailable(f"the broker at {shown} {why} {SYSTEM_SETTING}")


BROKER_REFUSALS = (*UNREACHABLE, aio_pika.exceptions.AMQPError)
"""What connecting to CHIBO_AMQP_URL raises when the broker does not answer or does not let the URL in."""


async def start_broker(settings: ServiceSettings) -> RabbitBroker:
    """A started broker client on CHIBO_AMQP_URL; Unavailable when RabbitMQ does not answer there or refuses it."""
    broker = RabbitBroker(settings.amqp_url, logger=None)
    try:
        await broker.start()
    except BROKER_REFUSALS as exc:
        await broker.stop()
        raise broker_refused(settings.amqp_url, exc) from None
    return broker


async def connect_broker(settings: ServiceSettings) -> aio_pika.abc.AbstractConnection:
    """A connection to CHIBO_AMQP_URL's broker (the dead-letter commands); Unavailable when it does not answer or
    refuses it (login, vhost)."""
    try:
        return await aio_pika.connect(settings.amqp_url)
    except BROKER_REFUSALS as exc:
        raise broker_refused(settings.amqp_url, exc) from None


async def connect_database(settings: ServiceSettings, schema: str) -> asyncpg.Connection:
    """A connection to CHIBO_DATABASE_URL with `schema` first on the search path; Unavailable when PostgreSQL does
    not answer there, has no such database or refuses the login."""
    url = settings.database_url
    try:
        return await asyncpg.connect(url, server_settings={"search_path": f"{schema},public"})
    except UNREACHABLE as exc:
        raise unreachable("database", url, "CHIBO_DATABASE_URL", exc) from None
    except asyncpg.InvalidCatalogNameError:
        raise Unavailable(
            f"the database {database_of(url)!r} does not exist at {url_without_password(url)}: set CHIBO_DATABASE_URL"
            f" to this system's database {SYSTEM_SETTING}"
        ) from None
    except asyncpg.InvalidAuthorizationSpecificationError as exc:
        user = urlsplit(url).username or "postgres"
        raise Unavailable(
            f"the database server at {url_without_password(url)} refused the login of role {user!r}"
            f" ({type(exc).__name__}): set CHIBO_DATABASE_URL to a role and password it knows"
        ) from None


def operator() -> str:
    """Who acts from the command line, as the audit log and a dismissal name them: `cli:<login>`."""
    return f"cli:{getpass.getuser()}"


async def call_service(request: Request[Any], settings: ServiceSettings) -> tuple[dict[str, Any] | None, int]:
    """One call of a service's RPC (meetings', notifications') as the API makes it: the reply (None when refused) and
    the status the API would answer (200; 404 not_found, 409 conflict); any other refusal is raised (RpcError)."""
    reply, status, _ = await call_service_saying(request, settings)
    return reply, status


async def call_service_saying(
    request: Request[Any], settings: ServiceSettings
) -> tuple[dict[str, Any] | None, int, RpcError | None]:
    """call_service, with the service's refusal itself (its English message and refusal code, as the API answers
    them) when it refused with not_found or conflict; None beside a reply."""
    broker = await start_broker(settings)
    try:
        client = RpcClient(broker, timeout=settings.rpc_timeout, user_id=broker_user_of(settings.amqp_url))
        try:
            return (await client.call(request)).model_dump(mode="json", exclude_none=True), 200, None
        except RpcError as exc:
            if exc.code == "forbidden":
                raise CallerNotAllowed(request.service, settings.amqp_url) from None
            if exc.code in ("unavailable", "internal"):
                raise Unavailable(f"the {request.service} service: {exc.message} (is it running?)") from None
            if exc.code not in REFUSED_STATUS:
                raise
            return None, REFUSED_STATUS[exc.code], exc
    finally:
        await broker.stop()


REFUSED_STATUS = {"not_found": 404, "conflict": 409}
"""The API's status for each refusal a command reports as its exit code rather than raises."""


CLI_PATH = "/cli/"
"""Where every command line audit path begins (the API's paths begin with /v1/)."""


async def audit(settings: ServiceSettings, *, path: str, status: int, detail: dict[str, Any]) -> None:
    """A row in gateway.audit_log for one operator action from the command line, as the API writes it, and, when it
    was done (status below 400), its `operator_action` log line on stderr, as the API logs it. `path` is the
    command line's own, `/cli/` and the API's path without `/v1/` (`/cli/outbox/meetings/parked/replay`), so the
    audit tells a command from an API call; ValueError otherwise."""
    if not path.startswith(CLI_PATH):
        raise ValueError(f"an ops audit path begins with {CLI_PATH}: {path}")
    conn = await connect_database(settings, "gateway")
    try:
        await append_audit(
            conn, sub=operator(), role="operator", method="CLI", path=path, status=status, client_ip=None, detail=detail
        )
    finally:
        await conn.close()
    if status < 400:
        fields = {key: value for key, value in detail.items() if key != "action"}
        # the confirmation names the system acted on: another checkout's vhost and database are one variable away
        fields |= {"vhost": vhost_of(settings.amqp_url), "database": database_of(settings.database_url)}
        log.info("operator_action", action=detail.get("action", path), sub=operator(), path=path, **fields)


async def held_action(args: argparse.Namespace, settings: ServiceSettings) -> dict[str, Any]:
    """Retry or drop one held event through meetings' RPC, as the API does, and audit it in gateway.audit_log with
    the status the API would answer: 200; for a retry of an event not held, 409 when it was rejected (Conflict: its
    rejection is replayed instead) or 404 when no held or rejected event has that id (NotFound); 404 for a drop of
    an event not held."""
    source, event_id = args.source, args.event_id
    request: Request[meetings_rpc.IngestResultReply] = (
        meetings_rpc.RetryHeldEvent(source=source, event_id=event_id)
        if args.action == "retry"
        else meetings_rpc.DropHeldEvent(source=source, event_id=event_id, reason=args.reason)
    )
    reply, status = await call_service(request, settings)
    rejection = None
    if reply is None and args.action == "retry":
        rejection, _ = await call_service(meetings_rpc.GetOpenRejection(source=source, event_id=event_id), settings)
        status = 404 if rejection is None else 409
    detail: dict[str, Any] = {"action": AUDITED_ACTIONS[args.action], "source": source, "event_id": event_id}
    detail |= {"reason": args.reason} if args.action == "drop" else {"outcome": reply and reply.get("outcome")}
    await audit(settings, path=HELD_PATHS[args.action], status=status, detail=detail)
    if rejection is not None:
        rejection_id = rejection["rejection_id"]
        raise Conflict(
            f"event {event_id} from {source} is not held: it was rejected (rejection {rejection_id}); replay that "
            f"rejection instead (rejections replay --id {rejection_id})"
        )
    if reply is None:
        raise NotFound(
            f"no held or rejected event has the id {event_id} from {source}"
            if args.action == "retry"
            else f"no held event {event_id} from {source}"
        )
    return judged("held retry", reply) if args.action == "retry" else reply


class BadFilter(Exception):
    """`rejections dismiss` was given no rejection (no --id, no filter, no --all) or a contradictory one (exit 2)."""


def dismissal_filter(args: argparse.Namespace) -> meetings_rpc.RejectionFilter | None:
    """The filter `rejections dismiss` was given (None: it names one rejection by --id); BadFilter naming the
    options (main: exit 2, a wrong argument) for none given without --all, --id with a filter, a --code no refusal
    code, or --after not before --before (checked_filter)."""
    options = {name: getattr(args, name) for name in FILTER_OPTIONS}
    given = [FILTER_OPTIONS[name] for name, value in options.items() if value is not None]
    if args.rejection_id is not None:
        expected = ["--expected"] if args.expected is not None else []
        if given or args.every or args.dry_run or expected:
            dry = ["--dry-run"] if args.dry_run else []
            said = ", ".join([*given, *(["--all"] if args.every else []), *dry, *expected])
            raise BadFilter(f"--id names one rejection: give it without {said}")
        return None
    try:
        return meetings_rpc.checked_filter(meetings_rpc.RejectionFilter(**options), every=args.every)
    except meetings_rpc.EmptyFilter:
        raise BadFilter(
            "--code: name one rejection by --id, or a filter (--code, --source, --sender, --before, --after);"
            " --all to dismiss every open rejection"
        ) from None
    except meetings_rpc.FilterRefused as exc:
        option = FILTER_OPTIONS[exc.field]
        said = "must be before --before" if exc.field == "received_after" else str(exc)
        raise BadFilter(f"{option}: {said}") from None


async def dismiss_filtered_action(
    args: argparse.Namespace, settings: ServiceSettings, selected: meetings_rpc.RejectionFilter
) -> dict[str, Any]:
    """Close (or, --dry-run, count) every open rejection `selected` chooses through meetings' RPC, as POST
    /v1/rejections/dismiss does (shared.rejection_dismissal), audited under /cli/rejections/dismiss with its counts."""
    request = meetings_rpc.DismissRejections(
        filter=selected,
        all=args.every,
        reason=args.reason,
        dismissed_by=operator(),
        dry_run=args.dry_run,
        expected=args.expected,
    )

    async def call(asked: meetings_rpc.DismissRejections) -> meetings_rpc.RejectionsDismissedReply:
        reply, _, _ = await call_service_saying(asked, settings)
        return meetings_rpc.RejectionsDismissedReply.model_validate(reply)

    done = await dismiss_filtered(call, request)
    detail = {
        "action": "rejections_dismissed",
        "filter": done["filter"],
        "all": args.every,
        "dry_run": args.dry_run,
        "reason": args.reason,
        "expected": args.expected,
        "matched": done["matched"],
        "dismissed": done["dismissed"],
        "remaining": done["remaining"],
        "expected_differs": done["expected_differs"],
    }
    await audit(settings, path="/cli/rejections/dismiss", status=200, detail=detail)  # its one operator_action line
    return done


async def rejection_action(args: argparse.Namespace, settings: ServiceSettings) -> dict[str, Any]:
    """Replay or dismiss one rejection through meetings' RPC, as POST /v1/rejections/{r}/replay and /dismiss do,
    audited with the status the API would answer; NotFound (404: no such rejection or attempt) or Conflict (409)
    saying the service's own reason and code, as the API's answer does: replayed or dismissed already
    (`already_replayed`, `already_dismissed`), or a replay as it was of a body not kept as sent (`body_not_kept`),
    one that reads as no JSON (`body_reads_no_json`) or one certain to be refused again for the same reason, its
    content type, an attribute header or its batch envelope (`refused_again_as_sent`); nothing is judged then."""
    if args.action == "dismiss" and args.selected is not None:
        return await dismiss_filtered_action(args, settings, args.selected)
    rejection_id = args.rejection_id
    request: Request[Any] = (
        meetings_rpc.ReplayRejection(rejection_id=rejection_id, attempt=args.attempt)
        if args.action == "replay"
        else meetings_rpc.DismissRejection(rejection_id=rejection_id, reason=args.reason, dismissed_by=operator())
    )
    reply, status, refused = await call_service_saying(request, settings)
    detail: dict[str, Any] = (
        {"rejection_id": rejection_id, "corrected": False, "attempt": args.attempt}
        if args.action == "replay"
        else {"action": "rejection_dismissed", "rejection_id": rejection_id, "reason": args.reason}
    )
    await audit(settings, path=f"/cli/rejections/{rejection_id}/{args.action}", status=status, detail=detail)
    if status == 404:
        raise NotFound(
            refused.message if refused is not None and refused.field == "attempt" else f"no rejection {rejection_id}"
        )
    if reply is None:
        raise Conflict(refusal_said(refused) or f"rejection {rejection_id} is no longer open")
    return judged("rejections replay", reply) if args.action == "replay" else reply


def refusal_said(refused: RpcError | None) -> str | None:
    """A service's refusal as a command says it: its English message, then its refusal code when it gave one
    (`… (body_not_kept)`, the API's `reason_code`); None without a refusal."""
    if refused is None:
        return None
    code = refused.refusal.code if refused.refusal is not None else None
    return f"{refused.message} ({code})" if code else refused.message


ALERT_RULES_PATH = "/cli/committees/{committee}/alert-rules"
"""The API route `alert-rules` does the work of (and a change is audited under, with `/{rule}`)."""


async def known_committee(settings: ServiceSettings, committee_id: str) -> None:
    """NotFound unless notifications, which keeps the alert settings, knows `committee_id` as a committee (the API
    answers 404 for a unit that is no committee)."""
    conn = await connect_database(settings, "notifications")
    try:
        kind = await conn.fetchval("SELECT kind FROM unit WHERE id = $1", committee_id)
    finally:
        await conn.close()
    if kind != "committee":
        raise NotFound(f"no committee {committee_id}")


async def alert_rules_action(args: argparse.Namespace, settings: ServiceSettings) -> dict[str, Any]:
    """List or change a committee's alert settings through notifications' RPC as GET and PUT
    /v1/committees/{c}/alert-rules[/{rule}] do (shared/alert_rules.py: the same change, check and answer), a change
    audited with the API's detail and the status it would answer; NotFound (404: no such committee or rule) or
    Refused (422: a value notifications refuses, or a change that changes nothing, naming the field)."""
    committee = args.committee
    await known_committee(settings, committee)
    if args.action == "list":
        reply, _ = await call_service(notifications_rpc.GetRules(unit_id=committee), settings)
        return alert_rules.rules_view(notifications_rpc.RulesReply.model_validate(reply), committee)
    path = ALERT_RULES_PATH.format(committee=committee) + f"/{args.rule}"
    try:
        params: dict[str, Any] = (
            {name: param_value(name, raw) for name, raw in args.params}
            if args.action == "set"
            else dict.fromkeys(args.params)  # reset: each given back (None)
        )
    except Refused as exc:
        # the API audits a body it cannot read as a 422 too
        detail = {"committee_id": committee, "rule": args.rule, "refused": str(exc)}
        await audit(settings, path=path, status=422, detail=detail)
        raise
    try:
        change = alert_rules.rule_change(
            committee,
            args.rule,
            enabled=args.enabled if args.action == "set" else None,
            reset_enabled=args.action == "reset" and args.reset_enabled,
            params=params or None,
        )
    except RpcError as exc:
        raise Refused(named(exc.field, exc.message)) from None
    try:
        reply, status = await call_service(change, settings)
    except RpcError as exc:
        if exc.code != "invalid":
            raise
        status = 404 if exc.field == "rule" else 422
        await audit(settings, path=path, status=status, detail=alert_rules.audit_detail(change))
        if status == 404:
            raise NotFound(f"no alert rule {args.rule}") from None
        raise Refused(named(exc.field, exc.message)) from None
    await audit(settings, path=path, status=status, detail=alert_rules.audit_detail(change))
    answer = notifications_rpc.RulesReply.model_validate(reply)
    return alert_rules.rule_view(committee, args.rule, answer.rules[args.rule])


async def unrouted_return(args: argparse.Namespace, settings: ServiceSettings) -> dict[str, Any]:
    """`unrouted return`: the service's unrouted copies back to chibo.events (return_unrouted), done by the service
    over its RPC when this login cannot vouch for them (through_service), audited when it moved something or named
    no queue (a dry run only reads); NotFound when the queue does not exist."""
    result: dict[str, Any] | None
    if through_service(args.service, settings):
        request = CATALOGS[args.service].return_unrouted(dry_run=args.dry_run)
        result, _, refusal = await call_service_saying(request, settings)
        missing: Exception = NotFound(refusal.message if refusal else "")
    else:
        connection = await connect_broker(settings)
        try:
            result = await return_unrouted(connection, args.service, dry_run=args.dry_run)
        except NoUnroutedWatch as exc:
            result, missing = None, exc
        finally:
            await connection.close()
    queue = unrouted_watch_name(args.service)
    path = f"/cli/unrouted/{queue}/return"
    if result is None:
        await audit(settings, path=path, status=404, detail={"action": "unrouted_returned", "queue": queue})
        raise NotFound(str(missing))
    if not args.dry_run:
        detail = {"action": "unrouted_returned", "queue": queue, "moved": result["moved"], "left": result["left"]}
        await audit(settings, path=path, status=200, detail=detail | {"routing_keys": result["routing_keys"]})
    return result


async def list_rejections(
    conn: asyncpg.Connection, *, status: str, limit: int, offset: int, replayable: bool | None = None
) -> dict[str, Any]:
    """Rejections of one status (`total`: how many have it), with `counts`, every status's number as GET
    /v1/rejections and the operator page give it (shared.rejection_counts: `open` is the page's figure, `total` the
    API's unfiltered one), newest first, each with every field GET /v1/rejections answers for it, its attempts' too
    (shared.rejection_fields.public_rejection: the sender, the reason and its code, the last replay's field, code
    and outcome, a dismissal's who/when/why, the AMQP `message_id`, whether it can be replayed as sent; `replay
    --attempt N`), plus the `route` it came by. `replayable` True (False) keeps only those that can (cannot) be
    replayed as sent, `total` counting those of the status."""
    order = " ORDER BY received_at DESC, rejection_id"
    arguments: tuple[Any, ...]
    if replayable is None:
        total = await conn.fetchval("SELECT count(*) FROM rejection WHERE status = $1", status)
        page, arguments = " WHERE status = $1" + order + " LIMIT $2 OFFSET $3", (status, limit, offset)
    else:  # the rule reads the reason's text (shared.reading), so the status's rows are judged here, then paged
        judged = await conn.fetch(
            "SELECT rejection_id, source, event_id, type, reason, refusal::text AS refusal, "
            + KEPT_TAIL_SQL.format(raw="raw")
            + " AS kept_tail FROM rejection WHERE status = $1"
            + order,
            status,
        )
        kept = [
            r["rejection_id"]
            for r in judged
            if (
                not_replayable_reason(
                    r["kept_tail"],
                    r["reason"],
                    r["refusal"],
                    names_event=names_an_event(r["source"], r["event_id"], r["type"]),
                )
                is None
            )
            is replayable
        ]
        total = len(kept)
        page, arguments = " WHERE rejection_id = ANY($1::text[])" + order, (kept[offset : offset + limit],)
    rows = await conn.fetch("SELECT " + REJECTION_COLUMNS + " FROM rejection" + page, *arguments)
    items = [public_rejection(rejection_reply(r)) | {"route": r["sent_route"]} for r in rows]
    return {"total": total, "counts": await rejection_counts(conn), "items": items}


MISSING = "missing"
"""A dead-letter queue's count in `dead-letters list` when the vhost has no such queue (never `null`)."""


def no_queue(queue: str, settings: ServiceSettings) -> NotFound:
    """NotFound for a queue the vhost acted on does not have, naming the vhost and the broker's URL."""
    return NotFound(
        f"queue {queue} does not exist in vhost {vhost_of(settings.amqp_url)!r} at"
        f" {url_without_password(settings.amqp_url)}: is CHIBO_AMQP_URL this system's vhost {SYSTEM_SETTING}?"
    )


async def dead_letter_totals(connection: aio_pika.abc.AbstractConnection, settings: ServiceSettings) -> dict[str, Any]:
    """`dead-letters list` without a queue: each queue's count, MISSING for one the vhost does not have (a warning
    line on stderr names them); NotFound when it has none of them (the wrong vhost, or the system never started)."""
    counts = await dead_letter_counts(connection, DEAD_LETTER_QUEUES)
    missing = [queue for queue, count in counts.items() if count is None]
    if len(missing) == len(counts):
        raise NotFound(
            f"none of the {len(counts)} dead-letter queues exists in vhost {vhost_of(settings.amqp_url)!r} at"
            f" {url_without_password(settings.amqp_url)}: is CHIBO_AMQP_URL this system's vhost {SYSTEM_SETTING}?"
        )
    if missing:
        sys.stderr.write(f"warning: not in vhost {vhost_of(settings.amqp_url)!r}: {', '.join(missing)}\n")
    return {queue: MISSING if count is None else count for queue, count in counts.items()}


async def dead_letters_action(args: argparse.Namespace, settings: ServiceSettings) -> Any:
    """`dead-letters list|replay|purge` on CHIBO_AMQP_URL's vhost, replay and purge audited; NotFound for a queue the
    vhost does not have (audited as a 404 for replay and purge) or an event id none of its dead letters has."""
    owner = OWNER_OF_DEAD_LETTERS[args.queue] if args.queue else ""
    if args.action == "replay":
        await refuse_conflicting_selectors(args, settings)
    if args.action == "replay" and through_service(owner, settings):
        return await replay_through_service(args, settings)
    connection = await connect_broker(settings)
    try:
        if args.action == "list" and args.queue is None:
            return await dead_letter_totals(connection, settings)
        path = f"/cli/dead-letters/{args.queue}/{args.action}"
        action = {"replay": "dead_letters_replayed", "purge": "dead_letters_purged"}.get(args.action)
        choice = replay_choice(args) if args.action == "replay" else {}
        try:
            if args.action == "list":
                return await list_marked(connection, args, settings, owner)
            if args.action == "replay":
                own = broker_user_of(settings.amqp_url) == f"{settings.broker_user_prefix}{owner}"
                marks = await connect_database(settings, owner)
                try:
                    result = await replay_dead_letters(
                        connection, args.queue, own_letters_only=not own, sent=PgSentLetters(marks), **choice
                    )
                finally:
                    await marks.close()
            else:
                result = await purge_dead_letters(
                    connection, args.queue, through=args.through, most=args.count, newest=args.newest
                )
        except aio_pika.exceptions.ChannelNotFoundEntity:
            if action is not None:
                await audit(settings, path=path, status=404, detail={"action": action, "queue": args.queue, **choice})
            raise no_queue(args.queue, settings) from None
        except LargerThanShown as exc:  # more died by --through than the listing held: nothing deleted (exit 3)
            detail = {"action": action, "queue": args.queue, "count": args.count, "selected": exc.selected}
            await audit(settings, path=path, status=409, detail=detail)
            raise Conflict(str(exc)) from None
    finally:
        await connection.close()
    if args.action == "purge":
        detail = {"action": action, "queue": args.queue, "purged": result["purged"]}
        named = {
            "through": args.through.isoformat() if args.through else None,
            "count": args.count,
            "newest": args.newest,
        }
        detail |= {key: value for key, value in named.items() if value is not None}
        await audit(settings, path=path, status=200, detail=detail)
        return result
    if result.get("unvouched"):  # audited as the API answers a caller it does not let do it
        detail = {"action": "dead_letters_replayed", "queue": args.queue, **choice}
        detail |= {key: result[key] for key in ("replayed", "kept", "unvouched")}
        await audit(settings, path=f"/cli/dead-letters/{args.queue}/replay", status=403, detail=detail)
        raise not_vouched(args.queue, owner, result, settings)
    return await replayed(args, settings, result, choice)


async def list_marked(
    connection: aio_pika.abc.AbstractConnection, args: argparse.Namespace, settings: ServiceSettings, owner: str
) -> dict[str, Any]:
    """`dead-letters list --queue Q`, each letter a replay sent back and could not remove marked `sent_back` and
    counted, from the queue's service's dead_letter_sent, as the operations page lists them (shared.ops.rpc); its
    database unreachable, listed still, unmarked (a warning), as there."""
    try:
        marks: asyncpg.Connection | None = await connect_database(settings, owner)
    except Unavailable as exc:
        log.warning("dead_letter_marks_unread", queue=args.queue, error=str(exc))
        marks = None
    try:
        sent = PgSentLetters(marks) if marks is not None else None
        return await list_dead_letters(connection, args.queue, limit=args.limit, offset=args.offset, sent=sent)
    finally:
        if marks is not None:
            await marks.close()


class NotVouched(Exception):
    """`dead-letters replay` as a login that is not the queue's service's kept dead letters another user first
    published (exit code 5): sent back as this login, their consumer would take it for their publisher and refuse
    them; the service must replay them, asked as the gateway's broker user."""


def not_vouched(queue: str, owner: str, result: dict[str, Any], settings: ServiceSettings) -> NotVouched:
    """NotVouched naming the dead letters kept, who first published them, and what the command is missing."""
    login = broker_user_of(settings.amqp_url)
    publishers = ", ".join(f"{count} by {user!r}" for user, count in sorted(result["unvouched"].items()))
    return NotVouched(
        f"{sum(result['unvouched'].values())} dead letters of {queue} were not replayed (first published {publishers}):"
        f" replayed as broker user {login!r}, their consumer would take {login!r} for their publisher and refuse them."
        f" {owner} replays them as itself when asked over its RPC by the gateway's broker user, which this command"
        f" uses when {GATEWAY_URL} is exported or this checkout's `make up` wrote it to {BROKER_CREDENTIALS};"
        f" neither is here ({result['replayed']} others replayed, {result['kept'] - sum(result['unvouched'].values())}"
        " others kept)"
    )


async def replayed(
    args: argparse.Namespace, settings: ServiceSettings, result: dict[str, Any], choice: dict[str, Any]
) -> dict[str, Any]:
    """A `dead-letters replay` done: audited; NotFound when `--event-id`, `--message-id` or `--key` named no dead
    letter of the queue (as the API's 404, services.gateway.http.recovery.chosen_by_id)."""
    path = f"/cli/dead-letters/{args.queue}/replay"
    detail = {"action": "dead_letters_replayed", "queue": args.queue, "replayed": result["replayed"]}
    detail |= {"kept": result["kept"], **choice}
    unknown = next(((field, said) for field, said in REPLAY_ID_WORDS.items() if choice.get(field) is not None), None)
    missing = unknown is not None and result["replayed"] == 0
    await audit(settings, path=path, status=404 if missing else 200, detail=detail)
    if missing and unknown is not None:
        said = f"no dead letter in {args.queue} has the {unknown[1]} {choice[unknown[0]]}"
        if unknown[0] == "message_id":
            said += await batch_hint(args.queue, str(choice["message_id"]), settings)
        raise NotFound(said)
    return result


BATCH_KEYS_SHOWN = 10
"""How many keys of a batch's dead letters a not-found line of its message id names (the rest counted)."""


async def batch_hint(queue: str, message_id: str, settings: ServiceSettings) -> str:
    """What a `replay --message-id` that named no letter adds when `message_id` is the `batch_message_id` of some of
    `queue`'s letters (a batch's id: each of its events died as its own message): how many, and their `--key`s to
    replay them one by one; "" when none has it or the listing cannot be read (the not-found line said alone)."""
    try:
        connection = await connect_broker(settings)
        try:
            listing = await list_dead_letters(connection, queue, limit=PEEK_MOST)
        finally:
            await connection.close()
    except Exception as exc:  # noqa: BLE001 - a hint only: the not-found line is said without it
        log.warning("batch_hint_unread", queue=queue, error=repr(exc))
        return ""
    keys = [str(item["key"]) for item in listing["items"] if item.get("batch_message_id") == message_id]
    if not keys:
        return ""
    shown = " ".join(f"--key {key}" for key in keys[:BATCH_KEYS_SHOWN])
    more = (
        f" (and {len(keys) - BATCH_KEYS_SHOWN} more: `dead-letters list --queue {queue}`)"
        if len(keys) > BATCH_KEYS_SHOWN
        else ""
    )
    return (
        f"; {len(keys)} dead letter{'s' if len(keys) > 1 else ''} came in the batch message {message_id}"
        " (their `batch_message_id`), each its own"
        f" message with its own id: replay them one at a time by their key, {shown}{more}"
    )


REPLAY_ID_WORDS = {"key": "listing key", "message_id": "message id", "event_id": "event id"}
"""Each id a `dead-letters replay` can name its letters by, and its words in a not-found line (the API's)."""


def replay_choice(args: argparse.Namespace) -> dict[str, Any]:
    """The selectors `dead-letters replay` was given (`limit`, `event_id`, `message_id`, `key`), as the API's body."""
    given = ("limit", *REPLAY_SELECTORS)
    return {name: getattr(args, name) for name in given if getattr(args, name) is not None}


async def refuse_conflicting_selectors(args: argparse.Namespace, settings: ServiceSettings) -> None:
    """Refused (exit 4), audited as the API's 422 with what was asked, when `dead-letters replay` names two selectors
    that would both choose (shared.contracts.ops_rpc.replay_selector_conflict): nothing is replayed."""
    choice = replay_choice(args)
    conflict = replay_selector_conflict(choice)
    if conflict is None:
        return
    detail = {"action": "dead_letters_replayed", "queue": args.queue, **choice, "refused": conflict}
    await audit(settings, path=f"/cli/dead-letters/{args.queue}/replay", status=422, detail=detail)
    raise Refused(conflict)


def through_service(service: str, settings: ServiceSettings) -> bool:
    """Whether a replay or return of `service`'s messages is asked of the service over its RPC instead of done here:
    when this command runs as one of the per-process broker users (`<prefix><peer>`: the gateway's after `make up`,
    checkout_system's as_gateway, or in k8s) other than the service's own. A copy is published as this login
    (`user_id`), and consumers trust who first published it only from their own (shared.consuming.origin_of): the
    service republishes it as itself naming its original publisher, so a genuine fact is applied again and a forged
    one stays refused. With one broker user for every process (this login is the service's) it is done here."""
    login, prefix = broker_user_of(settings.amqp_url), settings.broker_user_prefix
    return login != f"{prefix}{service}" and any(login == f"{prefix}{peer}" for peer in PEER_SERVICES)


async def replay_through_service(args: argparse.Namespace, settings: ServiceSettings) -> dict[str, Any]:
    """`dead-letters replay` done by the queue's service over its RPC, as the operations page does (the service
    replays as its own broker user, vouching for each letter's first publisher), audited as done here; NotFound
    (audited 404) when the service has no such queue declared."""
    choice = replay_choice(args)
    request = CATALOGS[OWNER_OF_DEAD_LETTERS[args.queue]].replay_dead_letters(queue=args.queue, **choice)
    result, _, _ = await call_service_saying(request, settings)
    if result is None:
        detail = {"action": "dead_letters_replayed", "queue": args.queue, **choice}
        await audit(settings, path=f"/cli/dead-letters/{args.queue}/replay", status=404, detail=detail)
        raise no_queue(args.queue, settings)
    return await replayed(args, settings, result, choice)


async def run(args: argparse.Namespace, settings: ServiceSettings) -> Any:
    """Carry out one command; its result as JSON-ready data."""
    if args.area == "dead-letters":
        return await dead_letters_action(args, settings)
    if args.area == "unrouted":
        return await unrouted_return(args, settings)
    if args.area == "held" and args.action != "list":
        return await held_action(args, settings)
    if args.area == "rejections" and args.action != "list":
        return await rejection_action(args, settings)
    if args.area == "alert-rules":
        return await alert_rules_action(args, settings)
    schema = "meetings" if args.area in ("held", "rejections") else args.service
    conn = await connect_database(settings, schema)
    try:
        if args.area == "rejections":
            async with conn.transaction(isolation="repeatable_read", readonly=True):  # counts as of the page
                return await list_rejections(
                    conn, status=args.status, limit=args.limit, offset=args.offset, replayable=args.replayable
                )
        if args.area == "held":
            rows = await conn.fetch(
                "SELECT source, event_id, type, waiting_for, reason, field, route, held_at"
                " FROM held_event ORDER BY held_at, source, event_id LIMIT $1 OFFSET $2",
                args.limit,
                args.offset,
            )
            return {"total": await conn.fetchval("SELECT count(*) FROM held_event"), "items": [dict(r) for r in rows]}
        if args.action == "status":
            return await outbox_health(conn)
        if args.action == "list":
            return await list_parked(conn, limit=args.limit, offset=args.offset)
        rows_back = await replay_parked(conn, schema=schema, ids=None if args.all else args.ids)
    finally:
        await conn.close()
    replayed_rows, missing = rows_back["replayed"], rows_back["missing"]
    detail = {"action": "parked_rows_replayed", "service": schema, "ids": args.ids or "all", "replayed": replayed_rows}
    detail |= {"missing": missing} if missing else {}
    # as the API: a 404 only when no id given names a parked row; some replayed is a success naming the others unknown
    status = 404 if missing and not replayed_rows else 200
    await audit(settings, path=f"/cli/outbox/{schema}/parked/replay", status=status, detail=detail)
    if status == 404:
        raise NotFound(parked_rows_missing(schema, missing, replayed_rows))
    return {
        "replayed": replayed_rows,
        "replayed_ids": rows_back["replayed_ids"],
        "unknown": unknown_parked_rows(schema, missing),
    }


def asks_as_gateway(args: argparse.Namespace) -> bool:
    """Whether the command asks a service's RPC as the API does (call_service), so runs as the gateway's broker user,
    the one CHIBO_RPC_CALLERS lists after `make up` (shared.config.gateway_caller): held retry|drop, rejections
    replay|dismiss, every alert-rules command; and dead-letters replay and unrouted return, which then ask the service
    (through_service)."""
    if args.area == "unrouted" or (args.area == "dead-letters" and args.action == "replay"):
        return True  # the service does it when this login cannot vouch for the copies (through_service)
    return args.area == "alert-rules" or (args.area in ("held", "rejections") and args.action != "list")


def main(argv: Sequence[str] | None = None, *, checkout: Path = CHECKOUT) -> int:
    """Parse, run on the settings of `checkout` (exported, else its var/up.env, else the defaults; the system acted
    on said first on stderr), print the result as JSON; the exit code."""
    root = parser()
    # words no command takes are refused by that command (its usage), not by the top level as parse_args does
    args, unknown = root.parse_known_args(argv)
    if unknown:
        command_parser(root, args.area, args.action).error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.area == "rejections" and args.action == "dismiss":
        try:
            args.selected = dismissal_filter(args)
        except BadFilter as exc:
            # exit 2, as a wrong argument, with the usage of the command given, as argparse says its own errors
            command_parser(root, args.area, args.action).error(str(exc))
    with ExitStack() as system:
        try:
            settings = system.enter_context(
                checkout_system("ops", ServiceSettings, checkout=checkout, as_gateway=asks_as_gateway(args))
            )
        except SavedSettingsError as exc:
            sys.stderr.write(f"settings: {exc}\n")
            return 2
        return _answer(args, settings)


def _answer(args: argparse.Namespace, settings: ServiceSettings) -> int:
    """Run the parsed command on `settings` and print its result as JSON; the exit code (main's)."""
    # the broker client logs a connection it could not make, then raises it: the command says so once (exit code 6);
    # the level is set back after, so a caller in the same process (a test) keeps the client's lines
    connection_log = logging.getLogger("aiormq.connection")
    level = connection_log.level
    connection_log.setLevel(logging.CRITICAL)
    try:
        result = asyncio.run(run(args, settings))
    except JudgedRejected as exc:  # judged, so its reply is the answer; the exit code says it did not get through
        json.dump(exc.reply, sys.stdout, ensure_ascii=False, indent=2, default=json_value)
        sys.stdout.write("\n")
        sys.stderr.write(f"rejected: {exc}\n")
        return 3
    except NotFound as exc:
        sys.stderr.write(f"not found: {exc}\n")
        return 1
    except Conflict as exc:
        sys.stderr.write(f"conflict: {exc}\n")
        return 3
    except Refused as exc:
        sys.stderr.write(f"refused: {exc}\n")
        return 4
    except CallerNotAllowed as exc:
        sys.stderr.write(f"not allowed: {exc.said(f'{args.area} {args.action}')}\n")
        return 5
    except NotVouched as exc:
        sys.stderr.write(f"not allowed: {exc}\n")
        return 5
    except Unavailable as exc:
        sys.stderr.write(f"unavailable: {exc}\n")
        return 6
    except asyncpg.UndefinedTableError as exc:
        # a database that exists but is not this system's (or not migrated): its tables are missing
        sys.stderr.write(
            f"unavailable: the database {database_of(settings.database_url)!r} at"
            f" {url_without_password(settings.database_url)} has no such table ({exc}): is CHIBO_DATABASE_URL this"
            f" system's database {SYSTEM_SETTING}?\n"
        )
        return 6
    finally:
        connection_log.setLevel(level)
    json.dump(result, sys.stdout, ensure_ascii=False, indent=2, default=json_value)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    # log lines (an action's `operator_action`) go to stderr, stdout holds the JSON answer alone
    configure_logging(service="ops", level="INFO", json=True)
    sys.exit(main())
