"""The operator's page: each service and queue, outboxes, held events, recent rejections and dead letters, with the
forms that replay, purge, retry and drop. Every form calls the API's own operator endpoint function (same role
check, same RPC, same audit detail and `operator_action` log line)."""

import asyncio
import functools
import hashlib
import hmac
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.gateway.auth import Role
from services.gateway.http import operations, recovery
from services.gateway.http.deps import State
from services.gateway.http.errors import DEPENDENCY_ERRORS
from services.gateway.schemas.operations import RejectionDismissCreate, RejectionsDismissCreate, ReplayCreate
from services.gateway.schemas.recovery import (
    DeadLetterReplayCreate,
    HeldEventCreate,
    HeldEventDropCreate,
    ParkedDropCreate,
    ParkedReplayCreate,
)
from services.gateway.web import forms, reasons
from services.gateway.web.core import (
    PREFIX,
    BadChoice,
    BadPosition,
    CurrentViewer,
    FormViewer,
    NotAllowed,
    Viewer,
    WebRoute,
    list_start,
    render,
)
from services.gateway.web.forms import FormErrors
from services.gateway.web.i18n import N_, _, format_moment, format_number
from shared.broker_api import OLDEST_SECONDS
from shared.contracts import meetings_rpc as meetings
from shared.contracts.meetings_rpc import ANSWERED_ON_FORM, EmptyFilter, FilterRefused, checked_filter
from shared.envelope import GATEWAY_SOURCE
from shared.logs import get_logger
from shared.outages import BROKER, outage_of
from shared.periods import VIETNAM_TZ
from shared.refusals import RefusalCode
from shared.rpc import RpcError
from shared.text import is_ascii_number


async def _positions(request: Request, viewer: CurrentViewer) -> None:
    """Every list position of the address checked before a page is drawn or a form acts (after the sign-in and the
    role): a made-up `…_offset` is a 400 page naming it, never an action taken and then an error."""
    _operator(viewer)
    list_offsets(request)
    rejections_view(request)


T = TypeVar("T")
Handler = Callable[[Request, FormViewer, State], Awaitable[Response]]

log = get_logger(__name__)
router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False, dependencies=[Depends(_positions)])
PAGE = f"{PREFIX}/operations"
SHOWN = 20
"""Items of a list a page: each queue's dead letters, each service's parked rows, held events and open rejections
(each list pages on by its own parameter, as the API's `offset`: see `list_offsets`)."""

NOTICES = {
    "replayed": N_("Sent back to their queue: %(count)s."),
    "purged": N_("Dead letters deleted: %(count)s."),
    "rows_replayed": N_("Outbox rows put back in line: %(count)s."),
    "row_dropped": N_("The outbox row was deleted; its event will not be sent."),
    "held_retried": N_("The held event was judged again: %(outcome)s."),
    "held_dropped": N_("The held event was turned into a rejection."),
    "rejection_replayed": N_("The rejected event was judged again: %(outcome)s."),
    "rejection_dismissed": N_("The rejection was closed; it is no longer counted as open."),
}
OUTCOMES = {
    "accepted": N_("accepted"),
    "held": N_("still waiting"),
    "rejected": N_("rejected"),
    "duplicate": N_("already applied"),
}
NOT_HELD = "not_held"
"""judged_notice's outcome for a held event retried that meetings neither holds nor has an open rejection of, and
whose taking in (accepted, duplicate) no sealed retry of this session vouches for: the page says only that."""
NO_HELD_OR_REJECTED = N_("No held or rejected event has the id %(event)s from %(source)s.")
RETRIED_REJECTED = N_(
    "The event %(event)s from %(source)s is no longer held: it was rejected, so it is not judged again here (replay "
    "it from the rejected events)."
)
SEALED_OUTCOMES = ("accepted", "duplicate")
"""The outcomes of a retry that leave nothing meetings can be asked about (the event is neither held nor rejected):
the address after the retry carries them sealed (judged_seal), and the page shows them only when the seal holds."""
STATUS = {"ok": N_("Working"), "degraded": N_("Needs attention"), "down": N_("Not answering")}
INSTANCE_STATES = {
    "reporting": N_("Reporting"),
    "missing": N_("Not reporting"),
    "frozen": N_("Frozen (stopped by a signal)"),
    "unanswered": N_("Not answering requests"),
    "stopped": N_("Stopped"),
}
"""A service process's state by its heartbeats (shared.instances)."""
SERVICES = {"meetings": N_("Meetings"), "evaluation": N_("Evaluation"), "notifications": N_("Notifications")}
ROUTES = {
    "http": N_("through the API (HTTP)"),
    "http-batch": N_("in a batch through the API (HTTP)"),
    "amqp": N_("through the message queue (AMQP)"),
    "amqp-batch": N_("in a batch through the message queue (AMQP)"),
    "replay": N_("an operator's replay"),
    "bulk": N_("through a bulk load of past records"),
}
"""How a refused attempt of a rejected event came (RejectionAttemptRead.route, meetings' one name of it: `amqp-batch`
an item of an AMQP batch message, or the message refused whole), as the page says it; another route is shown as its
code."""
BATCH_ROUTES = {
    "http": N_("in a batch through the API (HTTP)"),
    "amqp": N_("in a batch through the message queue (AMQP)"),
}
"""ROUTES of a body refused whole as a batch (its `type` "batch") stored before meetings named batch routes (`amqp`,
`http`): the page says it came as one. An item of a batch refused then says only its transport (nothing kept tells)."""
AMQP_ROUTES = frozenset(("amqp", "amqp-batch"))
"""The routes whose copy came in an AMQP message, whose sender is the broker user its `user_id` named (none: not
given)."""


def over_amqp(route: str | None) -> bool:
    """Whether a copy that came by `route` came in an AMQP message (one event, or a batch's): its sender, when none is
    recorded, was not given (the message carried no `user_id`)."""
    return route in AMQP_ROUTES


def rejection_route(item: Mapping[str, Any]) -> str | None:
    """The route of the attempt a rejection's row is about (the latest received from a sender, not a replay's, as
    RejectionReply.attempts says), or None when its reply lists no attempts."""
    attempts = item.get("attempts") or []
    sent = [attempt for attempt in attempts if attempt.get("route") != "replay"] or attempts
    return str(sent[-1]["route"]) if sent else None


DEATH_REASONS = {
    "rejected": N_("Refused by its consumer"),
    "delivery_limit": N_("Failed too many times"),
    "expired": N_("Expired"),
    "maxlen": N_("Queue full"),
}
DOWN_PARTS = {
    "meetings": N_("the meetings service"),
    "evaluation": N_("the evaluation service"),
    "notifications": N_("the notifications service"),
}
DATABASE_DOWN = {
    "meetings": N_("the meetings service's database"),
    "evaluation": N_("the evaluation service's database"),
    "notifications": N_("the notifications service's database"),
}
BROKER_DOWN = N_("the message broker (RabbitMQ)")
OVERVIEW_DOWN = N_("the overview of the services")


