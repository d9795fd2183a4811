"""The demo's API tokens and people's web sign-ins in one process (`make up`), through the code of the gateway's own
`issue-token` and `web-account` commands: one interpreter start instead of ten.

Prints the tokens as shell assignments (OFFICER_TOKEN=...), which up.sh writes to var/demo-tokens.env.
"""

import argparse
import asyncio
import sys

from services.gateway.auth import Role
from services.gateway.bootstrap import SERVICE, SERVICE_DIR
from services.gateway.config import GatewaySettings, load_settings
from services.gateway.handlers import TtlCache, UnitDirectory, require_member, require_unit
from services.gateway.main import UnitNotChecked, issue_local_token, meetings_rpc
from services.gateway.repository import PgAccountRepository, SigningKeyMismatch
from services.gateway.web.cli import create_web_account
from shared.config import SavedSettingsError, checkout_system
from shared.db import create_pool
from shared.rpc import RpcError
from shared.runtime import migrate

DEMO_FEED_SOURCES = ("urn:example:handbook", "urn:example:member-database")
"""The sources the demo integration account sends under: README's curl lines and docs/examples' feeders."""
TOKENS: tuple[tuple[str, str, str | None, str | None, str], ...] = (
    # (variable, role, unit, person, sub)
    ("OFFICER_TOKEN", "committee_officer", "demo-tinh-uy", None, "demo-officer"),
    ("SECRETARY_TOKEN", "secretary", "demo-cb-thon-1", "demo-cb-thon-1-dv01", "demo-secretary"),
    ("INTEGRATION_TOKEN", "integration", "demo-tinh-uy", None, "demo-integration"),
    ("OPERATOR_TOKEN", "operator", "demo-tinh-uy", None, "demo-operator"),
)
"""The API accounts whose tokens go to var/demo-tokens.env."""
WEB_ACCOUNTS: tuple[tuple[str, str, str | None, str | None], ...] = (
    # (sub, role, unit, person): the people `make up`'s summary lists
    ("can-bo-tinh", "committee_officer", "demo-tinh-uy", None),
    ("can-bo-xa", "committee_officer", "demo-xa-hoa-binh", None),
    ("uv-phu-trach", "committee_officer", "demo-xa-hoa-binh", "demo-xa-hoa-binh-uv1"),
    ("bi-thu-thon-1", "secretary", "demo-cb-thon-1", "demo-cb-thon-1-dv01"),
    ("dang-vien-thon-1", "member", "demo-cb-thon-1", "demo-cb-thon-1-dv05"),
    ("van-hanh", "operator", None, None),
)
"""The people who sign in to the web app with the demo password."""
DISPLAY_NAMES = {"can-bo-tinh": "Nguyễn Văn Thành", "can-bo-xa": "Trần Thị Mai"}
"""The names the page header shows for the demo officers without a person (`web-account --name`); the others' come
from meetings."""


SEED_WAIT_SECONDS = 180.0
"""How long the tokens wait for meetings to have applied the demo seed's units and members (`make up` publishes the
seed just before): `issue-token` and `web-account` refuse a unit meetings does not know and a member's or secretary's
person their cell does not list."""


async def seed_known(
    settings: GatewaySettings, accounts: set[tuple[str, str | None, str | None]], *, timeout: float = SEED_WAIT_SECONDS
) -> None:
    """Return once meetings knows the unit of every (role, unit, person) of `accounts` and, for a member or
    secretary, their cell lists the person (as main.check_account_unit asks, over one connection); its refusal
    naming the unit or person after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with meetings_rpc(settings, UnitNotChecked) as rpc:  # one connection for every account's check
        units = UnitDirectory(rpc, TtlCache(seconds=0))
        for role, unit, person in sorted(accounts, key=str):
            if unit is None:
                continue
            while True:
                try:
                    await require_unit(units.get, unit)
                    await require_member(rpc, role=Role(role), unit_id=unit, person_id=person)
                    break
                except RpcError as exc:
                    if exc.code != "invalid" or loop.time() > deadline:
                        raise
                    await asyncio.sleep(1)


async def existing_subs(settings: GatewaySettings, subs: set[str]) -> set[str]:
    """Of `subs`, those the gateway's database already holds an account for (an earlier `make up` made them)."""
    await migrate(settings, schema=SERVICE, service_dir=SERVICE_DIR)
    pool = await create_pool(settings.database_url, schema=SERVICE, min_size=1, max_size=2)
    try:
        accounts = PgAccountRepository(pool)
        return {sub for sub in sorted(subs) if await accounts.get(sub) is not None}
    finally:
        await pool.close()


