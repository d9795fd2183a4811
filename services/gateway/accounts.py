"""Authorization from the stored account: what a local credential may do is decided by the account, now."""

from datetime import datetime, timedelta

from services.gateway.auth import Principal, Role, TokenError
from services.gateway.repository import AccountRepository, AccountRow

CHANGE_TOLERANCE = timedelta(milliseconds=1)
"""`iat` and `changed_at` are both kept to the millisecond; this absorbs float rounding only."""


def principal_of_account(account: AccountRow | None, *, sub: str, issued_at: datetime | None) -> Principal:
    """The caller as the stored account describes them (role, unit, person, scope); TokenError when the account is
    unknown or disabled, or the credential was issued before the account's last change (issue 11, fault 3).

    Reusable for any local credential (bearer token, session cookie): pass the stored row and when the
    credential was issued."""
    if account is None or not account.active:
        raise TokenError("the account is unknown or disabled")
    if issued_at is None or issued_at + CHANGE_TOLERANCE < account.changed_at:
        raise TokenError("the token was issued before the account last changed; ask for a new one")
    return Principal(
        sub=account.sub,
        role=Role(account.role),
        unit_id=account.unit_id,
        person_id=account.person_id,
        local=True,
        issued_at=issued_at,
        province_wide=account.province_wide,
        sources=account.sources,
    )


async def authorize_local(accounts: AccountRepository, *, sub: str, issued_at: datetime | None) -> Principal:
    """Read the account of `sub` (every request, no cache: a demotion or a move counts at once) and authorize
    the credential from it; TokenError when it may not be used."""
    return principal_of_account(await accounts.get(sub), sub=sub, issued_at=issued_at)