def down_parts(overview: Any) -> list[str]:
    """What does not answer, in Vietnamese, for the page's banner (`["cơ sở dữ liệu của dịch vụ chấm điểm", …]`):
    the broker, each service whose database its processes report down (their heartbeats' `database` figure, never
    their attention words), each other service `down`; [] when everything answers. `overview` is the page's overview
    (a model or its dict); one the page could not read at all (`unread`) says so."""
    found = overview if isinstance(overview, Mapping) else overview.model_dump()
    parts: list[str] = []
    if found.get("unread"):
        parts.append(_(OVERVIEW_DOWN))
    if found.get("broker", "ok") != "ok":
        parts.append(_(BROKER_DOWN))
    for name, service in (found.get("services") or {}).items():
        databases = [instance.get("database") for instance in service.get("instances") or []]
        if any(database not in (None, "ok") for database in databases):
            parts.append(_(DATABASE_DOWN.get(name, name)))
        elif service.get("status") == "down":
            parts.append(_(DOWN_PARTS.get(name, name)))
    return parts


MATCHING_INPUTS = ("code", "source", "sender", "received_after", "received_before", "reason")
"""The filtered dismissal's inputs top to bottom (its confirming form carries them hidden, as counted): the refusal
code chosen, the event source, the sending account, received from / before (Vietnam time) and the reason."""
ANY_CODE = N_("Any refusal code")
NOT_A_REJECTIONS_CODE = frozenset(
    {
        RefusalCode.ALREADY_REPLAYED,
        RefusalCode.ALREADY_DISMISSED,
        RefusalCode.BODY_NOT_KEPT,
        RefusalCode.BODY_READS_NO_JSON,
        RefusalCode.REFUSED_AGAIN_AS_SENT,
    }
)
"""The refusal codes of an operator's replay or dismissal refused (a conflict), never a stored rejection's."""
CODES_SAID = {**reasons.BY_CODE, RefusalCode.MEMBER_UNKNOWN: N_("The member is not known to the system yet.")}
CODE_OPTIONS: Mapping[str, str] = {
    "": ANY_CODE,
    **{str(code): CODES_SAID[code] for code in RefusalCode if code not in NOT_A_REJECTIONS_CODE},
    meetings.NO_CODE: N_(
        "Stored without a refusal code (an event invalid by its schema or envelope, a "
        "whole body refused, a held event dropped)"
    ),
}
"""The refusal codes the filtered dismissal offers (those a rejection can carry: a held event dropped keeps its
hold's `member_unknown`), each by what the lists say of it (reasons.BY_CODE; the page adds the code, as two codes may
read alike); "" for any code, meetings.NO_CODE for the rejections stored without one (most of them).
A KeyError here is a new RefusalCode the lists say nothing of yet."""
MATCHING_FORM = forms.FormLabels(
    fields={
        "source": N_("Event source"),
        "sender": N_("Sending account"),
        "received_after": N_("Received from"),
        "received_before": N_("Received before"),
        "reason": N_("Reason"),
    },
    choices={"code": N_("Refusal code")},
    hidden=frozenset({"csrf", "matched", "counted_at"}),
    order=("csrf", *MATCHING_INPUTS, "matched", "counted_at"),
    free=frozenset({"reason"}),
    options={"code": CODE_OPTIONS},
    types={"received_after": "datetime-local", "received_before": "datetime-local"},
    unanswered=(
        N_("Perhaps already done"),
        N_(
            "The request was sent, but the system did not answer in time, so some of the rejections may already have"
            " been closed. Open the operations page again and count them again with the same filter: sent again, it"
            " closes only those still open."
        ),
    ),
    back=(PAGE, N_("Back to the operations page")),
)
"""The filtered dismissal's form (operations.html `#dismiss-matching`): sent without `matched` it counts the open
rejections its filter selects (a dry run); its confirming form carries the same inputs hidden with the count
shown (`matched`) and the moment it was counted (`counted_at`), and closes exactly those: the window ends at that
moment and nothing is closed when another number matches now (http.operations.dismiss_rejections, as the API and the
command line do)."""


TEMPLATE_HELPERS: Mapping[str, Any] = {
    "down_parts": down_parts,
    "management_oldest_seconds": int(OLDEST_SECONDS),
    "status_labels": STATUS,
    "service_labels": SERVICES,
    "route_labels": ROUTES,
    "batch_route_labels": BATCH_ROUTES,
    "rejection_route": rejection_route,
    "over_amqp": over_amqp,
    "instance_states": INSTANCE_STATES,
    "death_reasons": DEATH_REASONS,
    "answered_on_form": ANSWERED_ON_FORM,
    "gateway_source": GATEWAY_SOURCE,  # answered before the account was kept: no account to name
    "explain_rejection": reasons.explain_rejection,
    "technical_detail": reasons.technical_detail,
    "explain_dead_letter": reasons.explain_dead_letter,
    "explain_parked": reasons.explain_parked,
    "explain_hold": reasons.explain_hold,
    "field_label": reasons.field_label,
    "code_options": lambda: CODE_OPTIONS,
    "matching_inputs": MATCHING_INPUTS,
}
"""What operations.html reads beside a request's figures: its labels and the Vietnamese explanations of rejections,
holds, dead letters and parked rows (the page renders with it, and so do the tests that render the template)."""


def _operator(viewer: Viewer) -> None:
    """NotAllowed (a 403 page saying who may) for anyone but an operator."""
    if viewer.role is not Role.OPERATOR:
        raise NotAllowed(_("This page is for the system's operators: the services, queues and held events."))


async def _quietly(call: Any) -> Any:
    """A part of the page whose service (or a database) does not answer is shown as missing, not as an error page;
    the gateway's own broker link down (every part is read over it, so nothing could be shown) and any other failure
    are raised: the former is the outage page naming RabbitMQ (WebRoute)."""
    try:
        return await call
    except RpcError:
        return None
    except DEPENDENCY_ERRORS as exc:
        outage = outage_of(exc)
        if outage is None or outage.dependency == BROKER:
            raise
        log.warning("operations_part_unavailable", error=repr(exc))
        return None


UNREAD_OVERVIEW: dict[str, Any] = {
    "status": "degraded",
    "broker": "ok",
    "services": {},
    "dead_letters_total": None,
    "unrouted": None,
    "unrouted_types": [],
    "parked_rows_total": None,
    "held_events": None,
    "open_rejections": None,
    "rejections": None,
    "failed_deliveries": None,
    "unread": True,
}
"""The overview of a page whose overview could not be read at all (a dependency the gateway asks first is down):
the banner says so and the page shows the lists it could read."""


async def _dead_letters_of(queue: str, total: int, call: Any) -> dict[str, Any] | None:
    """One queue's page of dead letters; one its service will not read message by message (409: on RabbitMQ 4, a
    queue of an older deployment whose reading would drop its letters) as an empty page marked `unreadable`, so the
    page says why and keeps its "send all back" and "delete all" forms (`total` from the overview's count); None when
    its service does not answer."""
    try:
        page = await call
    except RpcError as exc:
        if exc.code != "conflict":
            return None
        return {"queue": queue, "total": total, "offset": 0, "items": [], "unreadable": True}
    return dict(page.model_dump())


