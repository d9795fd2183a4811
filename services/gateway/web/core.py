"""What every page shares: templates, the signed-in viewer, CSRF, and errors answered as Vietnamese pages."""

import hashlib
import re
import secrets
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from markupsafe import Markup, escape
from starlette.routing import Match

from services.gateway.auth import Principal, Role
from services.gateway.availability import meetings_unavailable, notices_unavailable, page_render, scores_unavailable
from services.gateway.handlers import authorize_unit, read_with_kept_units
from services.gateway.http.commands import FORM_KEY
from services.gateway.http.deps import READ_METHODS, State
from services.gateway.http.errors import SERVICE_RETRY_AFTER
from services.gateway.http.routing import repeated_parameter
from services.gateway.repository import AccountRow
from services.gateway.web.forms import (
    ANSWERED,
    CHOICE,
    FORM,
    TEXT,
    FormLabels,
    declared_form,
    error_box_title,
    in_form_order,
    past_midnight_note,
    posted_form,
)
from services.gateway.web.i18n import N_, _, filters, format_period, globals_, translations
from services.gateway.web.sessions import SESSION_COOKIE, WebAccounts, principal_of, same_token
from shared.collation import by_person
from shared.envelope import is_identifier
from shared.logs import get_logger
from shared.periods import VIETNAM_TZ, is_half_year
from shared.plausible import EARLIEST_PERIOD, latest_rated_month
from shared.rpc import RpcError, ServiceUnavailable
from shared.text import (
    CONTROL_CHARS,
    FIRST_STRONG_ISOLATE,
    controls_shown,
    echoed,
    isolated_name,
    shown_name,
    without_steering,
)
from shared.web_address import browser_uri

log = get_logger(__name__)
WEB_DIR = Path(__file__).parent
PREFIX = "/app"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@cache
def environment() -> jinja2.Environment:
    """The Jinja environment: autoescaped templates, the catalog's gettext, the Vietnamese formats."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(WEB_DIR / "templates"),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        finalize=shown_text,
    )
    env.install_gettext_translations(translations(), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(filters())
    env.filters["name"] = name_html
    env.filters["in_form_order"] = in_form_order  # every error box: the form's fields top to bottom (FormLabels.order)
    env.filters["plain_name"] = plain_name
    env.filters["roster_order"] = roster_order  # an adopted roster as the form and the meeting page list it
    env.filters["isolated_name"] = lambda value: isolated_name(str(value if value is not None else ""))
    env.globals["prefix"] = PREFIX
    env.globals["new_form_key"] = new_form_key
    env.globals["viewer_mark"] = viewer_mark
    env.globals["browser_uri"] = browser_uri
    # "Không thực hiện được:" over refusals no form fixes (StateRefusal), else "Vui lòng sửa:"
    env.globals["error_box_title"] = error_box_title
    env.globals["past_midnight_note"] = past_midnight_note
    env.globals.update(globals_())
    return env


def roster_order(records: Iterable[Mapping[str, Any]], members: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Attendance records ({member_id, ...}) by their member's full name in `members` (by id; the id when not
    named), given name first in Vietnamese order (shared.collation.by_person), as the roster form lists them."""
    return by_person(
        records, lambda record: (members.get(record["member_id"]) or {}).get("full_name") or record["member_id"]
    )


def shown_text(value: Any) -> Any:
    """Every value a template prints, without the bidirectional controls and zero-width characters
    (shared.text.without_steering): a reason, a title or a name sent by another system (CONTRACT.md accepts them)
    cannot turn the page's text after it around. Markup stays Markup (removing them opens no tag); a text without
    them, as nearly every one is, is the value itself (a committee page prints some 2,000 values). A control
    character but tab and line breaks (a NUL of a dead letter's body preview) is printed as its code point `U+0000`
    (shared.text.controls_shown), never raw. A name a sentence
    built in Python isolates (shared.text.isolated_name: U+2068 … U+2069) is printed in <bdi>, as `| name` prints
    one: the text is escaped first, and only the tags around it are added."""
    if not isinstance(value, str):
        return value
    if CONTROL_CHARS.search(value):  # a NUL or ESC sent by anyone (a dead letter's preview): shown as U+0000
        value = Markup(controls_shown(value)) if isinstance(value, Markup) else controls_shown(value)
    if FIRST_STRONG_ISOLATE in value:
        escaped = str(value) if isinstance(value, Markup) else str(escape(value))
        if isinstance(value, Markup) or ISOLATED_TEXT.search(escaped):
            return Markup(with_bdi(escaped))
    shown = without_steering(value)
    if shown is value or not isinstance(value, Markup):
        return shown
    return Markup(shown)


