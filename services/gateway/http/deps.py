"""FastAPI dependencies: the gateway state, the authenticated principal, pagination."""

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.gateway.auth import Principal, TokenError
from services.gateway.bootstrap import GatewayState
from services.gateway.http.errors import ApiError
from services.gateway.limits import RateLimiter

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
    """Authenticate the bearer token, check the local account, and spend one request of its rate."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "unauthorized", "a bearer token is required", headers=challenge)
    try:
        principal = await state.verifier.verify(credentials.credentials)
    except TokenError as exc:
        raise ApiError(401, "unauthorized", str(exc), headers=challenge) from exc
    if principal.local and not await state.account_gate.is_active(principal.sub):
        raise ApiError(401, "unauthorized", "the account is unknown or disabled", headers=challenge)
    request.state.principal = principal
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
Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="items to skip")]