QUERY_LABELS = {
    "held_offset": N_("the list of held events"),
    "rejections_offset": N_("the list of open rejections"),
    "rejections": N_("the rejections listed"),
}
"""What the page's address parameters choose, as its refusals name them (never the raw parameter, which no one sees
on the page); each dead-letter queue's and service's list is named with its queue or service (list_offsets)."""
ACTION_PERHAPS_DONE = (
    N_("Perhaps already done"),
    N_(
        "The request was sent, but the system did not answer in time, so it may already have been carried out. Open"
        " the operations page again and check the list before sending it again: a row no longer listed was acted on."
        " Sending it again unchanged does nothing twice: a row already acted on is only reported as not found or"
        " already done, and dead letters already sent back are not sent back again."
    ),
)
"""The title and note of an action's form (a replay, retry, drop or dismissal) sent and not answered
(core.form_again_page): it may have been done, the list says whether, and sent again it does nothing twice (each
action checked: http.operations.ACTION_UNANSWERED)."""
PURGE_PERHAPS_DONE = (
    N_("Perhaps already deleted"),
    N_(
        "The deletion was sent, but the system did not answer in time, so the dead letters may already have been"
        " deleted. Open the operations page again and check the queue: sent again, it deletes only the dead letters"
        " the page listed when it was shown, never one that died since."
    ),
)
"""The title and note of the purge's form sent and not answered: the form names the letters it showed (their newest
death, those that died in that second and their count), so sent again it deletes none that died since
(shared.ops.dead_letters.purge_dead_letters)."""
PURGE_LARGER_THAN_SHOWN = N_(
    "Nothing was deleted: more dead letters died up to the newest one listed than the %(count)s the page showed (it"
    " lists at most 5,000 of a queue), so the deletion cannot tell which ones you saw. Open the operations page again"
    " and delete what it lists then, or send them back instead."
)
"""The purge's refusal when more letters died by the listing's newest death than it showed (its listing was cut:
shared.ops.dead_letters.LargerThanShown): nothing deleted."""
BACK_TO_PAGE = (PAGE, N_("Back to the operations page"))
"""Where an action's form drawn again leads back to: the page whose lists tell whether it was done."""
REASON = {"reason": N_("Reason")}
FREE_REASON = frozenset(REASON)
"""The reason, the one input of the page's forms a person types: free text (forms.FormLabels.free)."""
PURGE_FORM = forms.FormLabels(
    choices={"confirm": N_("The box confirming the deletion")},
    hidden=frozenset({"csrf", "queue", "through", "newest", "count"}),
    order=("csrf", "queue", "through", "newest", "count", "confirm", "purge"),
    unanswered=PURGE_PERHAPS_DONE,
    back=BACK_TO_PAGE,
)


def row_action_form(*ids: str, reason_stem: str | None = None) -> forms.FormLabels:
    """The form of an action on one listed row: the csrf token and the row's `ids`, filled in by the page, then with
    `reason_stem` (the row's input stem, `drop-`) the reason the person types; sent and not answered, perhaps done."""
    hidden = ("csrf", *ids)
    if reason_stem is None:
        return forms.FormLabels(
            hidden=frozenset(hidden), order=hidden, unanswered=ACTION_PERHAPS_DONE, back=BACK_TO_PAGE
        )
    return forms.FormLabels(
        fields=REASON,
        hidden=frozenset(hidden),
        free=FREE_REASON,
        order=(*hidden, "reason", reason_stem),
        unanswered=ACTION_PERHAPS_DONE,
        back=BACK_TO_PAGE,
    )


DEAD_LETTER_REPLAY_FORM = row_action_form("form_key", "queue", "event_id", "message_id", "key")
PARKED_REPLAY_FORM = row_action_form("service", "id")
PARKED_DROP_FORM = row_action_form("service", "id", reason_stem="drop-")
HELD_RETRY_FORM = row_action_form("source", "event_id")
HELD_DROP_FORM = row_action_form("source", "event_id", reason_stem="held-")
DISMISS_FORM = row_action_form("rejection_id", "event_id", reason_stem="dismiss-")
SENDER = "sender"
"""The replay form's input naming the account that sent a rejection which records none (ReplayCreate.sender); its
errors are keyed `sender-<rejection id>` (`-attempt-<n>` after it for an attempt's replay form), which marks that
form's input (sender_key)."""
REJECTION_REPLAY_FORM = forms.FormLabels(
    fields={SENDER: N_("Sending account"), f"{SENDER}-": N_("Sending account")},
    hidden=frozenset(("csrf", "rejection_id", "event_id", "attempt")),
    order=("csrf", "rejection_id", "event_id", "attempt", SENDER, f"{SENDER}-"),
    unanswered=ACTION_PERHAPS_DONE,
    back=BACK_TO_PAGE,
)
"""The page's forms' inputs as operations.html labels them: the rows' ids and names filled in by the page, the
reason a drop or a dismissal gives, and the purge's confirming tick; `order`, top to bottom as the page has them
(the reason's error is keyed by its row, `drop-<row>`, which marks that row's input), the order their errors are
listed in; each, sent and not answered, comes back saying it may have been done (ACTION_PERHAPS_DONE, the purge's
PURGE_PERHAPS_DONE) with the way back to the page's lists. A dead-letter replay's form carries a one-time key, which
names the replay (http.recovery.replay_dead_letters): sent again, it sends no letter back twice."""


def list_offset(request: Request, parameter: str, *, what: str, anchor: str) -> int:
    """Where one of the page's paged lists starts (its parameter, as the API's `offset`): a whole number from 0 (none
    or empty: 0), any item (core.list_start: not rounded to a page of SHOWN), at most LIST_START_MOST (past the end,
    said on the page); anything else is BadPosition naming the parameter and its list (`what`), with the way back to
    the list (`anchor`)."""
    start = list_start(request.query_params.get(parameter, ""))
    if start is None:  # ASCII digits only: "-20", "abc", "2.5", "²" are no position
        raise BadPosition(
            parameter=parameter, value=request.query_params[parameter], what=what, back=f"{PAGE}#{anchor}"
        )
    return start


def dead_letters_parameter(queue: str) -> str:
    """The parameter that pages one dead-letter queue's messages: `dead_letters_offset.<queue>`."""
    return f"dead_letters_offset.{queue}"


def parked_parameter(service: str) -> str:
    """The parameter that pages one service's parked outbox rows: `parked_offset.<service>`."""
    return f"parked_offset.{service}"


def list_offsets(request: Request) -> dict[str, int]:
    """Where each paged list of the page starts, by its parameter: `held_offset`, `rejections_offset`, one
    `dead_letters_offset.<queue>` per dead-letter queue and one `parked_offset.<service>` per service. A parameter
    naming no such queue or service is not one of them; one that is no position is BadPosition (list_offset)."""
    lists = [
        ("held_offset", _(QUERY_LABELS["held_offset"]), "held"),
        ("rejections_offset", _(QUERY_LABELS["rejections_offset"]), "rejections"),
        *(
            (dead_letters_parameter(queue), _("the dead letters of %(queue)s", queue=queue), f"dead-letters-{queue}")
            for queue in recovery.OWNER_OF_DEAD_LETTERS
        ),
        *(
            (
                parked_parameter(service),
                _("the parked rows of %(service)s", service=_(SERVICES[service])),
                f"parked-{service}",
            )
            for service in recovery.CATALOGS
        ),
    ]
    return {parameter: list_offset(request, parameter, what=what, anchor=anchor) for parameter, what, anchor in lists}


REJECTIONS_VIEW = "rejections"
"""The address's parameter choosing which rejections the page lists: the open ones (none) or `dismissed` (closed
without replaying, with who, when and why), as the API's `status` and the command line's `--status` list them."""


