"""The operator page says what chibo.unrouted holds: how many messages and which types (trial: 66 messages there, not
mentioned), in Vietnamese through the catalog."""

from tests.web.operations_render import operations_html


def test_the_page_says_how_many_messages_went_unrouted_and_which_types_in_vietnamese() -> None:
    """Trial: chibo.unrouted held 66 messages and the operator page did not mention it."""
    types = ["ingest.rejected.v1", "notification.delivered.v1"]
    html = operations_html(figures={"unrouted": 66, "unrouted_types": types})
    figure = html[html.index('data-figure="unrouted"') :]
    figure = figure[: figure.index("</dd>")]
    assert ">66<" in figure or "66<br>" in figure, figure
    assert "Tin không nơi nhận" in html
    assert "không có dịch vụ nào của chibo nhận" in figure and "ingest.rejected.v1, notification.delivered.v1" in figure
    unknown = operations_html(figures={"unrouted": None, "unrouted_types": []})
    assert 'data-figure="unrouted">—</dd>' in unknown
