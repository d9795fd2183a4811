"""The route class of every /v1 route: what FastAPI would read silently otherwise is refused first, naming it.

Three faults of a request's form, judged for every route in this one place before its caller, its role or its values
are (as BodySizeLimit judges a body's size, depth and syntax before them: nothing of a route's schema is shown, only
what the sender sent is named back):

- a body of a route that reads a JSON body sent under another content type (`text/plain`, a form's, none): FastAPI
  would hand its bytes to the model, whose 422 said "body: Input should be a valid dictionary"; answered 415
  `unsupported_media_type` naming `header.content-type`, the content type sent and the one read, as POST /v1/events
  refuses a content type neither of its modes reads;
- a query parameter the route does not read (`?ordr=asc`, a typo of `order`): FastAPI would ignore it silently and
  answer as if it were not sent (a trial's ranking came back in the default order); answered 422 `invalid` naming
  `query.ordr`, as a body's unexpected field is refused. What a route reads is derived from its declared parameters
  (its dependencies' too: query_names), so a new route is covered without a list to keep;
- a query parameter of the route given more than once (`?period=2026-11&period=2026-10`): FastAPI would take the
  last one silently; answered 422 `invalid` naming `query.period`.

An unexpected parameter is judged before a repeated one, as a body's unexpected field before its other faults. GET
/health (ProbeRoute, not under /v1) ignores an unexpected parameter: a probe or uptime checker that adds a
cache-busting one must not see a live gateway as down.

The web app's pages refuse a repeated parameter of their address alike (web.core.WebRoute, a Vietnamese page), but
not an unexpected one: a page reads its address's parameters itself, undeclared (`notice`, a list's position), a
sign-in provider's redirect adds its own (`session_state`, `iss`), a page's GET form sends every named input, its
button's too, and an old bookmark or shared link must still open the page."""

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


UNEXPECTED_PARAMETER = "unexpected parameter: this route has no such query parameter"
"""What a refusal says of a query parameter the route does not read (as errors.UNEXPECTED_FIELD of a body's field)."""
MOST_NAMED = 10
"""At most this many unexpected parameters are named in one refusal's message (the first in `field`)."""


def unexpected_parameters(query: QueryParams, names: frozenset[str]) -> list[str]:
    """The parameters of `query` not among `names`, each once, in the order sent; empty when all are the route's."""
    return list(dict.fromkeys(name for name, _value in query.multi_items() if name not in names))


def not_a_parameter(unexpected: list[str]) -> ApiError:
    """The 422 of query parameters the route does not read (non-empty, in the order sent): `field` names the first
    (`query.ordr`), `message` each (`query.ordr: unexpected parameter: ...`), joined by `; ` as a model's faults."""
    fields = [f"query.{name[:100]}" for name in unexpected[:MOST_NAMED]]
    message = "; ".join(f"{field}: {UNEXPECTED_PARAMETER}" for field in fields)
    return ApiError(422, "invalid", message, field=fields[0])


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


INVALID_REQUEST = _describe(
    "A parameter or field is invalid, or a query parameter the route does not read or given twice; `field` names it"
)
"""The 422 the API document gives a route whose router gives none (every route may refuse an unexpected parameter)."""
UNSUPPORTED_MEDIA_TYPE = _describe(
    "The body is not sent as JSON: its Content-Type is not application/json (or `application/*+json`), or missing"
)


class ApiRoute(APIRoute):
    """A /v1 route (every router's `route_class`): a query parameter the route does not read or one given more than
    once (422), and a body that is not sent as JSON to a route reading one (415), are refused before anything else of
    the request is read."""

    refuses_unexpected_parameters = True
    """Whether a query parameter the route does not read is refused (422); False for a probe's (ProbeRoute)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        if self.refuses_unexpected_parameters:
            self.responses.setdefault(422, INVALID_REQUEST)
        if reads_json_body(self):
            self.responses.setdefault(415, UNSUPPORTED_MEDIA_TYPE)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, after the request's form is judged (see the module)."""
        original = super().get_route_handler()
        names = query_names(self)
        reads_json = reads_json_body(self)
        strict = self.refuses_unexpected_parameters

        async def handler(request: Request) -> Response:
            unexpected = unexpected_parameters(request.query_params, names) if strict else []
            if unexpected:
                raise not_a_parameter(unexpected)
            repeated = repeated_parameter(request.query_params, names) if names else None
            if repeated is not None:
                raise given_twice(*repeated)
            if reads_json:
                content_type = request.headers.get("content-type")
                if not reads_as_json(content_type) and await request.body():  # no body: the model says it is missing
                    raise not_json(content_type)
            return await original(request)

        return handler


class ProbeRoute(ApiRoute):
    """GET /health's route: as ApiRoute, but a query parameter it does not read is ignored (a probe's cache-busting
    `?_=…` must not make a live gateway look down)."""

    refuses_unexpected_parameters = False