def rejections_view(request: Request) -> dict[str, str]:
    """The page's choice of rejections as address values to keep (`{"rejections": "dismissed"}`), empty for the open
    ones (the default, also `open` or empty); BadChoice (a 422 page naming it) for any other value, which read as
    the open ones without a word."""
    chosen = request.query_params.get(REJECTIONS_VIEW, "")
    if chosen not in ("", "open", "dismissed"):
        raise BadChoice(
            parameter=REJECTIONS_VIEW,
            what=_(QUERY_LABELS[REJECTIONS_VIEW]),
            value=chosen,
            choices=_("“%(open)s” or “%(dismissed)s”", open=_("Still open"), dismissed=_("Dismissed")),
            back=f"{PAGE}#rejections",
        )
    return {REJECTIONS_VIEW: "dismissed"} if chosen == "dismissed" else {}


def pager(
    page: Mapping[str, Any] | None, *, anchor: str, parameter: str, offsets: Mapping[str, int | str] | None = None
) -> dict[str, Any] | None:
    """Which items of a page of the API the list shows (first, last, total) and the addresses of the list's first
    page (`start`) and of the pages before and after, when there are any; every address keeps where the page's
    other lists are (`offsets`, by parameter). None when the list is empty."""
    if not page or not page["total"]:
        return None
    # a dead-letter listing cut at its most pages through the letters it holds (`listed`), not the queue's total
    offset, total = int(page["offset"]), int(page.get("listed") or page["total"])
    last = offset + len(page["items"])

    def at(start: int) -> str:
        return f"{PAGE}{place({**(offsets or {}), parameter: start})}#{anchor}"

    return {
        "first": offset + 1,
        "last": last,
        "total": total,
        "start": at(0),
        "previous": at(max(offset - SHOWN, 0)) if offset else None,
        "next": at(last) if last < total else None,
    }


async def _page(
    request: Request,
    viewer: Viewer,
    state: State,
    *,
    errors: dict[str, str] | None = None,
    status: int = 422,
    matching: Mapping[str, Any] | None = None,
) -> HTMLResponse:
    """The operator's page, with `errors` of a form (and its `status`), and `matching`: the filtered dismissal's form
    as sent (`values`) with what it did (`counted`, a dry run's count; `done`, dismiss_filtered's answer)."""
    principal = viewer.principal
    view = rejections_view(request)
    offsets: dict[str, int | str] = {**list_offsets(request), **view}

    async def dead_letter_lists() -> tuple[Any, list[Any]]:
        # which queues' dead letters are listed is the overview's to say: they wait for it, the rest does not
        read = await _quietly(recovery.operations_overview(principal, state))
        waiting = (
            {}
            if read is None
            else {
                queue: count
                for service in read.services.values()
                for queue, count in service.dead_letters.items()
                if count
            }
        )
        return read, await asyncio.gather(
            *(
                _dead_letters_of(
                    queue,
                    total,
                    recovery.list_dead_letters(
                        queue, principal, state, limit=SHOWN, offset=int(offsets[dead_letters_parameter(queue)])
                    ),
                )
                for queue, total in waiting.items()
            )
        )

    (read, dead_lists), parked_lists, held, rejections = await asyncio.gather(
        dead_letter_lists(),
        asyncio.gather(
            *(
                _quietly(
                    recovery.list_parked_rows(
                        service,  # type: ignore[arg-type]
                        principal,
                        state,
                        limit=SHOWN,
                        offset=int(offsets[parked_parameter(service)]),
                    )
                )
                for service in recovery.CATALOGS
            )
        ),
        _quietly(recovery.list_held_events(principal, state, limit=SHOWN, offset=int(offsets["held_offset"]))),
        _quietly(
            operations.list_rejections(
                principal,
                state,
                type=None,
                status=view.get(REJECTIONS_VIEW, "open"),  # type: ignore[arg-type]
                limit=SHOWN,
                offset=int(offsets["rejections_offset"]),
            )
        ),
    )
    overview: Any = read if read is not None else UNREAD_OVERVIEW
    dead_letters = [page for page in dead_lists if page is not None]
    parked = {service: page for service, page in zip(recovery.CATALOGS, parked_lists, strict=True) if page}
    notice = request.query_params.get("notice")
    notice_text = None
    notice_detail = None
    query = request.query_params
    judged = await judged_notice(notice, query, state, csrf=viewer.csrf) if notice in JUDGED_NOTICES else {}
    if judged is not None and judged.get("outcome") == NOT_HELD:
        notice_text = _(NO_HELD_OR_REJECTED, event=query.get("event_id", ""), source=query.get("source", ""))
    elif notice in NOTICES and judged is not None:
        notice_text = _(
            NOTICES[notice],
            count=_count(request.query_params.get("count", "")),
            outcome=_(OUTCOMES[judged["outcome"]]) if "outcome" in judged else "",
        )
        why, notice_detail = judged_why(judged)
        if why:
            notice_text = f"{notice_text} {why}"
    return render(
        request,
        "operations.html",
        status=status if errors else 200,
        # a 409 tells what was done already and a 404 that there is nothing to act on (nothing to correct); a 422
        # asks to correct the form
        errors_title=_("Note:") if status in (404, 409) else None,
        viewer=viewer,
        place=place(offsets),
        overview=overview,
        dead_letters=dead_letters,
        dead_letters_pagers={
            page["queue"]: pager(
                page,
                anchor=f"dead-letters-{page['queue']}",
                parameter=dead_letters_parameter(page["queue"]),
                offsets=offsets,
            )
            for page in dead_letters
        },
        parked=parked,
        parked_pagers={
            service: pager(page, anchor=f"parked-{service}", parameter=parked_parameter(service), offsets=offsets)
            for service, page in parked.items()
        },
        held=held,
        held_pager=pager(held, anchor="held", parameter="held_offset", offsets=offsets),
        rejections=rejections,
        dismissed_view=bool(view),
        rejections_views={
            "open": f"{PAGE}{place({**offsets, REJECTIONS_VIEW: '', 'rejections_offset': 0})}#rejections",
            "dismissed": f"{PAGE}{place({**offsets, REJECTIONS_VIEW: 'dismissed', 'rejections_offset': 0})}#rejections",
        },
        rejections_pager=pager(rejections, anchor="rejections", parameter="rejections_offset", offsets=offsets),
        errors=errors or {},
        notice=notice_text,
        notice_detail=notice_detail,
        matching=matching or {"values": {}},
        **TEMPLATE_HELPERS,
    )


def place(offsets: Mapping[str, int | str], **values: Any) -> str:
    """The lists' positions (those not on their first page) and any `values` as a query string (`?held_offset=20&…`,
    empty when there is nothing to say): the pagers' links, and the page's forms post to their action with it, so
    the answer, a redirect or the form again, opens where the operator was."""
    query = {**{parameter: offset for parameter, offset in offsets.items() if offset}, **values}
    return f"?{urlencode(query)}" if query else ""


def _done(request: Request, notice: str, **values: Any) -> RedirectResponse:
    """Back to the page after an action, with its notice and every list where it was (list_offsets of the post)."""
    kept: dict[str, int | str] = {**list_offsets(request), **rejections_view(request)}
    return RedirectResponse(f"{PAGE}{place(kept, notice=notice, **values)}#notice", status_code=303)


JUDGED_WHY = ("reason", "field", "waiting_for", "code")
"""What the page's notice is told of an event judged again and held or rejected (judged_values, judged_why)."""


JUDGED_NOTICES = ("held_retried", "rejection_replayed")
"""The notices that say how an event was judged again: their address names only what was judged (a held event by
its source and id, a rejection by its id) and the page reads the outcome and why from meetings (judged_notice); an
address carrying its own outcome and reason let anyone's link show any text as the system's notice. A retry taken in
leaves meetings nothing to read: its outcome rides in the address sealed for the session (judged_seal)."""


