"""The member's own page, rendered from its data: the attendance history and what in it counts."""

from datetime import UTC, datetime
from types import SimpleNamespace

from services.gateway.auth import Role
from services.gateway.web.core import environment
from services.gateway.web.pages.member import CHANNELS


def member_page(history: dict[str, object]) -> str:
    """The member page of a history, rendered as the member's own page renders it."""
    return (
        environment()
        .get_template("member.html")
        .render(
            viewer=SimpleNamespace(role=Role.MEMBER, account=SimpleNamespace(sub="dv"), csrf="t", principal=None),
            upcoming=[],
            history=history,
            records=history["records"],
            inbox=[],
            preferences={"channels": [], "digest": False},
            channels=CHANNELS,
            errors={},
            notice=None,
            unit={"id": "demo-cb-thon-1", "name": "Chi bộ thôn 1"},
        )
    )


def test_a_roster_whose_meeting_has_no_minutes_is_shown_as_not_counted() -> None:
    """The fresh-user trial: rosters of two extraordinary meetings without minutes were listed as if they counted;
    the figures come from held meetings only, and the page says which rosters wait for their minutes."""
    record = {"kind": "extraordinary", "status": "excused", "reason": "Ốm"}
    history = {
        "consecutive_absences": 2,
        "consecutive_excused_absences": 2,
        "records": [
            record | {"meeting_id": "extra", "starts_at": datetime(2026, 11, 20, 12, 30, tzinfo=UTC), "held": False},
            record | {"meeting_id": "held", "starts_at": datetime(2026, 11, 10, 12, 30, tzinfo=UTC), "held": True},
        ],
    }
    table = member_page(history).split('id="history"', 1)[1].split("</table>", 1)[0]
    extra, held = table.split("<tbody>", 1)[1].split("</tr>")[:2]
    assert 'class="muted"' in extra and "chưa tính: chưa có biên bản" in extra
    assert 'class="muted"' not in held and "chưa tính" not in held