ISOLATED_TEXT = re.compile("\u2068([^\u2066-\u2069\n<>]*)\u2069")
"""shared.text.ISOLATED in escaped HTML: a pair with no tag inside (the two ends of one tag's text)."""


def with_bdi(escaped: str) -> str:
    """Escaped HTML text with each balanced U+2068 … U+2069 pair (ISOLATED_TEXT) as <bdi> … </bdi> and every other
    steering character dropped (an isolate left open, a lone U+2069)."""
    parts = ISOLATED_TEXT.split(escaped)  # text, isolated, text, isolated, ..., text
    return "".join(
        without_steering(part) if index % 2 == 0 else f"<bdi>{without_steering(part)}</bdi>"
        for index, part in enumerate(parts)
    )


def name_html(value: Any) -> Markup:
    """A member's, unit's or person's name in a page's text (`{{ unit.name | name }}`): shared.text.shown_name, isolated
    in <bdi> so that even a name in a right-to-left script does not reorder the figures and words beside it."""
    return Markup("<bdi>%s</bdi>") % shown_name(str(value if value is not None else ""))


def plain_name(value: Any) -> str:
    """A name where no tag may go (a page's <title>, an <option>, an attribute): shared.text.shown_name."""
    return shown_name(str(value if value is not None else ""))


def new_form_key() -> str:
    """A form's one-time key, rendered with the form as its hidden `form_key`: the same form sent twice carries the
    same key, so its command is sent as the same event (http.commands.resubmission_event_id) and changes nothing."""
    return secrets.token_urlsafe(18)


def viewer_mark(viewer: "Viewer") -> str:
    """The page's mark of whose it is (32 hex digits, one per account, not its name): a form kept in the browser
    through a sign-in (static/kept-forms.js) is filled back in only on a page of the same account."""
    return hashlib.sha256(f"chibo-kept-form\0{viewer.account.sub}".encode()).hexdigest()[:32]


class SignInRequired(Exception):
    """No live session: the browser is sent to the sign-in page."""


class SessionEnded(Exception):
    """The session of an account that no longer stands (membership.Refusal's `reason`: `left`, `position`) was
    closed: the browser is signed out and told why on the sign-in page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


SIGNED_OUT_COOKIE = "chibo_signed_out"
"""Holds, for the sign-in page shown next, why the session was ended (SessionEnded's reason), read there once."""


class PageNotFound(Exception):
    """A page that does not exist or is outside the viewer's part of the tree (the same answer)."""


class NotAllowed(Exception):
    """A page the viewer may see the subject of but whose action their role may not take (the API's 403): answered
    as a Vietnamese page saying who may."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def page_unit(
    principal: Principal, unit_id: str, *, directory: Any, kind: str, roles: frozenset[Role], refused: str
) -> Any:
    """handlers.authorize_unit for a page whose subject the role may read only in `roles`: the unit for such a role;
    for another role, NotAllowed (the 403 page saying `refused`, a msgid: who may see it) when the unit is within what
    the viewer sees (a member's own cell), the 404 page (RpcError not_found) outside it, as for a unit that does not
    exist (a member's own cell's evidence answered 404 "không thuộc đơn vị của đồng chí", which it is)."""
    if principal.role in roles:
        return await authorize_unit(principal, unit_id, directory=directory, kind=kind, roles=roles)
    await authorize_unit(principal, unit_id, directory=directory, kind=kind, roles=frozenset({principal.role}))
    raise NotAllowed(_(refused))


COMMITTEE_PAGE_REFUSED = N_("This page is for the officers of this committee and of the committees above it.")
"""Who may see a committee's pages (page_unit's `refused`)."""
EVIDENCE_REFUSED = N_(
    "The cell's meeting evidence is for its secretary and the officers of the committees above it. You can still see"
    " the cell's meetings and ratings."
)
"""Who may see a cell's meeting evidence (page_unit's `refused`): a member of the cell is told so."""


async def committee_page_unit(principal: Principal, committee_id: str, *, directory: Any) -> Any:
    """page_unit for a committee's officer pages (committee page, ranking, reports, rescore, alerts): the committee
    for its officers and those above it; 403 COMMITTEE_PAGE_REFUSED within a viewer's scope, 404 outside it."""
    return await page_unit(
        principal,
        committee_id,
        directory=directory,
        kind="committee",
        roles=frozenset({Role.COMMITTEE_OFFICER}),
        refused=COMMITTEE_PAGE_REFUSED,
    )