def judged_seal(csrf: str, *, source: str, event_id: str, outcome: str) -> str:
    """The seal of a retry's outcome that meetings cannot be asked about afterwards (SEALED_OUTCOMES), keyed by the
    session's form token: only this session's own retry makes an address that carries it."""
    message = "\n".join(("held_retried", source, event_id, outcome)).encode()
    return hmac.new(csrf.encode(), message, hashlib.sha256).hexdigest()


async def judged_notice(
    notice: str | None, query: Mapping[str, str], state: Any, *, csrf: str = ""
) -> dict[str, str] | None:
    """How meetings stands on what `notice` says was judged again, as judged_values reads a reply: a rejection
    (`rejection`: its id) replayed and closed, or refused again (its last replay's why); a held event (`source`,
    `event_id`) still held (why), turned into a rejection (why), or neither: taken in (accepted, duplicate) only
    when the address carries this session's seal of it (`csrf`: the session's form token; judged_seal), else
    NOT_HELD (nothing confirms it was taken in: the id may never have been held). None when the address names
    nothing meetings knows so: the page then shows no notice."""
    try:
        if notice == "rejection_replayed":
            rejection_id = query.get("rejection", "")
            if not rejection_id:
                return None
            stored = (await state.rpc.call(meetings.GetRejection(rejection_id=rejection_id))).model_dump()
            if stored["status"] == "replayed" and stored.get("replay_outcome") in OUTCOMES:
                return {"outcome": str(stored["replay_outcome"])}
            if stored.get("last_replay_at") and stored.get("last_replay_reason"):
                return judged_values(
                    {
                        "outcome": "rejected",
                        "reason": stored["last_replay_reason"],
                        "field": stored.get("last_replay_field"),
                        "refusal": stored.get("last_replay_refusal"),
                    }
                )
            return None
        source, event_id = query.get("source", ""), query.get("event_id", "")
        if notice != "held_retried" or not source or not event_id:
            return None
        for request in (
            meetings.GetHeldEvent(source=source, event_id=event_id),
            meetings.GetOpenRejection(source=source, event_id=event_id),
        ):
            try:
                found = (await state.rpc.call(request)).model_dump()
            except RpcError as exc:
                if exc.code != "not_found":
                    raise
                continue
            outcome = "held" if isinstance(request, meetings.GetHeldEvent) else "rejected"
            return judged_values({**found, "outcome": outcome})
        said, seal = query.get("outcome", ""), query.get("seal", "")
        if csrf and said in SEALED_OUTCOMES:
            expected = judged_seal(csrf, source=source, event_id=event_id, outcome=said)
            if hmac.compare_digest(seal.encode(), expected.encode()):
                return {"outcome": said}
        return {"outcome": NOT_HELD}
    except (RpcError, ValueError):  # unknown, or an id meetings refuses to read: no notice
        return None


def judged_values(reply: Mapping[str, Any]) -> dict[str, str]:
    """The notice's values for an event an operator had judged again (a held event retried, a rejection replayed):
    its outcome and, held or rejected again, why (meetings answers the operator with the real reason, also where the
    scoped sender was answered as for an unknown id)."""
    values = {"outcome": str(reply["outcome"])}
    if reply["outcome"] in ("held", "rejected"):
        said = {**reply, "code": (reply.get("refusal") or {}).get("code")}
        values |= {name: str(said[name]) for name in JUDGED_WHY if said.get(name)}
    return values


def judged_why(query: Mapping[str, str]) -> tuple[str | None, str | None]:
    """Why an event judged again is held or rejected, in Vietnamese as the lists say it, and the reason as meetings
    gave it (the technical detail); (None, None) when the notice says no why."""
    reason = query.get("reason")
    outcome = query.get("outcome")
    if not reason or outcome not in ("held", "rejected"):
        return None, None
    field = query.get("field")
    if outcome == "held":
        return reasons.explain_hold(query.get("waiting_for"), reason, field), reason
    code = query.get("code")
    return reasons.explain_rejection(reason, field, {"code": code} if code else None), reasons.technical_detail(reason)


@router.get("/operations")
async def operations_page(request: Request, viewer: CurrentViewer, state: State) -> HTMLResponse:
    """The operator's page."""
    _operator(viewer)
    return await _page(request, viewer, state)


class Refused(Exception):
    """A form the page answers with itself again and a message naming what is wrong (`status` 422: a field that is
    no value of its kind) or what was not found (404), never the app's 404 page (which speaks of a unit: an operator
    has none)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message, self.status = message, status


def on_page(handler: Handler) -> Handler:
    """A form's handler whose Refused is the operations page again with its message and status."""

    @functools.wraps(handler)
    async def answered(request: Request, viewer: FormViewer, state: State) -> Response:
        try:
            return await handler(request, viewer, state)
        except Refused as exc:
            return await _page(request, viewer, state, errors={"form": exc.message}, status=exc.status)
        except FormErrors as exc:  # an input holding what no text is stored with (posted_form): nothing done
            return await _page(request, viewer, state, errors=exc.errors, status=422)

    return answered


async def posted_form(request: Request, labels: forms.FormLabels) -> Any:
    """The posted form of one of the page's actions (forms.form_of, its inputs named by `labels`); FormErrors naming
    each input that holds a character no text is stored with, or bytes that are not UTF-8, before anything is done
    (a queue or an id read with its U+0000 dropped would name another)."""
    form = await forms.form_of(request, labels)
    forms.refuse_unstorable()
    return form


async def _found(call: Awaitable[T], message: str) -> T:
    """The call's answer; its not_found as Refused (404) with the operator's `message`."""
    try:
        return await call
    except RpcError as exc:
        if exc.code != "not_found":
            raise
        raise Refused(message, 404) from None


@router.post("/operations/dead-letters/replay")
@on_page
async def replay_dead_letters(request: Request, viewer: FormViewer, state: State) -> Response:
    """Send one dead letter back to where it died (the row chosen, by its `key`: not the other copies of its event
    or message id), or all of a queue."""
    _operator(viewer)
    form = await posted_form(request, DEAD_LETTER_REPLAY_FORM)
    choice = {name: forms.text(form, name) for name in ("event_id", "message_id", "key") if forms.text(form, name)}
    if len(choice) > 1:  # the API refuses two selectors too: one used silently would drop the other
        said = _("The form names more than one dead letter (%(fields)s): send one.", fields=", ".join(choice))
        raise Refused(said, 422)
    body = DeadLetterReplayCreate.model_validate(choice if choice else {})
    queue = _queue(form)
    named = " ".join(choice.values())
    reply = await _found(
        recovery.replay_dead_letters(queue, body, request, viewer.principal, state),
        _("No dead letter in %(queue)s has the id %(id)s.", queue=queue, id=named[:255])
        if named
        else _("There is no dead-letter queue %(queue)s.", queue=queue),
    )
    return _done(request, "replayed", count=reply.replayed)


