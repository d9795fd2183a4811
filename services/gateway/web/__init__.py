"""The Vietnamese web app served by the gateway: server-rendered pages, local assets, no CDN."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from services.gateway.web.core import PREFIX
from services.gateway.web.pages import (
    alerts,
    asyncapi,
    auth,
    cells,
    exports,
    member,
    monitor,
    officer,
    oidc,
    operations,
    rescore,
    secretary,
)

WEB_DIR = Path(__file__).parent
VENDOR = WEB_DIR / "node_modules"


def install_web(app: FastAPI) -> None:
    """Mount the pages, the app's own static files, the npm-installed vendor files and an offline /docs."""
    for module in (
        auth,
        oidc,
        officer,
        alerts,
        cells,
        secretary,
        member,
        exports,
        asyncapi,
        monitor,
        rescore,
        operations,
    ):
        app.include_router(module.router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=WEB_DIR / "static"), name="web-static")
    if not (VENDOR / "echarts" / "dist" / "echarts.min.js").exists():
        raise RuntimeError(f"web assets missing in {VENDOR}: run deploy/bootstrap.sh (npm ci)")
    app.mount(f"{PREFIX}/vendor/echarts", StaticFiles(directory=VENDOR / "echarts" / "dist"), name="echarts")
    app.mount(f"{PREFIX}/vendor/swagger-ui", StaticFiles(directory=VENDOR / "swagger-ui-dist"), name="swagger-ui")
    app.mount(
        f"{PREFIX}/vendor/asyncapi",
        StaticFiles(directory=VENDOR / "@asyncapi" / "react-component"),
        name="asyncapi-component",
    )

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        """Swagger UI from the gateway's own files."""
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — API",
            swagger_js_url=f"{PREFIX}/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{PREFIX}/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url=f"{PREFIX}/static/favicon.svg",
        )

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        """People start at the web app."""
        return RedirectResponse(f"{PREFIX}/", status_code=303)
