"""/docs and the services' AsyncAPI documents work with no asset from a CDN: the gateway serves them all."""

import re

import httpx
import pytest

from tests.support.system import RunningSystem
from tests.web.conftest import PERIOD, signed_in

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("service", ["meetings", "evaluation", "notifications"])
async def test_each_services_asyncapi_page_loads_only_local_assets(
    system: RunningSystem, province: dict[str, str], service: str
) -> None:
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as client:
        page = await client.get(f"/asyncapi/{service}")
        assert page.status_code == 200
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        for asset in assets:
            assert asset.startswith("/"), asset
            if asset.startswith("/app/"):
                assert (await client.get(asset)).status_code == 200, asset
        assert f"chibo {service}" in page.text
        assert (await client.get("/asyncapi/nothing")).status_code == 404


EXTERNAL = re.compile(
    r"""(?:\b(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//)|(?:url\(\s*["']?(?:https?:)?//)|(?:@import\s+["']?(?:https?:)?//)""",
    re.IGNORECASE,
)
CDN_NAMES = ("unpkg", "jsdelivr", "cdnjs", "googleapis", "cloudflare")


def external_references(html: str) -> list[str]:
    """Script, style, link, form and CSS references that leave the server, and CDN host names."""
    found = [match.group(0) for match in EXTERNAL.finditer(html)]
    return found + [name for name in CDN_NAMES if name in html.lower()]


async def test_no_served_page_refers_to_another_host(system: RunningSystem, province: dict[str, str]) -> None:
    pages = [system.gateway_url + "/docs", system.gateway_url + "/app/sign-in"]
    pages += [f"{system.gateway_url}/asyncapi/{name}" for name in ("meetings", "evaluation", "notifications")]
    pages += [system.service_urls[name] + "/asyncapi" for name in ("meetings", "evaluation", "notifications")]
    async with httpx.AsyncClient(timeout=30) as client:
        for url in pages:
            page = await client.get(url)
            assert page.status_code == 200, url
            assert "text/html" in page.headers["content-type"], url
            assert external_references(page.text) == [], url
    signed_in_pages = {
        "monitor": ["/app/monitoring", f"/app/monitoring/meetings/demo-cb-thon-1-{PERIOD}"],
        "commune-officer": ["/app/committees/demo-xa-hoa-binh", "/app/committees/demo-xa-hoa-binh/rescore"],
        "secretary": ["/app/cells/demo-cb-thon-1", f"/app/meetings/demo-cb-thon-1-{PERIOD}/record"],
        "member": ["/app/me"],
    }
    for who, paths in signed_in_pages.items():
        async with signed_in(system, who) as client:
            for path in paths:
                page = await client.get(path)
                assert page.status_code == 200, path
                assert external_references(page.text) == [], path


def test_the_check_finds_what_a_cdn_page_would_load() -> None:
    cdn = '<script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js"></script>'
    assert external_references(cdn) != []
    assert external_references('<link rel="stylesheet" href="//cdn.example.org/x.css">') != []
    assert external_references("<style>@import url(https://fonts.example.org/css);</style>") != []
    assert external_references('<script src="/app/vendor/echarts/echarts.min.js"></script>') == []
