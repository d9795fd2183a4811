"""/docs and the services' AsyncAPI documents work with no asset from a CDN: the gateway serves them all."""

import re

import httpx
import pytest
from playwright.async_api import Browser

from tests.support.system import RunningSystem

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


async def test_the_asyncapi_document_renders_in_chromium(
    browser: Browser, system: RunningSystem, province: dict[str, str]
) -> None:
    context = await browser.new_context()
    context.set_default_timeout(90_000)
    page = await context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    await page.goto(system.gateway_url + "/asyncapi/meetings")
    await page.wait_for_function("document.getElementById('asyncapi').innerText.includes('Requests from the gateway.')")
    assert all(url.startswith(system.gateway_url) for url in requested), requested
    await context.close()