@router.post("/operations/dead-letters/purge")
@on_page
async def purge_dead_letters(request: Request, viewer: FormViewer, state: State) -> Response:
    """Delete the dead letters of a queue the page listed (not any that died since), once the operator ticked that
    they understand."""
    _operator(viewer)
    form = await posted_form(request, PURGE_FORM)
    if form.get("confirm") != "yes":
        return await _page(request, viewer, state, errors={"purge": _("Tick the box to confirm the deletion.")})
    through, count = _shown(form)
    newest = forms.text(form, "newest") or None
    if newest is not None and not (len(newest) == 32 and all(char in "0123456789abcdef" for char in newest)):
        raise Refused(forms.hidden_refused("newest"), 422)
    try:
        reply = await recovery.purge_dead_letters(
            _queue(form), request, viewer.principal, state, through=through, count=count, newest=newest
        )
    except RpcError as exc:
        if exc.code != "conflict" or exc.field != "count":
            raise
        raise Refused(_(PURGE_LARGER_THAN_SHOWN, count=format_number(count or 0)), 409) from None
    return _done(request, "purged", count=reply.purged)


def _shown(form: Any) -> tuple[datetime | None, int | None]:
    """The letters a purge form was shown with: the newest death listed and their count (None, None: a form without
    them, the queue not read letter by letter); Refused (422) naming the field when one is not the page's."""
    through, count = forms.text(form, "through"), forms.text(form, "count")
    try:
        moment = datetime.fromisoformat(through) if through else None
    except ValueError:
        moment = None
    if (through and (moment is None or moment.tzinfo is None)) or (count and not is_ascii_number(count)):
        field = "through" if through and (moment is None or moment.tzinfo is None) else "count"
        raise Refused(forms.hidden_refused(field), 422)
    return moment, int(count) if count else None


def _service(form: Any) -> Any:
    """The service a form names; Refused (422) naming it when it is none of the services."""
    service = forms.text(form, "service")
    if service not in recovery.CATALOGS:
        raise Refused(
            _("There is no service %(service)s: choose meetings, evaluation or notifications.", service=service[:64]),
            422,
        )
    return service


def _queue(form: Any) -> str:
    """The dead-letter queue a form names, by its own name or its consumer queue's (recovery.DEAD_LETTERS_OF, as the
    API reads it); Refused (404) naming it when the system has no such queue."""
    queue = forms.text(form, "queue")
    if queue not in recovery.DEAD_LETTERS_OF:
        raise Refused(_("There is no dead-letter queue %(queue)s.", queue=queue[:255]), 404)
    return recovery.DEAD_LETTERS_OF[queue]


def _count(raw: str) -> str:
    """The count a notice reports, written as a person reads it (`2.032`); anything but a whole number from the
    address (which anyone can write) reads as 0, so the page's status line never says what a link made up."""
    return format_number(int(raw)) if is_ascii_number(raw) and len(raw) <= 9 else "0"


def _checked(errors: dict[str, str], field: str, check: Callable[[], T]) -> T | None:
    """`check()`'s value; None when it is Refused, its message kept under `field` in `errors`: a form's other fields
    are checked still, and all it has wrong is said at once, in the form's order (FormLabels.order)."""
    try:
        return check()
    except Refused as exc:
        errors[field] = exc.message
        return None


def _reason_errors(exc: FormErrors, row_key: str | None) -> dict[str, str]:
    """A drop form's API errors, its reason's (the only field a person types there) keyed `row_key`, which marks
    that row's input (`reason` when the row is not known); `required` under it if the API named no field."""
    errors = dict(exc.errors) or {"reason": forms.required("reason")}
    if row_key is not None and "reason" in errors:
        errors[row_key] = errors.pop("reason")
    return errors


def _row_number(form: Any) -> int:
    """The parked row a form names (`id`, a whole number from 1 to 2⁶³−1, the API's bounds); Refused (422) naming the
    field for anything else."""
    row = forms.text(form, "id")
    if not is_ascii_number(row) or len(row) > 19 or not 1 <= int(row) <= ROW_MOST:
        raise Refused(
            _(
                "The outbox row number %(row)s is not valid: it is a whole number from 1 to %(most)s.",
                row=row[:40],
                most=ROW_MOST,
            ),
            422,
        )
    return int(row)


ROW_MOST = 2**63 - 1
"""The largest parked row number (the outbox's bigint id, the API's RowPath)."""


ATTEMPT_MOST = 2**31 - 1
"""The largest attempt number (rejection_attempt's integer, ReplayCreate's bound)."""


def _attempt_number(form: Any) -> int | None:
    """The refused attempt a replay form names (`attempt`), None when it names none; Refused (422) for one that is
    no attempt number."""
    given = forms.text(form, "attempt")
    if not given:
        return None
    if not is_ascii_number(given) or not 1 <= int(given) <= ATTEMPT_MOST:
        raise Refused(_("The form names no attempt of the rejection."), 422)
    return int(given)


def _rejection_id(form: Any) -> str:
    """The rejection a form names; Refused (422) when it names none."""
    rejection_id = forms.text(form, "rejection_id")
    if not rejection_id:
        raise Refused(_("The form names no rejection."), 422)
    return rejection_id


@router.post("/operations/parked/replay")
@on_page
async def replay_parked(request: Request, viewer: FormViewer, state: State) -> Response:
    """Put one parked outbox row (`id`), or all of a service's (the form without an `id`), back in line; an `id`
    that is no row number is the app's 404, as for dropping, never all of them."""
    _operator(viewer)
    form = await posted_form(request, PARKED_REPLAY_FORM)
    errors: dict[str, str] = {}
    service = _checked(errors, "service", lambda: _service(form))
    row = _checked(errors, "id", lambda: _row_number(form)) if "id" in form else None
    if errors or service is None:
        raise FormErrors(errors)
    body = ParkedReplayCreate(all=True) if row is None else ParkedReplayCreate(ids=[row])
    reply = await _found(
        recovery.replay_parked_rows(service, body, request, viewer.principal, state),
        _("There is no parked outbox row %(row)s in %(service)s.", row=forms.text(form, "id"), service=service),
    )
    return _done(request, "rows_replayed", count=reply.replayed)


@router.post("/operations/parked/drop")
@on_page
async def drop_parked(request: Request, viewer: FormViewer, state: State) -> Response:
    """Delete one parked outbox row for good, with a reason."""
    _operator(viewer)
    form = await posted_form(request, PARKED_DROP_FORM)
    errors: dict[str, str] = {}
    service = _checked(errors, "service", lambda: _service(form))
    row = _checked(errors, "id", lambda: _row_number(form))
    try:
        body = forms.build(ParkedDropCreate, {"reason": forms.text(form, "reason")})
    except FormErrors as exc:  # the reason's own message: missing, or too long (naming the limit)
        errors |= _reason_errors(exc, f"drop-{row}" if row is not None else None)
    if errors or service is None or row is None:
        raise FormErrors(errors)
    await _found(
        recovery.drop_parked_row(service, row, body, request, viewer.principal, state),
        _("There is no parked outbox row %(row)s in %(service)s.", row=row, service=service),
    )
    return _done(request, "row_dropped")


@router.post("/operations/held/retry")
@on_page
async def retry_held(request: Request, viewer: FormViewer, state: State) -> Response:
    """Judge a held event again now; one no longer held is said on the page: rejected meanwhile (409), or no held or
    rejected event has that id (404)."""
    _operator(viewer)
    form = await posted_form(request, HELD_RETRY_FORM)
    body = forms.build(
        HeldEventCreate, {"source": forms.text(form, "source"), "event_id": forms.text(form, "event_id")}
    )
    try:
        reply = await recovery.retry_held_event(body, request, viewer.principal, state)
    except RpcError as exc:
        if exc.code not in ("not_found", "conflict"):
            raise
        said = RETRIED_REJECTED if exc.code == "conflict" else NO_HELD_OR_REJECTED
        message = _(said, event=body.event_id, source=body.source)
        return await _page(
            request, viewer, state, errors={"held": message}, status=409 if exc.code == "conflict" else 404
        )
    outcome = str(reply["outcome"])
    sealed = (
        {
            "outcome": outcome,
            "seal": judged_seal(viewer.csrf, source=body.source, event_id=body.event_id, outcome=outcome),
        }
        if outcome in SEALED_OUTCOMES
        else {}
    )
    return _done(request, "held_retried", source=body.source, event_id=body.event_id, **sealed)