class BadPeriod(Exception):
    """A `period` (or `year`) in the address that is no month, quarter or year: named back to the person."""

    def __init__(self, value: str, *, year: bool = False, evidence: bool = False, latest: str | None = None) -> None:
        super().__init__(value)
        self.value = value if len(value) <= 40 else value[:39] + "…"
        self.year = year
        """A page that takes only a year (`?year=`): it is told the year is wrong, not about months or quarters."""
        self.evidence = evidence
        """The evidence's `?period=`, which takes a year or a half-year only: it is told so, the field named."""
        self.latest = latest
        """The latest month a period may begin in (this month: later ones have no rating), set for a period of the
        right shape outside 2000-01 to two years ahead (shared.plausible.period_range_problem): it is told the span
        there is."""


class PeriodNotBegun(Exception):
    """A `period` in the address that has not begun yet (shared.periods.has_begun): a 422 page "Chưa đến kỳ", never
    a page, report or export of Kém; the committee page says it with its period chooser. `back` (address, label):
    the way to the latest period there is, as the 404 page of a year or period outside the data gives it (a cell's
    next year). `latest`: the latest period of the page's kind there is, when it is not this month (a cell's
    evidence: its latest year, or this half-year), named in the message as the one to view."""

    def __init__(self, period: str, *, back: tuple[str, str] | None = None, latest: str | None = None) -> None:
        super().__init__(period)
        self.period = period
        self.back = back
        self.latest = latest


def year_not_begun(year: str, *, latest: str, address: str) -> PeriodNotBegun:
    """PeriodNotBegun for a cell's `year` (or half-year) with the way to `address`, its page of `latest` (the latest
    year it has), labelled as YearOutside's 404 page labels it (`Xem năm 2026`); the message names the latest period
    of the asked kind: that year, or for a half-year the one running now."""
    asked = latest
    if is_half_year(year):
        today = datetime.now(VIETNAM_TZ)
        asked = f"{today.year}-H{1 if today.month <= 6 else 2}"
    return PeriodNotBegun(year, back=(address, _("See %(year)s", year=latest)), latest=asked)


class YearOutside(Exception):
    """A `year` in the address that the unit did not exist in (before its first year, after its last or this one):
    a 404 page naming the parameter and the years there are, with the way to the latest of them (`back`)."""

    def __init__(self, *, year: str, earliest: str, latest: str, back: str) -> None:
        super().__init__(year)
        self.year = year
        self.earliest = earliest
        self.latest = latest
        self.back = back


class PeriodOutside(Exception):
    """A `period` in the address that ends before the committee's first data (its subtree's first month with a cell's
    month stored), as the cell page's year before the cell existed: a 404 page naming the period and the span there
    is (`earliest`: that first month; None when the committee has no data at all), with the way to the committee's
    page (`back`), never a 200 page, report or export of nothing (a trial: `?period=2024` answered 200 "Chưa có dữ
    liệu" where the cell's `?year=2024` was a 404)."""

    def __init__(self, *, period: str, earliest: str | None, back: str) -> None:
        super().__init__(period)
        self.period = period
        self.earliest = earliest
        self.back = back


LIST_START_MOST = 1_000_000
"""The furthest a paged list's position in the address goes: any larger one is read as this (past the end of any
list, which the page says)."""


def list_start(raw: str) -> int | None:
    """A paged list's position from the address (`late_offset`, `held_offset`, …): the 0-based item it starts at, any
    item, not only a page's first (`1`: from the second; the pager counts from there), empty as 0, at most
    LIST_START_MOST; None when it is no whole number from 0 in ASCII digits (`-5`, `abc`, `2.5`: BadPosition)."""
    if not raw:
        return 0
    if not re.fullmatch(r"[0-9]+", raw):
        return None
    digits = raw.lstrip("0")
    return min(int(digits or "0"), LIST_START_MOST) if len(digits) <= 7 else LIST_START_MOST


class BadPosition(Exception):
    """A list's position in the address (`held_offset=-5`, `…=abc`) that is no whole number from 0: a 400 page naming
    its list (`what`, already in Vietnamese: the parameter's label, never its raw name), with the way back to the
    list's first page (`back`)."""

    def __init__(self, *, parameter: str, value: str, what: str, back: str) -> None:
        super().__init__(parameter)
        self.parameter = parameter
        self.value = value if len(value) <= 40 else value[:39] + "…"
        self.what = what
        self.back = back


class BadChoice(Exception):
    """An address's parameter that is none of its choices (`rejections=bogus`): a 422 page naming what the parameter
    chooses (`what`, its label in Vietnamese, never its raw name), the value and the choices (already in
    Vietnamese, as the page offers them), with the way back (`back`)."""

    def __init__(self, *, parameter: str, what: str, value: str, choices: str, back: str) -> None:
        super().__init__(parameter)
        self.parameter = parameter
        self.what = what
        self.value = value if len(value) <= 40 else value[:39] + "…"
        self.choices = choices
        self.back = back


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in person: their stored account as a principal, and their session's CSRF token."""

    principal: Principal
    account: AccountRow
    csrf: str
    name: str | None = None
    """The person's full name (PersonNames), else the account's display name (`web-account --name`), which the header
    shows; None when neither is known: the sign-in name then."""

    @property
    def role(self) -> Role:
        """The account's role."""
        return self.principal.role


