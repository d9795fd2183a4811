"""A document's address (and a webhook's) is an http(s) URI or IRI: a trial's `https://example.vn/biên-bản.pdf` and
`https://ví-dụ.vn/a.pdf` were refused as not beginning with http:// or https://, which both do."""

import json
from typing import Any

import pytest

from services.notifications.domain.model import preference_fault
from shared.contracts.notifications_rpc import SetPreferences
from shared.contracts.registry import read_event
from shared.envelope import InvalidEvent, parse_envelope
from shared.web_address import address_problem
from tests.shared.test_envelope import envelope

IRIS = [
    "https://example.vn/biên-bản.pdf",
    "https://ví-dụ.vn/a.pdf",
    "HTTPS://Ví-Dụ.VN/Nghị quyết.pdf".replace(" ", "%20"),
    "https://xn--v-d-rma6749a.vn/a.pdf?tệp=biên-bản#trang-2",
    "http://203.0.113.7:8080/a.pdf",
    "http://[2001:db8::1]/a.pdf",
]


def published(address: str) -> dict[str, Any]:
    """documents.published.v1 with one document at `address`."""
    item = {"title": "Biên bản", "kind": "minutes", "url": address}
    data = {"meeting_id": "m1", "published_at": "2026-11-01T08:00:00+07:00", "items": [item]}
    return envelope("documents.published.v1", data)


@pytest.mark.parametrize("address", IRIS)
def test_an_internationalized_address_is_a_document_address_kept_as_written(address: str) -> None:
    event = read_event(parse_envelope(json.dumps(published(address))))
    assert event.data.model_dump()["items"][0]["url"] == address


@pytest.mark.parametrize(
    ("address", "said"),
    [
        ("tai-lieu.pdf", "must begin with http:// or https://"),
        ("javascript:alert(1)", "must begin with http:// or https://"),
        ("https://", "names no host after https://"),
        ("https://ví_dụ.vn/a.pdf", "the host 'ví_dụ.vn' is not a domain name or an IP address"),
        ("https://-ví-dụ.vn/a.pdf", "the host '-ví-dụ.vn' is not a domain name or an IP address"),
        ("https://a..vn/a.pdf", "the host 'a..vn' is not a domain name or an IP address"),
        ("https://1.2.3.999/a.pdf", "the host '1.2.3.999' is not a domain name or an IP address"),
        ("https://２０２６.1/a.pdf", "the host '２０２６.1' is not a domain name or an IP address"),
        ("https://٢٠٢٦.vn/a.pdf", "the host '٢٠٢٦.vn' is not a domain name or an IP address"),
        ("https://ví-dụ.vn:70000/a.pdf", "the port '70000' is not a number from 1 to 65535"),
        ("https://ví-dụ.vn/biên bản.pdf", "holds a space or an invisible character (U+0020 at character 22)"),
        ("https://ví-dụ.vn/a\u200b.pdf", "holds a space or an invisible character (U+200B at character 19)"),
        ("https://ví-dụ.vn/<a>.pdf", "holds '<' at character 18"),
        ("https://ví-dụ.vn/50%.pdf", "the '%' at character 20 is not followed by two hex digits"),
    ],
)
def test_a_refused_address_says_which_part_is_wrong_naming_the_field(address: str, said: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        read_event(parse_envelope(json.dumps(published(address))))
    assert caught.value.field == "data.items.0.url"
    assert said in caught.value.reason, caught.value.reason
    problem = address_problem(address)
    assert problem is not None and said in problem.reason


def test_a_webhook_address_is_judged_alike() -> None:
    """The recipient's webhook (notifications' set_preferences) took only what starts with http(s)://, and said no
    reason beyond "must be an http(s) URL"."""
    request = SetPreferences(recipient_id="p1", channels=["webhook"], webhook_url="https://tin-nhắn.vn/hook")
    assert request.webhook_url == "https://tin-nhắn.vn/hook"
    assert (
        preference_fault(channels=["webhook"], known=["webhook"], offered=[], webhook_url="https://tin-nhắn.vn/h")
        is None
    )
    fault = preference_fault(channels=["webhook"], known=["webhook"], offered=[], webhook_url="https://a b.vn/h")
    assert fault is not None and fault.message.startswith("webhook_url: holds a space"), fault