@router.post("/operations/held/drop")
@on_page
async def drop_held(request: Request, viewer: FormViewer, state: State) -> Response:
    """Stop holding an event, with a reason: it becomes a rejection."""
    _operator(viewer)
    form = await posted_form(request, HELD_DROP_FORM)
    identity = {"source": forms.text(form, "source"), "event_id": forms.text(form, "event_id")}
    try:
        body = forms.build(HeldEventDropCreate, {**identity, "reason": forms.text(form, "reason")})
    except FormErrors as exc:  # the row's ids and the reason, each named, in the form's order
        raise FormErrors(_reason_errors(exc, f"held-{identity['event_id']}")) from None
    await _found(
        recovery.drop_held_event(body, request, viewer.principal, state),
        _("No held event has the id %(event)s from %(source)s.", event=body.event_id, source=body.source),
    )
    return _done(request, "held_dropped")


@router.post("/operations/rejections/dismiss")
@on_page
async def dismiss_rejection(request: Request, viewer: FormViewer, state: State) -> Response:
    """Close an open rejection without replaying it, with a reason (garbage, an event dropped for good); one closed
    already (replayed or dismissed) is not closed twice (409, saying so)."""
    _operator(viewer)
    form = await posted_form(request, DISMISS_FORM)
    errors: dict[str, str] = {}
    rejection_id = _checked(errors, "rejection_id", lambda: _rejection_id(form))
    try:
        body = forms.build(RejectionDismissCreate, {"reason": forms.text(form, "reason")})
    except FormErrors as exc:
        errors |= _reason_errors(exc, f"dismiss-{rejection_id}" if rejection_id is not None else None)
    if errors or rejection_id is None:
        raise FormErrors(errors)
    try:
        await _found(
            operations.dismiss_rejection(rejection_id, body, request, viewer.principal, state),
            _("There is no rejection %(rejection)s.", rejection=rejection_id[:64]),
        )
    except RpcError as exc:
        if exc.code != "conflict":
            raise
        message = _(
            "The rejection of %(event)s is no longer open (replayed or closed already), so nothing changed.",
            event=forms.text(form, "event_id") or rejection_id,
        )
        return await _page(request, viewer, state, errors={"rejection": message}, status=409)
    return _done(request, "rejection_dismissed")


EMPTY_FILTER_SAID = N_(
    "%(field)s: choose a code, or fill in at least one other condition of the filter (event source, sending account,"
    " received from or before); this page never closes every open rejection at once."
)
"""The filtered dismissal's refusal of a filter naming nothing (shared.contracts.meetings_rpc.EmptyFilter), said at
the code, the field the API's 422 names."""
EMPTY_WINDOW_SAID = N_("%(field)s: must be earlier than “%(other)s”.")
NOT_A_MOMENT = N_(
    "%(field)s: “%(value)s” is not a date and time; pick it in the calendar or enter it as day/month/year"
    " hour:minute, e.g. %(example)s."
)


def _received(form: Any, name: str, errors: dict[str, str]) -> datetime | None:
    """The time input `name` of the filtered dismissal (None when empty); an error naming it when it is no time."""
    raw = forms.text(form, name)
    if not raw:
        return None
    moment = forms.parse_day_and_clock(raw, VIETNAM_TZ)
    if moment is None:
        errors[name] = _(NOT_A_MOMENT, field=forms.label(name), value=raw[:20], example="04/12/2026 19:30")
    return moment


@router.post("/operations/rejections/matching/dismiss")
@on_page
async def dismiss_matching(request: Request, viewer: FormViewer, state: State) -> Response:
    """Close the open rejections a filter selects (refusal code, event source, sending account, received from /
    before), with a reason: sent without `matched` it only counts them (a dry run), and the page asks to confirm;
    the confirming form closes them and the page says matched, dismissed and remaining, offering to go on while some
    remain. The API's own endpoint does it (http.operations.dismiss_rejections: its role check, checked_filter,
    dismiss_filtered, audit detail and log line); an empty filter is refused at the code, every mistake at once."""
    _operator(viewer)
    form = await posted_form(request, MATCHING_FORM)
    values = {name: forms.text(form, name) for name in MATCHING_INPUTS}
    errors: dict[str, str] = {}
    confirming = "matched" in form  # the confirming form: the count it was shown with, and when it was counted
    shown = forms.text(form, "matched")
    if confirming and not (is_ascii_number(shown) and len(shown) <= 9):
        errors["matched"] = forms.hidden_refused("matched")
    counted_at = _counted_at(form) if confirming else None
    if confirming and counted_at is None:
        errors["counted_at"] = forms.hidden_refused("counted_at")
    code = values["code"] or None
    if code is not None and code not in CODE_OPTIONS:
        errors["code"] = forms.not_a_choice("code", code)
    criteria: dict[str, Any] = {
        "code": code,
        "source": values["source"] or None,
        "sender": values["sender"] or None,
        "received_after": _received(form, "received_after", errors),
        "received_before": _received(form, "received_before", errors),
    }
    before = criteria["received_before"]
    if counted_at is not None and (before is None or counted_at < before):
        criteria["received_before"] = counted_at  # those received after the count were never shown: left open
    given = {name: value for name, value in criteria.items() if value is not None}
    expected = {"expected": int(shown)} if confirming and "matched" not in errors else {}
    body: RejectionsDismissCreate | None = None
    try:
        asked = {**given, "reason": values["reason"], "dry_run": not confirming, **expected}
        body = forms.build(RejectionsDismissCreate, asked)
    except FormErrors as exc:  # each field's own message: a reason left empty, a source over its length
        errors |= {key: said for key, said in exc.errors.items() if key not in errors}
    try:
        checked_filter(meetings.RejectionFilter.model_construct(**given), every=False)
    except EmptyFilter:
        if not any(name in errors for name in criteria):  # a time refused is a condition given, mistyped
            errors["code"] = _(EMPTY_FILTER_SAID, field=forms.label("code"))
    except FilterRefused as exc:
        window = _(EMPTY_WINDOW_SAID, field=forms.label(exc.field), other=forms.label("received_before"))
        errors.setdefault(exc.field, window if exc.field == "received_after" else forms.not_a_choice("code", code))
    if errors or body is None:  # with the inputs holding what no text is stored with, over their other refusal
        refused = FormErrors(errors).errors
        return await _page(request, viewer, state, errors=refused, status=422, matching={"values": values})
    done = await operations.dismiss_rejections(body, request, viewer.principal, state)
    outcome = {"counted": done["matched"]} if body.dry_run else {"done": done, "shown": int(shown)}
    pinned = counted_at or done["counted_at"]  # the count's moment, kept by every confirmation that follows
    return await _page(request, viewer, state, matching={"values": values, "counted_at": pinned, **outcome})