def render(
    request: Request, template: str, *, status: int = 200, viewer: Viewer | None = None, **context: Any
) -> HTMLResponse:
    """A page from a template, with the security headers; `scores_unavailable` (`meetings_unavailable`) tells it
    evaluation (meetings) did not answer during this render (the page shows its note in place of that part)."""
    context.setdefault("scores_unavailable", scores_unavailable())
    context.setdefault("notices_unavailable", notices_unavailable())
    context.setdefault("meetings_unavailable", meetings_unavailable())
    context.setdefault("criteria_unavailable", CRITERIA_UNAVAILABLE)
    html = environment().get_template(template).render(request=request, viewer=viewer, **context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


async def current_viewer(request: Request, state: State) -> Viewer:
    """The viewer of the session cookie, read from the stored account on every request; SessionEnded (the session
    closed) when a member's or secretary's person has left the cell or its position (membership.MembershipCheck),
    ServiceUnavailable for a form sent while meetings cannot say."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise SignInRequired
    session = await WebAccounts(state.pool).session(cookie)
    if session is None:
        raise SignInRequired
    account = await state.accounts.get(session.sub)
    if account is None or not account.active:
        raise SignInRequired
    principal = principal_of(account)
    request.state.principal = principal
    request.state.session_csrf = session.csrf  # a form sent with it comes back should meetings not say (sent_by_viewer)
    read_with_kept_units(request.method in READ_METHODS)
    refused = await state.membership.refusal(principal, command=request.method not in READ_METHODS)
    if refused is not None:  # the person left the cell or the position: this session ends here, server side too
        await WebAccounts(state.pool).close_session(cookie)
        log.info("web_session_ended", sub=account.sub, reason=refused.reason)
        raise SessionEnded(refused.reason)
    # the person's name as meetings knows it; an account without a person (an officer's) its display name, if given
    name = await state.names.full_name(principal) or session.display_name
    return Viewer(principal=principal, account=account, csrf=session.csrf, name=name)


CurrentViewer = Annotated[Viewer, Depends(current_viewer)]


async def check_csrf(request: Request, viewer: CurrentViewer) -> Viewer:
    """The viewer, once the form's `csrf` field matches their session's token; otherwise 403."""
    form = await posted_form(request)
    if not same_token(str(form.get("csrf") or ""), viewer.csrf):
        raise CsrfRefused
    return viewer


FormViewer = Annotated[Viewer, Depends(check_csrf)]


CRITERIA_UNAVAILABLE = N_(
    "The items to assess cannot be loaded right now: the evaluation service is not answering, so no points can be"
    " entered or sent. Please try again in a few minutes."
)
"""An assessment form's words while evaluation does not answer: its items (the meeting's score and framework) come
from evaluation, so the form shows no box to fill (the page's banner); a form posted then comes back as typed
(data.posted_items: form_again_page, nothing sent)."""


RECORD_UNKNOWN = N_(
    "The record was sent, but the system did not answer in time, so it is not known whether it was saved. Open the "
    "meeting's page again in a moment to see whether it is there before sending it again."
)
"""A form's command that meetings did not answer (ServiceUnavailable with its `detail`): it may have been stored, so
"the system is busy, try again" could record it twice (a form shown again has a new key, so a new event id)."""


SERVICE_UNREACHABLE = N_("Service not reachable")
"""The title of the page of a request a service did not answer (ServiceUnavailable): it is out of reach, not busy
(a genuine load has its own answers: 429 "too many requests", a form saved elsewhere at the same time)."""
UNREACHABLE_PARTS = {
    "meetings": N_("the meetings service"),
    "evaluation": N_("the evaluation service"),
    "notifications": N_("the notifications service"),
}
"""The service a ServiceUnavailable names, as its page says it (the operations page's names of the same)."""


def unreachable_said(service: str | None) -> str:
    """`Tạm thời chưa kết nối được với dịch vụ chấm điểm. Đồng chí vui lòng thử lại sau ít phút.`: the service
    `service` (a ServiceUnavailable's) named when known, a service of the system otherwise."""
    part = UNREACHABLE_PARTS.get(service or "")
    if part is None:
        return _("A service of the system cannot be reached for now. Please try again in a few minutes.")
    return _("Cannot reach %(service)s for now. Please try again in a few minutes.", service=_(part))


NOT_SENT = N_(
    "Nothing was saved: a service this form needs cannot be reached for now, so the form was not sent. What you"
    " typed is kept below; please send it again in a few minutes."
)
"""The note over a command's form posted while a service it needs did not answer before anything was sent."""
PERHAPS_SAVED = N_(
    "This form was sent, but the system did not answer in time, so it may already have been saved. What you typed"
    " is kept below: sending it again unchanged will not save it twice."
)
"""The note over a command's form sent that no service answered in time (ServiceUnavailable with its `detail`): its
one-time key (or, for settings, the same values) makes the same form sent again the same command, recorded once."""
PEOPLE_UNAVAILABLE = N_("The list of members cannot be loaded right now, so the choice made is kept as it was sent.")
"""Said under a choice of members (a chair, an assignee) on a form shown again while meetings, which lists them,
does not answer: the member chosen is sent again as chosen."""


def form_again(form: Any, labels: FormLabels) -> list[dict[str, Any]]:
    """The inputs of a posted `form` to draw again, in its order, by how the page gave them (`labels`): typed ones
    (`text`, with their HTML type, or `area`) and choices (`select`, `checks`, `tick`, with the options the page
    offered; `kept` with the values hidden when those are members no one could list) to change, the rest `hidden`
    as sent; ticks and lists of ticks left unticked (never posted) drawn unticked where the form order places them."""
    entries: list[dict[str, Any]] = []
    grouped: dict[str, dict[str, Any]] = {}
    for name, value in form.multi_items():
        if not isinstance(value, str):
            continue  # a file is never kept by a browser: chosen again
        if name in grouped:
            grouped[name]["values"].append(value)
            continue
        found = labels.find(name)
        if found is not None and found[1] == TEXT:
            kind = labels.of_stem(labels.types, name) or "text"
            area = kind == "area" or "\n" in value
            entries.append({"name": name, "value": value, "label": found[0], "kind": "area" if area else "text"})
            entries[-1]["type"] = None if area or kind == "text" else kind
        elif found is not None and found[1] == CHOICE and name not in labels.confirmations:
            grouped[name] = choice_entry(name, found[0], value, labels)
            entries.append(grouped[name])
        else:
            entries.append({"name": name, "value": value, "label": None, "kind": "hidden"})
    for entry in grouped.values():  # a value the page no longer offers is still the one sent
        for chosen in entry["values"]:
            if "options" in entry:
                entry["options"].setdefault(chosen, chosen or "—")
    for name, said in labels.choices.items():
        if name.endswith("-") or name in grouped or name in labels.confirmations:
            continue  # a row's choice is posted with its row; a select is always posted; a warning's tick unasked
        entry = choice_entry(name, _(said), None, labels)
        if entry["kind"] in ("checks", "tick"):
            entries.insert(placed(name, entries, labels), entry)
    return entries


def choice_entry(name: str, label: str, value: str | None, labels: FormLabels) -> dict[str, Any]:
    """One choice input of a form drawn again (form_again), chosen `value` first (None: nothing ticked)."""
    entry: dict[str, Any] = {"name": name, "label": label, "values": [] if value is None else [value]}
    if labels.of_stem(labels.people, name):
        if not labels.names:
            return entry | {"kind": "kept"}
        shown = {code: plain_name(said) for code, said in labels.names.items()}
    else:
        options = labels.of_stem(labels.options, name)
        if options is None:
            return entry | {"kind": "tick", "options": {"on": label}}
        shown = {code: _(said) for code, said in options.items()}
    return entry | {"kind": "checks" if labels.of_stem(labels.many, name) else "select", "options": shown}


def placed(name: str, entries: list[dict[str, Any]], labels: FormLabels) -> int:
    """Where input `name` goes among `entries` of a form drawn again: before the first one the form order
    (FormLabels.order) puts after it; at the end when the order does not say."""
    order = [item if isinstance(item, str) else item[0] for item in labels.order]
    if name not in order:
        return len(entries)
    at = order.index(name)
    for index, entry in enumerate(entries):
        stem, dash, _row = entry["name"].partition("-")
        key = f"{stem}-" if dash and f"{stem}-" in order else entry["name"]
        if key in order and order.index(key) > at:
            return index
    return len(entries)


async def sent_by_viewer(request: Request) -> bool:
    """Whether the form posted with `request` carries the CSRF token of the session it came with (current_viewer
    notes it before asking meetings whether the person still stands): a form another site made a browser post is
    never drawn back as the person's."""
    token = getattr(request.state, "session_csrf", None)
    if not token:
        return False
    try:
        form = await posted_form(request)
    except Exception as exc:  # a body Starlette cannot read as a form: nothing to give back
        log.warning("web_form_not_read", path=request.url.path, error=repr(exc))
        return False
    return same_token(str(form.get("csrf") or ""), token)


def resent_alike(request: Request, labels: FormLabels) -> bool:
    """Whether the form being handled, sent again, is the same command: it carries its one-time key (on the
    request's state: forms.form_of) or sets values (FormLabels.sets_values)."""
    return labels.sets_values or bool(getattr(request.state, FORM_KEY, None))


async def form_again_page(request: Request, labels: FormLabels, *, sent: bool) -> HTMLResponse:
    """The 503 page of a command's form (forms.form_of was read) that a service did not answer: not before its
    command was sent (NOT_SENT), or after (`sent`: PERHAPS_SAVED, or the labels' own `unanswered` title and note for
    an action on a list, with the way to that list, `back`); the same form again, posting to the same address with
    every value as sent (what was typed or chosen to change, the rest, its `form_key` among them, hidden), so sending
    it again unchanged is the same command, recorded once; the labels' `again_note` said under the note."""
    inputs = form_again(await posted_form(request), labels)
    action = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    title, note = (_("Perhaps already saved"), _(PERHAPS_SAVED)) if sent else (_("Not saved"), _(NOT_SENT))
    if sent and labels.unanswered is not None:  # an action on a list (an operator's): perhaps done, the list tells
        title, note = (_(said) for said in labels.unanswered)
    back = (labels.back[0], _(labels.back[1])) if labels.back is not None else None
    return render(
        request,
        "not_sent.html",
        status=503,
        title=title,
        note=note,
        action=action,
        inputs=inputs,
        people_unavailable=_(PEOPLE_UNAVAILABLE),
        more=_(labels.again_note) if labels.again_note else None,
        back=back,
    )


class CsrfRefused(Exception):
    """A form without the session's CSRF token."""


def error_page(
    request: Request, status: int, title: str, message: str, *, back: tuple[str, str] | None = None
) -> HTMLResponse:
    """An error as a Vietnamese page; `back` (address, label) is a way back besides the home page."""
    return render(request, "error.html", status=status, title=title, message=message, back=back)


def malformed_id(request: Request) -> bool:
    """Whether an id in the page's path (a `…_id` parameter) breaks CONTRACT.md's id syntax: no such page exists."""
    return any(name.endswith("_id") and not is_identifier(value) for name, value in request.path_params.items())


REPEATED_PARAMETER = N_(
    "“%(parameter)s” appears %(count)s times in the page's address, so it is not known which value is meant. Open"
    " the page again from a link or a button of the app, or keep “%(parameter)s” once in the address."
)


def repeated_parameter_page(request: Request, parameter: str, count: int) -> HTMLResponse:
    """The 400 page of an address giving a parameter more than once (`?period=2026-11&period=2026-10`): named as it is
    written there, for no page says which of its values it would take."""
    name = echoed(parameter if len(parameter) <= 40 else parameter[:39] + "…")
    return error_page(request, 400, _("Invalid address"), _(REPEATED_PARAMETER, parameter=name, count=count))


NOT_RETURNED_TO = (f"{PREFIX}/sign-in", f"{PREFIX}/sign-out")
"""Pages a sign-in never returns to: signing in again, or out."""


def opens_by_get(request: Request, path: str) -> bool:
    """Whether `path` (no query) is a page of the app a browser opens: some route answers GET there."""
    scope = {"type": "http", "path": path, "method": "GET", "root_path": request.scope.get("root_path", "")}
    return any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes)


def form_page(request: Request) -> str:
    """The page a form sent with `request` (a POST) lives on: the Referer, when it is this app's own page on this
    origin (Referrer-Policy same-origin sends it whole), else the nearest page above the form's address (its path
    cut back a segment at a time to one a GET answers), else the home page; never a page NOT_RETURNED_TO."""
    referer = urlsplit(request.headers.get("referer") or "")
    if referer.scheme in ("http", "https") and referer.netloc == request.url.netloc:
        target = referer.path + (f"?{referer.query}" if referer.query else "")
        if safe_next(target) == target and opens_by_get(request, referer.path):
            if not referer.path.startswith(NOT_RETURNED_TO):
                return target
    path = request.url.path.rstrip("/")
    while path.startswith(PREFIX + "/"):
        if opens_by_get(request, path) and not path.startswith(NOT_RETURNED_TO):
            return path
        path = path.rsplit("/", 1)[0]
    return PREFIX + "/"


def sign_in_return(request: Request) -> str:
    """Where a sign-in asked for by `request` returns (its `next`): the page itself for a GET or HEAD, the page the
    form lives on (form_page) for a form sent (a POST is never an address to open: it would answer "cannot be used
    this way", and nothing sent without a session is acted on)."""
    if request.method in ("GET", "HEAD"):
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return form_page(request)


class WebRoute(APIRoute):
    """A page route: sign-in redirects, and 404/403/503 answered as pages rather than JSON; an id outside the id
    syntax is the page that does not exist, and a parameter given twice in the address a 400 page naming it, before
    any service is asked (as the API answers 422 for either)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap the handler so failures become pages."""
        original = super().get_route_handler()
        declared = declared_form(self.endpoint)  # the form a POST takes, known before the handler reads it

        async def handler(request: Request) -> Response:
            if malformed_id(request):
                return not_found_page(request)
            repeated = repeated_parameter(request.query_params)
            if repeated is not None:  # no value is silently preferred (the API answers 422 naming it alike)
                return repeated_parameter_page(request, *repeated)
            form_labels = FORM.set(None)  # a command's form is this request's only once form_of reads it
            answered = ANSWERED.set([])
            try:
                with page_render():
                    return await original(request)
            except SignInRequired:
                return RedirectResponse(f"{PREFIX}/sign-in?next={quote(sign_in_return(request))}", status_code=303)
            except SessionEnded as exc:
                ended = RedirectResponse(f"{PREFIX}/sign-in", status_code=303)
                ended.delete_cookie(SESSION_COOKIE, path=PREFIX)
                ended.set_cookie(
                    SIGNED_OUT_COOKIE,
                    exc.reason,
                    max_age=600,
                    httponly=True,
                    samesite="lax",
                    secure=request.url.scheme == "https",
                    path=PREFIX,
                )
                return ended
            except CsrfRefused:
                return error_page(
                    request, 403, _("Form expired"), _("The form has expired. Go back, reload the page and try again.")
                )
            except NotAllowed as exc:
                return error_page(request, 403, _("Not allowed"), exc.message)
            except BadPeriod as exc:
                if exc.evidence:
                    return error_page(
                        request,
                        422,
                        _("Invalid period"),
                        _(
                            "“%(value)s” (the address's period) is not a period the evidence covers: choose a year"
                            " (such as 2026) or a half-year (2026-H1 or 2026-H2).",
                            value=echoed(exc.value),
                        ),
                    )
                if exc.year:
                    return error_page(
                        request,
                        422,
                        _("Invalid year"),
                        _(
                            "“%(value)s” is not a year: write it with four digits, such as 2026.",
                            value=echoed(exc.value),
                        ),
                    )
                if exc.latest is not None:
                    return error_page(
                        request,
                        422,
                        _("Invalid period"),
                        _(
                            "“%(value)s” is outside the periods there are: choose one from %(earliest)s to %(latest)s.",
                            value=echoed(exc.value),
                            earliest=format_period(EARLIEST_PERIOD, within=True),
                            latest=format_period(exc.latest, within=True),
                        ),
                    )
                return error_page(
                    request,
                    422,
                    _("Invalid period"),
                    _(
                        "“%(value)s” is not a period: choose a month (such as 2026-11), a quarter (2026-Q4),"
                        " a half-year (2026-H1 or 2026-H2) or a year (2026).",
                        value=echoed(exc.value),
                    ),
                )
            except PeriodNotBegun as exc:
                return error_page(request, 422, *not_yet_due(exc.period, latest=exc.latest), back=exc.back)
            except YearOutside as exc:
                return error_page(
                    request,
                    404,
                    _("No data for that year"),
                    _(
                        "There is nothing for %(year)s (the address's year): the cell existed from %(earliest)s to"
                        " %(latest)s, so choose a year in that span.",
                        year=exc.year,
                        earliest=exc.earliest,
                        latest=exc.latest,
                    ),
                    back=(exc.back, _("See %(year)s", year=exc.latest)),
                )
            except PeriodOutside as exc:
                return error_page(request, 404, *period_outside(exc), back=(exc.back, _("See the latest period")))
            except BadPosition as exc:
                return error_page(
                    request,
                    400,
                    _("Invalid list position"),
                    _(
                        "“%(value)s” is not a position in %(what)s (in the page's address): write a whole number"
                        " from 0, such as 20.",
                        value=echoed(exc.value),
                        what=exc.what,
                    ),
                    back=(exc.back, _("Back to the first page")),
                )
            except BadChoice as exc:
                return error_page(
                    request,
                    422,
                    _("Invalid address"),
                    _(
                        "“%(value)s” is not one of the choices of %(what)s in the page's address: choose %(choices)s"
                        " on the page.",
                        value=echoed(exc.value),
                        what=exc.what,
                        choices=exc.choices,
                    ),
                    back=(exc.back, _("Back to the first page")),
                )
            except (PageNotFound, RequestValidationError):
                return not_found_page(request)
            except ServiceUnavailable as exc:
                log.warning("web_service_unavailable", dependency=exc.service, path=request.url.path)
                labels = FORM.get() if request.method == "POST" else None
                if labels is None and declared is not None and exc.detail is None and not ANSWERED.get():
                    # silent before the handler read its form (the person's standing, the unit, the meeting asked
                    # first): nothing was sent nor judged in scope, so only what this viewer typed comes back
                    labels = declared if await sent_by_viewer(request) else None
                if labels is not None and exc.detail is None and not ANSWERED.get():
                    return await form_again_page(request, labels, sent=False)  # nothing was sent: the form again
                if labels is not None and exc.detail is not None and resent_alike(request, labels):
                    # sent, no answer: perhaps saved; the form again, which sent unchanged is the same command
                    return await form_again_page(request, labels, sent=True)
                if exc.detail is not None and request.method == "POST":
                    # a record sent that the service did not answer (handlers.send_command): perhaps saved
                    page = error_page(request, 503, _("Perhaps not saved"), _(RECORD_UNKNOWN))
                else:
                    page = error_page(request, 503, _(SERVICE_UNREACHABLE), unreachable_said(exc.service))
                page.headers["Retry-After"] = SERVICE_RETRY_AFTER  # as the API's 503 says it
                return page
            except RpcError as exc:
                if exc.field == "period" and exc.code in ("invalid", "not_found"):
                    title, message = unrated(request.query_params.get("period") or "", exc)
                    return error_page(request, 404 if exc.code == "not_found" else 422, title, message)
                if exc.code in ("not_found", "forbidden"):
                    return not_found_page(request)
                log.error("web_rpc_error", path=request.url.path, code=exc.code, message=exc.message)
                return error_page(
                    request, 502, _("Something went wrong"), _("The system could not answer. Please try again.")
                )
            finally:
                FORM.reset(form_labels)
                ANSWERED.reset(answered)

        return handler


def not_yet_due(period: str, *, latest: str | None = None) -> tuple[str, str]:
    """(title, message) of a period not begun yet: "Chưa đến kỳ", never rated, naming the latest period there is
    (`latest`, else this month in Vietnam's time, shared.plausible.latest_rated_month, as the API's message does)."""
    latest = format_period(latest or latest_rated_month(datetime.now(VIETNAM_TZ)), within=True)
    return _("Not yet due"), _(
        "%(period)s has not begun yet, so it is not rated. The latest period that can be viewed is %(latest)s.",
        period=format_period(period),
        latest=latest,
    )


def period_outside(outside: PeriodOutside) -> tuple[str, str]:
    """(title, message) of a period before the unit's data (PeriodOutside): the span there is, from its first month
    to this month, or that it has no data yet."""
    if outside.earliest is None:
        return _("No data for that period"), _(
            "There is nothing for %(period)s (the address's period): this unit has no data yet.",
            period=format_period(outside.period, within=True),
        )
    return _("No data for that period"), _(
        "There is nothing for %(period)s (the address's period): this unit has data from %(earliest)s to %(latest)s,"
        " so choose a period in that span.",
        period=format_period(outside.period, within=True),
        earliest=format_period(outside.earliest, within=True),
        latest=format_period(f"{datetime.now(VIETNAM_TZ):%Y-%m}", within=True),
    )


def unrated(period: str, error: RpcError) -> tuple[str, str]:
    """(title, message) of a period evaluation does not rate: not begun yet (`invalid`) or before any data."""
    if error.code == "invalid":
        return not_yet_due(period)
    return no_data_yet(period)


def no_data_yet(period: str) -> tuple[str, str]:
    """(title, message) of a period the unit has no data for up to its end (the API's roll-up `no_data`): "Chưa có
    dữ liệu", never rated."""
    return _("No data yet"), _(
        "There is no data for %(period)s in this unit yet, so it is not rated.", period=format_period(period)
    )


def not_found_page(request: Request) -> HTMLResponse:
    """The one answer for a page that does not exist and one that is not the viewer's."""
    return error_page(request, 404, _("Page not found"), _("This page does not exist, or it is not within your unit."))


async def go_back(request: Request, *, fallback: str, anchor: str = "") -> RedirectResponse:
    """303 to the posted form's `next` (inside the app only, else `fallback`), at `anchor`: a small form on a
    shared part of several pages answers with the page it was on."""
    form = await posted_form(request)
    target = str(form.get("next") or "")
    return RedirectResponse((target if safe_next(target) == target else fallback) + anchor, status_code=303)


def safe_next(target: str | None) -> str:
    """A redirect target inside the app only (no open redirect)."""
    if target and target.startswith(PREFIX + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return PREFIX + "/"
