"""Every error answer under /app as a Vietnamese page: those no page route gives itself (an address no route has, a
method a page does not take, a body too large or unreadable, a failure of the gateway) come here from the
gateway's error handlers and body limits, which answer JSON on /v1 only."""

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.types import ASGIApp, Scope

from services.gateway.web.core import PREFIX, SERVICE_UNREACHABLE, error_page, not_found_page, unreachable_said
from services.gateway.web.i18n import _
from shared.outages import BROKER, Outage


def is_page_path(path: str) -> bool:
    """Whether `path` is the web app's (/app and below), whose answers are pages."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def status_page(request: Request, status: int) -> HTMLResponse | None:
    """The Vietnamese page of an error `status` on a web app path; None on any other path (JSON answers there)."""
    if not is_page_path(request.url.path):
        return None
    if status == 404:
        return not_found_page(request)
    if status == 405:
        return error_page(
            request,
            405,
            _("This page cannot be used that way"),
            _("This page cannot do what the browser asked of it. Open it from a link of the app instead."),
        )
    if status == 413:
        return error_page(
            request,
            413,
            _("What was sent is too large"),
            _("The form sent more than the system accepts at once. Shorten what was entered and send it again."),
        )
    if status in (400, 415, 422):
        return error_page(
            request,
            status,
            _("Invalid request"),
            _("The system could not read what was sent. Go back, reload the page and try again."),
        )
    if status == 401:
        return error_page(request, 401, _("Not allowed"), _("Please sign in again, then try once more."))
    if status == 403:
        return error_page(request, 403, _("Not allowed"), _("You may not do this."))
    if status == 429:
        return error_page(
            request, 429, _("Too many requests"), _("Too many requests were sent in a short time. Wait a moment.")
        )
    outage = getattr(request.state, "outage", None)
    if status == 503 and outage is not None:
        return outage_page(request, outage)
    if status == 503:
        return error_page(request, 503, _(SERVICE_UNREACHABLE), unreachable_said(None))
    return error_page(
        request,
        status if status >= 400 else 500,
        _("Something went wrong"),
        _("The system could not answer. Please try again."),
    )


def outage_page(request: Request, outage: Outage) -> HTMLResponse:
    """The 503 page of a request the gateway could not serve because RabbitMQ or its database is unreachable, naming
    which (http.errors.outage_response), so an operator knows where to look and anyone else that it is not them."""
    if outage.dependency == BROKER:
        message = _(
            "The system cannot reach its message broker (RabbitMQ), so the services cannot be asked right now. Please"
            " try again in a few minutes; if it lasts, tell the system's operators that the gateway cannot connect"
            " to RabbitMQ."
        )
    else:
        message = _(
            "The system cannot reach its database (PostgreSQL) right now. Please try again in a few minutes; if it"
            " lasts, tell the system's operators that the gateway cannot connect to its database."
        )
    return error_page(request, 503, _("The system is temporarily unavailable"), message)


def scope_page(scope: Scope, status: int) -> ASGIApp | None:
    """status_page for a request known only by its ASGI scope (the body limits answer before any route)."""
    return status_page(Request(scope), status)