def _counted_at(form: Any) -> datetime | None:
    """The confirming form's `counted_at` (when its count was made, ISO 8601 with its offset); None when missing
    or no such moment."""
    raw = forms.text(form, "counted_at")
    try:
        moment = datetime.fromisoformat(raw) if raw and len(raw) <= 40 else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


REPLAYED_BEFORE = {
    "accepted": N_(
        "The rejected event %(event)s was already replayed and accepted on %(moment)s, so it is not replayed "
        "again and nothing changed."
    ),
    "held": N_(
        "The rejected event %(event)s was already replayed on %(moment)s and is held, waiting for what it refers to "
        "(see the held events), so it is not replayed again and nothing changed."
    ),
    "duplicate": N_(
        "The rejected event %(event)s was already replayed on %(moment)s and found already applied, so it is not "
        "replayed again and nothing changed."
    ),
}
REPLAYED_UNSAID = N_(
    "The rejected event %(event)s was already replayed on %(moment)s, so it is not replayed again and nothing changed."
)
"""The operator's message for a replay refused as done already, by how that replay judged the event (the refusal's
`outcome`); REPLAYED_UNSAID when it does not say (a replay from before meetings kept it)."""


def already_replayed(conflict: RpcError, *, event: str) -> str:
    """The operator's message for a replay meetings refused as done already: what that replay did with the event
    (accepted, held, found applied: REPLAYED_BEFORE) and when, both taken from the refusal's values (`outcome`,
    `replayed_at`, else `accepted_at`), never from the English message; `—` when it gives no moment."""
    refusal = conflict.refusal
    outcome = refusal.outcome if refusal is not None else None
    moment = (refusal.replayed_at or refusal.accepted_at) if refusal is not None else None
    if outcome is None and refusal is not None and refusal.accepted_at is not None:
        outcome = "accepted"  # a meetings that gave only `accepted_at` said so of an accepted event
    return _(
        REPLAYED_BEFORE.get(outcome or "", REPLAYED_UNSAID),
        event=event,
        moment=format_moment(moment) if moment is not None else "—",
    )


@router.post("/operations/rejections/replay")
@on_page
async def replay_rejection(request: Request, viewer: FormViewer, state: State) -> Response:
    """Judge a rejected event again as it was: the copy of the attempt the form names (`attempt`), else its latest
    attempt received from a sender; a rejection already replayed is not replayed twice (409, saying so)."""
    _operator(viewer)
    form = await posted_form(request, REJECTION_REPLAY_FORM)
    rejection_id = _rejection_id(form)
    attempt = _attempt_number(form)
    sender = forms.text(form, SENDER) or None
    try:
        given = {"attempt": attempt, "sender": sender}
        body = forms.build(ReplayCreate, given) if attempt is not None or sender is not None else None
    except FormErrors as exc:  # a sender that is no account's name, said at its row's input
        keyed = {sender_key(rejection_id, attempt) if key == SENDER else key: said for key, said in exc.errors.items()}
        raise FormErrors(keyed) from None
    try:
        reply = await _found(
            operations.replay_rejection(rejection_id, request, viewer.principal, state, body),
            _("There is no rejection %(rejection)s.", rejection=rejection_id[:64])
            if attempt is None
            else _(
                "The rejection %(rejection)s has no attempt %(attempt)s.", rejection=rejection_id[:64], attempt=attempt
            ),
        )
    except RpcError as exc:
        if exc.code == "invalid" and exc.field == SENDER and sender is not None:
            message = await sender_refused(rejection_id, state)
            return await _page(request, viewer, state, errors={sender_key(rejection_id, attempt): message}, status=422)
        if exc.code != "conflict":
            raise
        event = forms.text(form, "event_id") or rejection_id
        if exc.refusal is not None and exc.refusal.code == RefusalCode.BODY_NOT_KEPT:
            message = _(
                "The rejected event %(event)s was not kept as it was sent (it was over the size limit, or not valid "
                "UTF-8), so it cannot be judged again as it was. Ask the sending system to send it again.",
                event=event,
            )
        elif exc.refusal is not None and exc.refusal.code == RefusalCode.BODY_READS_NO_JSON:
            # a page older than the rule that hides its "Xét lại": nothing was judged, no attempt stored
            message = _(
                "The rejected event %(event)s cannot be replayed as it was: the content sent cannot be read as JSON, "
                "so replayed as it was it would only be refused again. Ask the sending system to send it again.",
                event=event,
            )
        elif exc.refusal is not None and exc.refusal.code == RefusalCode.REFUSED_AGAIN_AS_SENT:
            message = _(
                "The rejected event %(event)s cannot be replayed as it was: the content sent (its content type, its "
                "headers, or its batch envelope) would only be refused again for the same reason. Ask the sending "
                "system to send it again correctly.",
                event=event,
            )
        elif exc.refusal is not None and exc.refusal.code == RefusalCode.ALREADY_DISMISSED:
            moment = exc.refusal.replayed_at
            message = _(
                "The rejection of %(event)s was closed on %(moment)s without replaying, so it is not replayed.",
                event=event,
                moment=format_moment(moment) if moment is not None else "—",
            )
        else:
            # a second click, or a page older than the replay: the event was judged already, nothing is judged again
            message = already_replayed(exc, event=event)
        return await _page(request, viewer, state, errors={"rejection": message}, status=409)
    if sender is not None and reply.get("outcome") == "rejected" and reply.get("field") == "source":
        # judged as the account named, which does not hold the source: the form asks for the account that sent it
        message = _(NAMED_NOT_HOLDING, sender=sender, source=str(reply.get("source") or "—"))
        return await _page(request, viewer, state, errors={sender_key(rejection_id, attempt): message}, status=422)
    return _done(request, "rejection_replayed", rejection=rejection_id)


def sender_key(rejection_id: str, attempt: int | None = None) -> str:
    """The error key (and input id) of the sender input of one rejection's replay form: `sender-<rejection id>`, or
    `sender-<rejection id>-attempt-<n>` for the form replaying its attempt `n`."""
    return f"{SENDER}-{rejection_id}" if attempt is None else f"{SENDER}-{rejection_id}-attempt-{attempt}"


NAMED_NOT_HOLDING = N_(
    "Sending account: the account %(sender)s does not hold the source %(source)s now, so the event was judged again as"
    " that account's and rejected again; nothing was recorded. Enter the account that actually sent it (the sending"
    " system or the audit log tells which). Which accounts hold a source is not shown here: an event is judged only"
    " as its sender's, never as whichever account holds the source."
)
"""The replay form's answer when the account an operator named as a rejection's sender does not hold its source."""
SENDER_RECORDED = N_(
    "Sending account: this rejection records the account that sent it, %(sender)s, and is judged again as that account"
    " only. Leave this field empty and replay it."
)
SENDER_NOT_NAMEABLE = N_(
    "Sending account: this event was not sent by an integration account limited to one unit under a source of its"
    " own, so it is not judged as any account's. Leave this field empty and replay it."
)


async def sender_refused(rejection_id: str, state: Any) -> str:
    """The replay form's message for a named sender meetings refused (`invalid` naming `sender`): the account the
    rejection records, read from meetings (SENDER_RECORDED), else that its event is judged as no account's
    (SENDER_NOT_NAMEABLE)."""
    try:
        recorded = (await state.rpc.call(meetings.GetRejection(rejection_id=rejection_id))).sender
    except RpcError:
        recorded = None
    return _(SENDER_RECORDED, sender=recorded) if recorded else _(SENDER_NOT_NAMEABLE)
