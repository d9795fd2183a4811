"""Sign-in through the province's OpenID Connect provider (see services/gateway/web/oidc.py for the rule that
maps a provider identity to a chibo account). Without a configured provider both routes answer 404."""

from typing import Any

import httpx
from authlib.integrations.base_client import OAuthError
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.gateway.auth import Role
from services.gateway.http.deps import State
from services.gateway.web.core import PREFIX, PageNotFound, WebRoute, safe_next
from services.gateway.web.i18n import _
from services.gateway.web.oidc import FLOW_COOKIE, FLOW_MINUTES, OidcStore, client, configured, identity_of
from services.gateway.web.pages.auth import PEOPLE, set_cookie, sign_in_form, standing_refused
from services.gateway.web.sessions import SESSION_COOKIE, WebAccounts
from shared.logs import get_logger

log = get_logger(__name__)
router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False)


def _callback_url(request: Request, state: State) -> str:
    return state.settings.oidc_redirect_url or str(request.url_for("oidc_callback"))


@router.get("/sign-in/oidc")
async def oidc_start(request: Request, state: State, next: str | None = None) -> Response:  # noqa: A002
    """Send the browser to the provider (state, nonce, PKCE S256), remembering where to go on afterwards."""
    if not configured(state.settings):
        raise PageNotFound
    request.scope["session"] = {}
    try:
        response: Response = await client(state.settings).authorize_redirect(request, _callback_url(request, state))
    except (OAuthError, httpx.HTTPError, OSError, ValueError) as exc:
        log.warning("web_oidc_unreachable", error=repr(exc))
        return sign_in_form(
            request,
            next_url=safe_next(next),
            status=503,
            error=_("The identity provider cannot be reached. Please try again or sign in with your password."),
        )
    browser = await OidcStore(state.pool).save_flow(request.scope["session"], next_url=safe_next(next))
    set_cookie(response, request, FLOW_COOKIE, browser, max_age=FLOW_MINUTES * 60)
    return response


@router.get("/sign-in/oidc/callback", name="oidc_callback")
async def oidc_callback(request: Request, state: State) -> Response:
    """Finish the flow: the code exchanged with the verifier, the ID token checked, the linked account signed in;
    a Vietnamese refusal on the sign-in page otherwise (no account is created)."""
    if not configured(state.settings):
        raise PageNotFound
    store = OidcStore(state.pool)
    flow = await store.take_flow(request.query_params.get("state", ""), browser=request.cookies.get(FLOW_COOKIE, ""))
    if flow is None:
        log.info("web_oidc_refused", reason="unknown_or_expired_flow")
        return _refused(request, _("The sign-in has expired. Please start again."), next_url=PREFIX + "/")
    session, next_url = flow
    request.scope["session"] = session
    try:
        token = await client(state.settings).authorize_access_token(request)
    except (OAuthError, httpx.HTTPError, OSError, ValueError) as exc:
        log.info("web_oidc_refused", reason="provider", error=repr(exc)[:300])
        return _refused(request, _("The identity provider did not confirm the sign-in."), next_url=next_url)
    claims = token.get("userinfo")
    if not claims or not claims.get("sub"):
        log.info("web_oidc_refused", reason="no_id_token")
        return _refused(request, _("The identity provider did not confirm the sign-in."), next_url=next_url)
    claims = dict(claims)
    if "email" not in claims and token.get("access_token"):
        claims = await _with_userinfo(state, token, claims)
    identity = identity_of(claims)
    sub = await store.account_for(identity)
    account = await state.accounts.get(sub) if sub else None
    if account is None or not account.active or Role(account.role) not in PEOPLE:
        log.info("web_oidc_refused", reason="no_linked_account", subject=identity.subject, account=sub)
        return _refused(
            request,
            _(
                "Your account at %(provider)s is not linked to any user of this system. Please ask your committee's "
                "office to link it.",
                provider=state.settings.oidc_provider_name or _("the province's identity provider"),
            ),
            next_url=next_url,
        )
    refused = await standing_refused(request, state, account, next_url=next_url)
    if refused is not None:  # linked, but its person has left the cell or the position, or it names none
        refused.delete_cookie(FLOW_COOKIE, path=PREFIX)
        return refused
    accounts = WebAccounts(state.pool, session_hours=state.settings.web_session_hours)
    session_id, _session = await accounts.open_session(account.sub)
    log.info("web_signed_in", sub=account.sub, role=account.role, via="oidc")
    response = RedirectResponse(next_url, status_code=303)
    set_cookie(response, request, SESSION_COOKIE, session_id, max_age=int(state.settings.web_session_hours * 3600))
    response.delete_cookie(FLOW_COOKIE, path=PREFIX)
    return response


async def _with_userinfo(state: State, token: dict[str, Any], claims: dict[str, Any]) -> dict[str, Any]:
    """The ID token's claims completed from the UserInfo endpoint (many providers put `email` only there); the
    answer counts only when its `sub` is the ID token's, and never overrides the ID token."""
    try:
        extra = dict(await client(state.settings).userinfo(token=token))
    except (OAuthError, httpx.HTTPError, OSError, ValueError) as exc:
        log.info("web_oidc_userinfo_failed", error=repr(exc)[:300])
        return claims
    return {**extra, **claims} if extra.get("sub") == claims["sub"] else claims


def _refused(request: Request, message: str, *, next_url: str) -> Response:
    response = sign_in_form(request, next_url=next_url, status=403, error=message)
    response.delete_cookie(FLOW_COOKIE, path=PREFIX)
    return response
