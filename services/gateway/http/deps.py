"""FastAPI dependencies: the gateway state, the authenticated principal, the role a write needs, pagination."""

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.gateway.accounts import authorize_local
from services.gateway.auth import Principal, Role, TokenError
from services.gateway.bootstrap import GatewayState
from services.gateway.handlers import read_with_kept_units, require_role
from services.gateway.http.errors import ApiError
from services.gateway.limits import RateLimiter, client_address

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""The requests that change nothing: a member's or secretary's read goes on while meetings cannot say whether their
account still stands (membership.MembershipCheck); any other request is refused then."""

bearer = HTTPBearer(auto_error=False, description="A chibo token (HS256, local) or the identity provider's (RS256)")


def get_state(request: Request) -> GatewayState:
    """The state the lifespan built."""
    state: GatewayState = request.app.state.gateway
    return state


State = Annotated[GatewayState, Depends(get_state)]


async def get_principal(
    request: Request,
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """Authenticate the bearer token and authorize it from the stored account, then spend one request of its rate.

    An address whose credentials keep failing is throttled (429): past its limit, only a token that verifies still
    gets in, so one broken client behind a shared address (a NAT, a data centre's egress) does not lock out the
    others there. Verifying costs no database read for a bad token (its signature fails first), and the identity
    provider's keys are refetched at most once per PyJWT's cooldown, so the throttle still bounds the cost.

    A member's or secretary's token whose person has left the cell (or, a secretary's, no longer holds its secretary
    or deputy secretary position) is 403 (`forbidden`, saying so), whatever the token's age
    (membership.MembershipCheck); a command 503 while meetings cannot say."""
    challenge = {"WWW-Authenticate": "Bearer"}
    address = client_address(request.scope)
    throttled = not state.anonymous.allows(address)
    try:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise TokenError("a bearer token is required")
        principal = await state.verifier.verify(credentials.credentials)
        if principal.local:
            principal = await authorize_local(state.accounts, sub=principal.sub, issued_at=principal.issued_at)
    except TokenError as exc:
        if throttled:
            raise ApiError(
                429,
                "rate_limited",
                "too many requests without a valid token from this address",
                headers={"Retry-After": state.anonymous.retry_after(address)},
            ) from exc
        state.anonymous.failed(address)
        raise ApiError(401, "unauthorized", str(exc), headers=challenge) from exc
    request.state.principal = principal
    read_with_kept_units(request.method in READ_METHODS)
    refused = await state.membership.refusal(principal, command=request.method not in READ_METHODS)
    if refused is not None:
        raise ApiError(403, "forbidden", refused.message)
    wait = state.limiter.take(principal.sub)
    if wait > 0:
        raise ApiError(
            429,
            "rate_limited",
            "too many requests for this token",
            headers={"Retry-After": RateLimiter.retry_after(wait)},
        )
    return principal


Caller = Annotated[Principal, Depends(get_principal)]


class RoleCheck:
    """The roles a write route needs and the action a refusal names, used twice from this one place: as the route's
    dependency (`dependencies=[Depends(RULE)]`), which FastAPI runs before it validates the body, so a caller without
    the role gets 403 and learns nothing of the body's schema from a 422; and by the endpoint itself (`RULE.check`),
    for callers that run it directly (the web app's pages)."""

    def __init__(self, roles: Iterable[Role], action: str) -> None:
        self.roles = frozenset(roles)
        self.action = action

    def check(self, principal: Principal) -> None:
        """403 (`forbidden`, naming the action) unless the principal has one of the roles."""
        require_role(principal, self.roles, self.action)

    async def __call__(self, caller: Caller) -> None:
        """The route dependency: the authenticated caller (the route's own principal, cached) checked."""
        self.check(caller)


Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
Offset = Annotated[
    int,
    Query(
        ge=0,
        le=1_000_000,
        description=(
            "items to skip; kept for compatibility: rows added or removed while a list is read make offset pages skip "
            "and repeat rows, and a page costs more the farther in. Read a list with `cursor` instead where the list "
            "has one"
        ),
    ),
]


def audit_personal_read(request: Request, *, what: str, subject: str) -> None:
    """Mark this read as one of members' personal data (names, e-mails, phones, histories, rosters): the audit
    trail writes a row for it (who, what, whose, from where), whatever its status (issue 11)."""
    request.state.personal_data = {"personal_data": what, "subject": subject}


def personal_read(what: str, *, subject_param: str) -> Any:
    """A route dependency (`dependencies=[personal_read(...)]`) auditing every call as a personal-data read of the
    object named by the path parameter `subject_param`; it leaves the route function's signature alone."""

    async def mark(request: Request) -> None:
        audit_personal_read(request, what=what, subject=str(request.path_params.get(subject_param)))

    return Depends(mark)
