"""The operations page rendered from its template without a running system: the page's own TEMPLATE_HELPERS, an
operator viewing it, empty lists and zero figures unless a test gives its own."""

from types import SimpleNamespace
from typing import Any

from services.gateway.auth import Role
from services.gateway.web.core import environment
from services.gateway.web.pages.operations import TEMPLATE_HELPERS

PAGER = SimpleNamespace(first=1, last=1, total=1, previous=None, next=None, start="", newest=None)
"""A pager of one page (the only one)."""
OVERVIEW_FIGURES = ("dead_letters_total", "failed_deliveries", "held_events", "open_rejections", "parked_rows_total")


def operations_html(*, figures: dict[str, Any] | None = None, **context: Any) -> str:
    """operations.html with `context` over the defaults (nothing listed) and `figures` over the overview's zeros."""
    overview = {"status": "ok", "broker": "ok", "services": {}, **dict.fromkeys(OVERVIEW_FIGURES, 0), **(figures or {})}
    defaults: dict[str, Any] = {
        "viewer": SimpleNamespace(role=Role.OPERATOR, account=SimpleNamespace(sub="op"), csrf="t", principal=None),
        "overview": overview,
        "rejections": None,
        "dismissed_view": False,
        "rejections_views": {"open": "", "dismissed": ""},
        "rejections_pager": None,
        "held": None,
        "held_pager": None,
        "dead_letters": [],
        "dead_letters_pagers": {},
        "parked": {},
        "parked_pagers": {},
        "errors": {},
        "crumbs": [],
        "place": "",
        "notice": None,
        "notice_detail": None,
    }
    return environment().get_template("operations.html").render(**{**defaults, **TEMPLATE_HELPERS, **context})
