"""The re-score form's month inputs offer only the months the server takes (shared.plausible.rescore_month_bounds,
span_range_problem's edges): they had no `min`/`max`, so the month picker offered 1/1900 and 12/9999, which the form
then refused. Over the real broker, evaluation faked."""

import re

import httpx

from shared.envelope import now
from shared.plausible import rescore_month_bounds
from tests.gateway.fakes import World
from tests.gateway.test_minutes_label_pages import signed_in


def month_input(page: str, name: str) -> str:
    found = re.search(f'<input id="{name}"[^>]*>', page)
    assert found is not None, page[-1500:]
    return found.group(0)


async def test_the_month_inputs_are_bounded_as_the_server_bounds_them(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
        form = await officer.get(f"/app/committees/{world.ward_a}/rescore")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        refused = await officer.post(
            f"/app/committees/{world.ward_a}/rescore",
            data={"csrf": csrf.group(1), "period_from": "1999-12", "period_to": ""},
        )
    bounds = rescore_month_bounds(now())
    assert form.status_code == 200, form.text[-600:]
    assert refused.status_code == 422, refused.text[-600:]
    for page in (form.text, refused.text):
        for name in ("period_from", "period_to"):
            earliest, latest = bounds[name]
            field = month_input(page, name)
            assert f'min="{earliest}"' in field and f'max="{latest}"' in field, field
    assert bounds["period_from"][0] == "2000-01" and bounds["period_from"][1] < bounds["period_to"][1]