async def no_longer_standing(
    settings: GatewaySettings, accounts: dict[str, tuple[str, str | None, str | None]]
) -> dict[str, str]:
    """Of `accounts` ({sub: (role, unit, person)}, made by an earlier `make up`), those meetings refuses today, asked
    once each without waiting for the seed (require_unit, require_member): {sub: meetings' reason}. Such an account's
    person has left the cell or its position since; sign-in refuses it. UnitNotChecked when meetings does not
    answer."""
    refused: dict[str, str] = {}
    async with meetings_rpc(settings, UnitNotChecked) as rpc:
        units = UnitDirectory(rpc, TtlCache(seconds=0))
        for sub, (role, unit, person) in sorted(accounts.items()):
            if unit is None:
                continue
            try:
                await require_unit(units.get, unit)
                await require_member(rpc, role=Role(role), unit_id=unit, person_id=person)
            except RpcError as exc:
                if exc.code != "invalid":
                    raise
                refused[sub] = str(exc)
    return refused


async def demo_access(settings: GatewaySettings, password: str) -> dict[str, str]:
    """Issue the demo tokens and create the web accounts with the demo password, leaving the password of an account
    that has one alone (a person or operator who changed it keeps it across `make up`): {variable: token};
    RpcError, ValueError, UnitNotChecked (once the seed's units and people are known: seed_known).

    An account an earlier run made whose person has since left its cell or position (no_longer_standing) is left as
    it is, its token not issued, and one line on stderr says which demo account no longer works and why: `make up`
    run again must not fail on a change the demo's own data went through."""
    wanted = {sub: (role, unit, person) for _, role, unit, person, sub in TOKENS} | {
        sub: (role, unit, person) for sub, role, unit, person in WEB_ACCOUNTS
    }
    made = await existing_subs(settings, set(wanted))
    await seed_known(settings, {wanted[sub] for sub in wanted if sub not in made})
    refused = await no_longer_standing(settings, {sub: wanted[sub] for sub in made})
    for sub, reason in sorted(refused.items()):
        role, unit, _ = wanted[sub]
        print(
            f"demo_access: demo account {sub} ({role} of {unit}) no longer works, left as it is: {reason}",
            file=sys.stderr,
        )
    tokens = {}
    for variable, role, unit, person, sub in TOKENS:
        if sub in refused:
            continue
        sources = list(DEMO_FEED_SOURCES) if role == "integration" else None
        args = argparse.Namespace(
            role=role, unit=unit, person=person, sub=sub, days=None, province_wide=False, sources=sources
        )
        tokens[variable] = str((await issue_local_token(settings, args))["token"])
    for sub, role, unit, person in WEB_ACCOUNTS:
        if sub in refused:
            continue
        args = argparse.Namespace(
            sub=sub,
            role=role,
            unit=unit,
            person=person,
            password=password,
            oidc_subject=None,
            oidc_email=None,
            keep_password=True,
            name=DISPLAY_NAMES.get(sub),
        )
        await create_web_account(settings, args)
    return tokens


def main() -> int:
    """Print the demo tokens as VARIABLE=token lines, made in this checkout's system (exported, else var/up.env,
    else the defaults: named first on stderr); exit 2 with the reason when the gateway refuses."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--password", required=True, help="the web password of every demo person")
    args = parser.parse_args()
    try:
        with checkout_system("deploy.demo_access", load_settings) as settings:
            tokens = asyncio.run(demo_access(settings, args.password))
    except (SigningKeyMismatch, RpcError, ValueError, UnitNotChecked, SavedSettingsError) as exc:
        print(f"demo_access: {exc}", file=sys.stderr)
        return 2
    for variable, token in tokens.items():
        print(f"{variable}={token}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
