"""The demo's API tokens and people's web sign-ins in one process (`make up`), through the code of the gateway's own
`issue-token` and `web-account` commands: one interpreter start instead of ten.

Prints the tokens as shell assignments (OFFICER_TOKEN=...), which up.sh writes to var/demo-tokens.env.
"""

import argparse
import asyncio
import sys

from services.gateway.config import GatewaySettings, load_settings
from services.gateway.main import issue_local_token
from services.gateway.repository import SigningKeyMismatch
from services.gateway.web.cli import create_web_account
from shared.rpc import RpcError

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


async def demo_access(settings: GatewaySettings, password: str) -> dict[str, str]:
    """Issue the demo tokens and create the web accounts with the demo password, leaving the password of an account
    that has one alone (a person or operator who changed it keeps it across `make up`): {variable: token};
    RpcError, ValueError."""
    tokens = {}
    for variable, role, unit, person, sub in TOKENS:
        sources = list(DEMO_FEED_SOURCES) if role == "integration" else None
        args = argparse.Namespace(
            role=role, unit=unit, person=person, sub=sub, days=None, province_wide=False, sources=sources
        )
        tokens[variable] = str((await issue_local_token(settings, args))["token"])
    for sub, role, unit, person in WEB_ACCOUNTS:
        args = argparse.Namespace(
            sub=sub,
            role=role,
            unit=unit,
            person=person,
            password=password,
            oidc_subject=None,
            oidc_email=None,
            keep_password=True,
        )
        await create_web_account(settings, args)
    return tokens


def main() -> int:
    """Print the demo tokens as VARIABLE=token lines; exit 2 with the reason when the gateway refuses."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--password", required=True, help="the web password of every demo person")
    args = parser.parse_args()
    try:
        tokens = asyncio.run(demo_access(load_settings(), args.password))
    except (SigningKeyMismatch, RpcError, ValueError) as exc:
        print(f"demo_access: {exc}", file=sys.stderr)
        return 2
    for variable, token in tokens.items():
        print(f"{variable}={token}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
