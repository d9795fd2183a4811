"""`python -m services.gateway web-account`: record a person's local account and set their password."""

import argparse
import sys

from services.gateway.auth import Role
from services.gateway.bootstrap import SERVICE, SERVICE_DIR
from services.gateway.config import GatewaySettings
from services.gateway.repository import PgAccountRepository
from services.gateway.web.oidc import OidcStore
from services.gateway.web.sessions import WebAccounts
from shared.db import create_pool
from shared.runtime import migrate

PEOPLE_ROLES = (Role.MEMBER, Role.SECRETARY, Role.COMMITTEE_OFFICER)
WEB_ROLES = (*PEOPLE_ROLES, Role.OPERATOR)
"""Operators sign in to their own page; they belong to no unit."""
MIN_PASSWORD = 8


def configure(parser: argparse.ArgumentParser) -> None:
    """The command's arguments."""
    parser.add_argument("--sub", required=True, help="the username")
    parser.add_argument("--role", required=True, choices=[role.value for role in WEB_ROLES])
    parser.add_argument("--unit", help="the cell (member, secretary) or committee (officer); operators have none")
    parser.add_argument("--person", help="the member id (inbox, preferences, history)")
    parser.add_argument(
        "--name", help="the name the page header shows (an officer's full name); a person's comes from meetings"
    )
    parser.add_argument(
        "--password",
        help="the password (default: read one line from standard input, unless the account signs in only through"
        " the province's OpenID Connect provider)",
    )
    parser.add_argument("--oidc-subject", help="link the account to this `sub` of the province's OpenID provider")
    parser.add_argument(
        "--oidc-email", help="link the account to this e-mail address, when the provider says it is verified"
    )


async def create_web_account(settings: GatewaySettings, args: argparse.Namespace) -> dict[str, str | None]:
    """Save the account, the argon2 hash of its password and its link to the province's OpenID provider; ValueError
    for a too short password (a password may be left out when the account is linked) or a person without a unit.
    With `keep_password` an account that already has a password keeps it (the demo's `make up`, run again)."""
    linked = bool(args.oidc_subject or args.oidc_email)
    password: str | None = args.password
    if password is None and not linked:
        password = sys.stdin.readline().rstrip("\n")
    if password is not None and len(password) < MIN_PASSWORD:
        raise ValueError(f"password: at least {MIN_PASSWORD} characters")
    if Role(args.role) in PEOPLE_ROLES and not args.unit:
        raise ValueError(f"unit: a {args.role} belongs to a unit (--unit)")
    await migrate(settings, schema=SERVICE, service_dir=SERVICE_DIR)
    pool = await create_pool(settings.database_url, schema=SERVICE, min_size=1, max_size=2)
    try:
        account = await PgAccountRepository(pool).save(
            sub=args.sub, role=Role(args.role).value, unit_id=args.unit, person_id=args.person
        )
        accounts = WebAccounts(pool)
        keep = bool(getattr(args, "keep_password", False)) and await accounts.has_password(account.sub)
        if password is not None and not keep:
            await accounts.set_password(account.sub, password)
        if getattr(args, "name", None) is not None:  # left out: a name given before is kept
            await accounts.set_display_name(account.sub, args.name)
        if linked:
            await OidcStore(pool).link(account.sub, subject=args.oidc_subject, email=args.oidc_email)
    finally:
        await pool.close()
    return {"sub": account.sub, "role": account.role, "unit_id": account.unit_id, "person_id": account.person_id}
