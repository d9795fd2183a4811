"""Each service's AsyncAPI document rendered by the gateway with locally installed assets (no CDN)."""

import json

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.gateway.http.deps import State
from services.gateway.web.core import PageNotFound, WebRoute, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/asyncapi/{service}")
async def asyncapi_page(service: str, request: Request, state: State) -> HTMLResponse:
    """The service's broker interface (queues, messages), from its /asyncapi.json, drawn in the browser."""
    health = state.settings.service_health_urls.get(service)
    if not health:
        raise PageNotFound
    url = health.rsplit("/", 1)[0] + "/asyncapi.json"
    async with httpx.AsyncClient(timeout=state.settings.health_timeout * 2) as client:
        response = await client.get(url)
    if response.status_code != 200:
        raise PageNotFound
    schema = json.dumps(response.json(), ensure_ascii=False).replace("</", "<\\/")
    page = render(request, "asyncapi.html", service=service, schema=schema, services=state.settings.service_health_urls)
    # the AsyncAPI viewer compiles JSON-schema validators at run time (ajv), which needs eval on this page only
    policy = page.headers["Content-Security-Policy"]
    page.headers["Content-Security-Policy"] = policy.replace("script-src 'self'", "script-src 'self' 'unsafe-eval'")
    return page
