"""The h194 user trial of the web app: a member without an e-mail address on file is told so beside the e-mail
choice and after saving; the member's next meetings say a thematic meeting's topic as the secretary's page does; a
missing field is said field first; a parked row the broker closed the channel on is said by its reply code."""

import re
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiormq.exceptions
import pytest

from services.gateway.auth import Role
from services.gateway.http.preferences import person_view
from services.gateway.web import i18n, reasons
from services.gateway.web.core import environment
from services.gateway.web.pages.member import CHANNELS
from shared.contracts.notifications_rpc import PreferencesReply

TEMPLATES = Path(__file__).parents[2] / "services/gateway/web/templates"
NO_EMAIL = "Chưa có địa chỉ thư điện tử trong hồ sơ"


def member_page(*, preferences: dict[str, Any], notice: bool = False, upcoming: list[Any] | None = None) -> str:
    """The member's own page with these preferences and meetings ahead, as /app/me renders it."""
    return (
        environment()
        .get_template("member.html")
        .render(
            viewer=SimpleNamespace(role=Role.MEMBER, account=SimpleNamespace(sub="dv"), csrf="t", principal=None),
            history={"records": []},
            records=[],
            upcoming=upcoming or [],
            inbox=[],
            tasks=[],
            preferences=preferences,
            channels=CHANNELS,
            errors={},
            notice=notice,
            unit={"id": "demo-cb-thon-1", "name": "Chi bộ thôn 1"},
        )
    )


def text(html: str) -> str:
    """The page's words, tags and runs of spaces dropped."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


PREFERENCES = {"recipient_id": "dv", "channels": ["email", "inbox"], "digest": False}


def test_a_member_without_an_email_address_is_told_beside_the_choice_and_after_saving() -> None:
    """The trial: "Thư điện tử" was ticked and saved for a member with no address on file, and nothing said so."""
    missing = PREFERENCES | {"email_on_file": False}
    page = text(member_page(preferences=missing))
    assert f"{NO_EMAIL}, nên sẽ không có thông báo nào được gửi qua thư điện tử" in page, page
    assert "lựa chọn thư điện tử vẫn được giữ" in page
    saved = text(member_page(preferences=missing, notice=True)).split("Đã lưu.", 1)[1]
    assert saved.startswith(f" {NO_EMAIL}"), saved[:200]
    unticked = text(member_page(preferences=missing | {"channels": ["inbox"]}, notice=True))
    assert f"{NO_EMAIL}, nên chưa thể gửi thông báo qua thư điện tử" in unticked
    assert "Đã lưu. Chưa có" not in unticked  # nothing to warn of in the saved notice when e-mail is not chosen
    for known in (True, None):  # an address on file, or the recipient not known to notifications: nothing said
        assert NO_EMAIL not in member_page(preferences=PREFERENCES | {"email_on_file": known}, notice=True)


def test_the_api_says_whether_an_email_address_is_on_file() -> None:
    """`PUT /v1/me/preferences {"channels": ["email"]}` stored the choice and said nothing of the missing address."""
    reply = PreferencesReply(recipient_id="dv", channels=["email", "inbox"], email_on_file=False)
    assert person_view(reply)["email_on_file"] is False


THEMATIC = {
    "meeting_id": "m-1",
    "starts_at": datetime(2026, 12, 20, 1, 0, tzinfo=UTC),
    "kind": "thematic",
    "topic": "Học tập Chỉ thị 50",
    "location": "Hội trường UBND xã",
}


def test_the_members_next_meetings_say_a_thematic_meetings_topic_as_the_secretarys_page_does() -> None:
    """The trial: the member's list read "Sinh hoạt chuyên đề, Hội trường UBND xã" without its topic."""
    said = "Sinh hoạt chuyên đề: Học tập Chỉ thị 50, Hội trường UBND xã"
    assert i18n.meeting_summary(THEMATIC) == said
    listed = text(member_page(preferences=PREFERENCES, upcoming=[THEMATIC]).split('id="upcoming"', 1)[1])
    assert said in listed, listed
    assert i18n.meeting_summary(THEMATIC | {"topic": None, "location": ""}) == "Sinh hoạt chuyên đề"
    for page in ("member.html", "cell.html"):  # one function for both lists
        assert "meeting_summary(item)" in (TEMPLATES / page).read_text(encoding="utf-8"), page


@pytest.mark.parametrize(
    ("field", "said"),
    [
        ("data.cell_id", "Thiếu chi bộ (cell_id): đây là trường bắt buộc."),
        ("data.starts_at", "Thiếu thời gian buổi sinh hoạt (starts_at): đây là trường bắt buộc."),
        ("id", "Thiếu mã sự kiện (id): đây là trường bắt buộc."),
        ("data.nowhere", "Thiếu mục “data.nowhere”: đây là trường bắt buộc."),
    ],
)
def test_a_missing_field_is_said_field_first_for_every_field(field: str, said: str) -> None:
    """The trial read "Chi bộ: chưa được gửi, mà đây là mục bắt buộc." as unnatural; every field is said alike, on
    the rejections page as on the dead-letter page."""
    assert reasons.explain_rejection("Field required", field) == said
    if not said.startswith("Thiếu mục"):  # a dead letter naming no field of the contract is said as unknown
        assert reasons.explain_dead_letter(f"{field}: Field required") == f"Không đọc được sự kiện. {said}"


REFUSED = "ACCESS_REFUSED - write access to exchange 'chibo.meetings' in vhost '/' refused for user 'meetings'"


@pytest.mark.parametrize(
    ("reason", "said"),
    [
        (repr(aiormq.exceptions.ChannelAccessRefused(REFUSED)), "(ACCESS_REFUSED, mã 403)"),
        (
            f"UnusableExchange(\"exchange 'chibo.meetings': {aiormq.exceptions.ChannelAccessRefused(REFUSED)!r}\")",
            "(ACCESS_REFUSED, mã 403)",
        ),
        (
            repr(aiormq.exceptions.ChannelNotFoundEntity("NOT_FOUND - no exchange 'chibo.gone' in vhost '/'")),
            "(NOT_FOUND, mã 404)",
        ),
        (
            repr(
                aiormq.exceptions.ChannelPreconditionFailed(
                    "PRECONDITION_FAILED - message size 200000000 is larger than configured max size 134217728"
                )
            ),
            "(PRECONDITION_FAILED, mã 406)",
        ),
        (repr(aiormq.exceptions.ConnectionClosed(320, "CONNECTION_FORCED - shutdown")), "không kết nối được"),
    ],
)
def test_a_row_parked_on_a_channel_close_is_said_by_its_reply_code(reason: str, said: str) -> None:
    """The trial: a row refused by the broker's permissions (ACCESS_REFUSED, 403) read "một lý do chưa được nhận
    diện"; aiormq writes its errors as `<Name: …>`, which no pattern matched."""
    gloss = reasons.explain_parked(reason)
    assert gloss is not None and said in gloss, (reason, gloss)
    assert "chưa được nhận diện" not in gloss
