"""A meeting as a plain member may read it: every roster status, an absence's reason only on their own line
(services/gateway/handlers.shown_to; the pages, the minutes PDF and the API read meetings through it)."""

from services.gateway.auth import Principal, Role
from services.gateway.handlers import shown_to
from shared.contracts.meetings_rpc import AttendanceReply, MeetingReply

MEMBER = "demo-cb-thon-1-dv05"
CELL = "demo-cb-thon-1"


def test_a_member_reads_the_reason_on_their_own_line_only() -> None:
    """The roster's statuses stay for everyone; a reason stays for its own member, the secretary and officers."""
    records = [
        {"member_id": MEMBER, "status": "excused", "reason": "Đi công tác"},
        {"member_id": "other", "status": "excused", "reason": "Ốm, có giấy của trạm y tế"},
    ]
    meeting = MeetingReply(meeting_id="m", cell_id=CELL, attendance=AttendanceReply(records=records))
    member = Principal(sub="dv", role=Role.MEMBER, unit_id=CELL, person_id=MEMBER, local=True)
    shown = shown_to(member, meeting).attendance
    assert shown is not None
    assert [(record["status"], record["reason"]) for record in shown.records] == [
        ("excused", "Đi công tác"),
        ("excused", None),
    ]
    for role in (Role.SECRETARY, Role.COMMITTEE_OFFICER):
        whole = shown_to(Principal(sub="x", role=role, unit_id=CELL, person_id="p", local=True), meeting).attendance
        assert whole is not None and whole.records == records
