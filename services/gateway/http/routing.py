"""The route class of every /v1 route: what FastAPI would read silently otherwise is refused first, naming it.

Two faults of a request's form, judged for every route in this one place before its caller, its role or its values
are (as BodySizeLimit judges a body's size, depth and syntax before them: nothing of a route's schema is shown, only
what the sender sent is named back):

- a body of a route that reads a JSON body sent under another content type (`text/plain`, a form's, none): FastAPI
  would hand its bytes to the model, whose 422 said "body: Input should be a valid dictionary"; answered 415
  `unsupported_media_type` naming `header.content-type`, the content type sent and the one read, as POST /v1/events
  refuses a content type neither of its modes reads;
- a query parameter of the route given more than once (`?period=2026-11&period=2026-10`): FastAPI would take the
  last one silently; answered 422 `invalid` naming `query.period`.

The web app's pages refuse a repeated parameter of their address alike (web.core.WebRoute, a Vietnamese page)."""

import email.message
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.params import Form
from fastapi.routing import APIRoute
from starlette.datastructures import QueryParams

from services.gateway.http.errors import ApiError, _describe

JSON_CONTENT_TYPE = "application/json"
CONTENT_TYPE_FIELD = "header.content-type"
"""How a refusal names the Content-Type header (as a request's own validation names a header: `header.<name>`)."""


def reads_as_json(content_type: str | None) -> bool:
    """Whether FastAPI reads a body of this Content-Type as JSON: `application/json` or `application/*+json`, with any
    parameters (its own test, repeated here so that what passes this is what it parses)."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


def not_json(content_type: str | None) -> ApiError:
    """The 415 of a body sent under a content type that is not JSON (or none) to a route that reads JSON."""
    sent = (content_type or "").strip()
    said = f"the content type {sent[:100]!r} is not JSON" if sent else "no content type was given"
    message = f"{CONTENT_TYPE_FIELD}: {said}: send the body as JSON with Content-Type: {JSON_CONTENT_TYPE}"
    return ApiError(415, "unsupported_media_type", message, field=CONTENT_TYPE_FIELD)


def repeated_parameter(query: QueryParams, names: frozenset[str] | None = None) -> tuple[str, int] | None:
    """The first parameter of `query` given more than once and how many times, among `names` (every one when None);
    None when each is given at most once."""
    counts: dict[str, int] = {}
    for name, _value in query.multi_items():
        if names is None or name in names:
            counts[name] = counts.get(name, 0) + 1
    return next(((name, count) for name, count in counts.items() if count > 1), None)


def given_twice(name: str, count: int) -> ApiError:
    """The 422 of a query parameter given `count` times (more than once)."""
    field = f"query.{name[:100]}"
    message = f"{field}: given more than once ({count} times): give it once, the value meant"
    return ApiError(422, "invalid", message, field=field)


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for each in dependant.dependencies:
        yield from _dependants(each)


def query_names(route: APIRoute) -> frozenset[str]:
    """The names of every query parameter the route reads, its dependencies' too."""
    return frozenset(param.alias for each in _dependants(route.dependant) for param in each.query_params)


def reads_json_body(route: APIRoute) -> bool:
    """Whether the route reads a JSON body into a model (a form's body FastAPI reads whatever its content type)."""
    return route.body_field is not None and not isinstance(route.body_field.field_info, Form)


UNSUPPORTED_MEDIA_TYPE = _describe(
    "The body is not sent as JSON: its Content-Type is not application/json (or `application/*+json`), or missing"
)


class ApiRoute(APIRoute):
    """A /v1 route (every router's `route_class`): a repeated query parameter of the route (422) and a body that is
    not sent as JSON to a route reading one (415) are refused before anything else of the request is read."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        if reads_json_body(self):
            self.responses.setdefault(415, UNSUPPORTED_MEDIA_TYPE)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, after the request's form is judged (see the module)."""
        original = super().get_route_handler()
        names = query_names(self)
        reads_json = reads_json_body(self)

        async def handler(request: Request) -> Response:
            repeated = repeated_parameter(request.query_params, names) if names else None
            if repeated is not None:
                raise given_twice(*repeated)
            if reads_json:
                content_type = request.headers.get("content-type")
                if not reads_as_json(content_type) and await request.body():  # no body: the model says it is missing
                    raise not_json(content_type)
            return await original(request)

        return handler
