"""Sign-in with a local account's password, sign-out, and the landing page of each role."""

import math
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.gateway.auth import Role
from services.gateway.http.deps import State
from services.gateway.http.errors import SERVICE_RETRY_AFTER
from services.gateway.limits import client_address
from services.gateway.repository import AccountRow
from services.gateway.web import forms
from services.gateway.web.core import PREFIX, SIGNED_OUT_COOKIE, CurrentViewer, FormViewer, WebRoute, render, safe_next
from services.gateway.web.i18n import N_, _, format_number
from services.gateway.web.oidc import configured
from services.gateway.web.sessions import SESSION_COOKIE, SIGN_IN_COOKIE, WebAccounts, principal_of, same_token
from shared.logs import get_logger
from shared.rpc import ServiceUnavailable
from shared.text import has_text

log = get_logger(__name__)
router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False)
PEOPLE = frozenset({Role.MEMBER, Role.SECRETARY, Role.COMMITTEE_OFFICER})
WEB_ROLES = PEOPLE | {Role.OPERATOR}
"""Who may sign in to the web app: people of the party tree, and operators (their page)."""


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    """An HttpOnly, SameSite=Lax cookie for the app's paths (Secure over HTTPS)."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=PREFIX,
    )


def sign_in_form(
    request: Request, *, next_url: str, error: str | None = None, username: str = "", status: int = 200
) -> HTMLResponse:
    """The sign-in page (with the province's provider when one is configured), its CSRF cookie set."""
    token = secrets.token_urlsafe(32)
    settings = request.app.state.gateway.settings
    provider = (settings.oidc_provider_name or _("the province's identity provider")) if configured(settings) else None
    response = render(
        request,
        "sign_in.html",
        status=status,
        csrf=token,
        next_url=next_url,
        error=error,
        username=username,
        provider=provider,
        kept_form_hold=True,  # a form sent without a session is held here for its page (static/kept-forms.js)
    )
    set_cookie(response, request, SIGN_IN_COOKIE, token, max_age=3600)
    return response


SIGNED_OUT = {
    "left": N_(
        "This account can no longer be used because you are no longer listed among the party members of its "
        "cell (transferred or removed), so you have been signed out. Please ask your committee's office for "
        "an account of your current cell."
    ),
    "position": N_(
        "This account can no longer be used because you no longer hold the position of cell secretary or "
        "deputy secretary, so you have been signed out. Please ask your committee's office for an account "
        "matching your current position."
    ),
    "no_person": N_(
        "This account can no longer be used because it is not linked to any party member of its cell, so you have"
        " been signed out. Please ask your committee's office to link it to your own membership record."
    ),
}
"""Why a session was ended (core.SessionEnded's reason, passed in core.SIGNED_OUT_COOKIE), as the sign-in page says."""
NOT_SIGNED_IN = {
    "left": N_(
        "This account cannot be used because you are no longer listed among the party members of its cell"
        " (transferred or removed). Please ask your committee's office for an account of your current cell."
    ),
    "position": N_(
        "This account cannot be used because you no longer hold the position of cell secretary or deputy secretary."
        " Please ask your committee's office for an account matching your current position."
    ),
    "no_person": N_(
        "This account cannot be used because it is not linked to any party member of its cell. Please ask your"
        " committee's office to link it to your own membership record."
    ),
}
"""Why a right password did not sign in (membership.Refusal's reason), as the sign-in page says."""
STANDING_UNKNOWN = N_(
    "You cannot be signed in right now: the meetings service is not answering, so it cannot be confirmed that you"
    " still belong to the cell of this account. Please try again in a few minutes."
)
"""Said on the sign-in page when meetings cannot say whether a member's or secretary's account still stands."""


async def standing_refused(
    request: Request, state: State, account: AccountRow, *, next_url: str, username: str = ""
) -> Response | None:
    """The sign-in page refusing `account` (403, NOT_SIGNED_IN) when its person has left the cell or the position, or
    it names no person (membership.MembershipCheck, as every request of a session asks, but asked of meetings now, not
    the answer kept for requests: a person removed a moment ago does not sign in), or 503 (STANDING_UNKNOWN,
    Retry-After) when meetings cannot say now, whatever answer is kept; None when it may sign in (roles not checked
    too). `username`: the name to put back in the form (the one typed; none after the identity provider)."""
    try:
        refused = await state.membership.refusal(principal_of(account), command=False, fresh=True)
    except ServiceUnavailable as exc:
        log.warning("web_sign_in_unchecked", sub=account.sub, dependency=exc.service)
        page = sign_in_form(request, next_url=next_url, username=username, status=503, error=_(STANDING_UNKNOWN))
        page.headers["Retry-After"] = SERVICE_RETRY_AFTER  # as every "try again" 503 of the gateway says it
        return page
    if refused is None:
        return None
    log.info("web_sign_in_refused", sub=account.sub, reason=refused.reason)
    return sign_in_form(
        request, next_url=next_url, username=username, status=403, error=_(NOT_SIGNED_IN[refused.reason])
    )


@router.get("/sign-in")
async def sign_in_page(request: Request, next: str | None = None) -> HTMLResponse:  # noqa: A002
    """The sign-in form; once after a session was ended because its account no longer stands, saying why."""
    reason = SIGNED_OUT.get(request.cookies.get(SIGNED_OUT_COOKIE) or "")
    response = sign_in_form(request, next_url=safe_next(next), error=_(reason) if reason else None)
    if request.cookies.get(SIGNED_OUT_COOKIE) is not None:
        response.delete_cookie(SIGNED_OUT_COOKIE, path=PREFIX)
    return response


SIGN_IN_FORM = forms.FormLabels(
    fields={"username": N_("Username"), "password": N_("Password")},
    hidden=frozenset({"csrf", "next"}),
    free=frozenset({"username", "password"}),
    order=("csrf", "next", "username", "password"),
)
"""The sign-in form's inputs as sign_in.html labels them; the username and password are read as sent (posted_text),
never cleaned, so not refused for an invisible character either (a wrong one is a wrong username or password)."""
SIGN_IN_LIMITS = {"username": 200, "password": 500}
"""The longest username and password the form takes, in characters."""


def posted_text(form: Any, name: str) -> str:
    """A posted input's text as sent ("" for none, or for a file in its place)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def sign_in_problems(form: Any) -> dict[str, str]:
    """{field: message} for each of the sign-in form's username and password left empty (a username of spaces or
    invisible characters alone too: has_text) or longer than SIGN_IN_LIMITS allows, in the form's order: every
    mistake of one sending at once."""
    problems: dict[str, str] = {}
    for field, most in SIGN_IN_LIMITS.items():
        typed = posted_text(form, field)
        entered = len(typed)
        if not (has_text(typed) if field == "username" else typed):  # spaces or zero-width ones alone are none
            problems[field] = forms.required(field)
        elif entered > most:
            problems[field] = _(
                forms.LIMITS["string_too_long"],
                field=forms.label(field),
                limit=format_number(most, digits=0),
                count=format_number(entered, digits=0),
            )
    return problems


@router.post("/sign-in")
async def sign_in(request: Request, state: State) -> Response:
    """Check the password of an active account allowed on the web, open a session, go on. The form is read as every
    form is (forms.form_of): UTF-8 whether percent-encoded or not, bytes that are not UTF-8 and characters no text is
    stored with refused naming the field, as are a username or password too long (was the app's 404 page)."""
    form = await forms.form_of(request, SIGN_IN_FORM)
    username, password = posted_text(form, "username"), posted_text(form, "password")
    next_url = safe_next(posted_text(form, "next"))
    if not same_token(posted_text(form, "csrf"), request.cookies.get(SIGN_IN_COOKIE)):
        return sign_in_form(
            request,
            next_url=next_url,
            username=username,
            status=403,
            error=_("The form has expired. Please sign in again."),
        )
    unstorable = forms.UNSTORABLE.get()
    if unstorable:  # no account is named so, and the throttle's table could not store the name (was a 500)
        return sign_in_form(request, next_url=next_url, username="", status=422, error=" ".join(unstorable.values()))
    problems = sign_in_problems(form)
    if problems:
        # every field's at once (both left empty named both); a name too long is not shown back
        too_long = len(username) > SIGN_IN_LIMITS["username"]
        shown = "" if too_long else username
        return sign_in_form(request, next_url=next_url, username=shown, status=422, error=" ".join(problems.values()))
    sub = username.strip()
    address = client_address(request.scope)
    wait, attempt = await state.sign_in.begin(sub, address)
    if wait:
        # checked before the password, for any name: the answer is the same whether or not the account exists
        log.warning("web_sign_in_throttled", sub=sub, client_ip=address, retry_after=wait)
        refused = sign_in_form(
            request,
            next_url=next_url,
            username=username,
            status=429,
            error=(
                _(
                    "Too many failed sign-in attempts. Please wait about %(seconds)s seconds, then try again.",
                    seconds=wait,
                )
                if wait < 60  # the first delays of one address are seconds: "about 1 minute" overstated them
                else _(
                    "Too many failed sign-in attempts. Please wait about %(minutes)s minutes, then try again.",
                    minutes=math.ceil(wait / 60),
                )
            ),
        )
        refused.headers["Retry-After"] = str(wait)
        return refused
    accounts = WebAccounts(state.pool, session_hours=state.settings.web_session_hours)
    ok: bool | None = None
    try:
        # a username typed in another case than the account's is the account (accounts are created as given, the
        # demo's in lower case; a trial found a name typed with a capital refused), unless two differ in case alone
        account = await state.accounts.named(sub)
        password_ok = await accounts.check_password(account.sub if account else sub, password)
        ok = password_ok and account is not None and account.active and Role(account.role) in WEB_ROLES
    finally:
        await state.sign_in.end(sub, address, attempt, ok=ok)
    if not ok or account is None:
        log.info("web_sign_in_refused", sub=sub)
        return sign_in_form(
            request,
            next_url=next_url,
            username=username,
            status=401,
            error=_("Wrong username or password."),
        )
    not_standing = await standing_refused(request, state, account, next_url=next_url, username=username)
    if not_standing is not None:  # the right password of an account that no longer stands: said why, no session
        return not_standing
    session_id, _session = await accounts.open_session(account.sub)
    log.info("web_signed_in", sub=account.sub, role=account.role)
    response = RedirectResponse(next_url, status_code=303)
    set_cookie(response, request, SESSION_COOKIE, session_id, max_age=int(state.settings.web_session_hours * 3600))
    response.delete_cookie(SIGN_IN_COOKIE, path=PREFIX)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, state: State, viewer: FormViewer) -> Response:
    """End the session (server side too) and go back to the sign-in page."""
    await WebAccounts(state.pool).close_session(request.cookies.get(SESSION_COOKIE, ""))
    log.info("web_signed_out", sub=viewer.principal.sub)
    response = RedirectResponse(f"{PREFIX}/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response


@router.get("/")
async def home(viewer: CurrentViewer) -> Response:
    """Each role's first page."""
    principal = viewer.principal
    if principal.role is Role.COMMITTEE_OFFICER:
        return RedirectResponse(f"{PREFIX}/committees/{principal.unit_id}", status_code=303)
    if principal.role is Role.SECRETARY:
        return RedirectResponse(f"{PREFIX}/cells/{principal.unit_id}", status_code=303)
    if principal.role is Role.OPERATOR:
        return RedirectResponse(f"{PREFIX}/operations", status_code=303)
    return RedirectResponse(f"{PREFIX}/me", status_code=303)
