"""A document's address (and a webhook's) is an http(s) URI or IRI: a trial's `https://example.vn/biên-bản.pdf` and
`https://ví-dụ.vn/a.pdf` were refused as not beginning with http:// or https://, which both do."""

import json
from typing import Any

import pytest

from services.notifications.config import parse_mailbox
from services.notifications.domain.model import preference_fault
from shared.contracts.notifications_rpc import SetPreferences
from shared.contracts.registry import read_event
from shared.envelope import InvalidEvent, parse_envelope
from shared.web_address import address_problem, browser_uri, mail_key
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


@pytest.mark.parametrize(
    ("address", "code", "said"),
    [
        # a trial's deceptive link: it shows chibo.gov.vn and opens evil.example
        ("https://chibo.gov.vn@evil.example/x", "userinfo", "which opens 'evil.example' whatever that text says"),
        ("https://bi-thu:mat-khau@ví-dụ.vn/a.pdf", "userinfo", "holds a user name or password before its host"),
        # the WHATWG IPv4 parser's other forms of 127.0.0.1: a trial's 0x7f.0.0.1 was taken, 127.1 refused
        ("http://0x7f.0.0.1/", "ipv4_hex", "(its part '0x7f' is read as a hexadecimal number); write it as 127.0.0.1"),
        ("http://1.2.3.0X4/", "ipv4_hex", "opens the IP address 1.2.3.4 in a browser (its part '0x4'"),
        ("http://0177.0.0.1/", "ipv4_octal", "(its part '0177' begins with 0, so is read as an octal number)"),
        ("http://127.1/", "ipv4_parts", "the host '127.1' opens the IP address 127.0.0.1 in a browser (it is written"),
        ("http://2130706433/", "ipv4_parts", "opens the IP address 127.0.0.1 in a browser (it is written in 1 part,"),
        (
            "http://127.0.0.1./",
            "ipv4_dot",
            "the host '127.0.0.1.' opens the IP address 127.0.0.1 in a browser (it ends",
        ),
        # a host whose characters UTS 46 maps to digits, letters or dots (trial: said "it ends in a dot")
        ("http://①②⑦.0.0.1/x", "ipv4_character", "in a browser (its character '①' (U+2460) is read as '1'); write"),
        ("http://127。0。0。1/x", "ipv4_character", "(its character '。' (U+3002) is read as '.'); write it as 127."),
        ("http://127．0．0．1/x", "ipv4_character", "(its character '．' (U+FF0E) is read as '.')"),
        ("http://127｡0｡0｡1./x", "ipv4_character", "(its character '｡' (U+FF61) is read as '.')"),
        ("http://１２７.0.0.1/x", "ipv4_character", "the host '１２７.0.0.1' opens the IP address 127.0.0.1 in a"),
        ("http://0ｘ7f.0.0.1/x", "ipv4_character", "(its character 'ｘ' (U+FF58) is read as 'x')"),
        ("http://①②⑦.①/x", "ipv4_character", "(its character '①' (U+2460) is read as '1')"),
        # a host that ends in a number is an IPv4 address or nothing to a browser
        ("https://tai-lieu.123/a.pdf", "host", "the host 'tai-lieu.123' is not a domain name or an IP address"),
        ("https://ví-dụ.0x1/a.pdf", "host", "the host 'ví-dụ.0x1' is not a domain name or an IP address"),
        ("http://1.2.3.4.5/", "host", "the host '1.2.3.4.5' is not a domain name or an IP address"),
        # an IPv6 host that is an IPv4 address written another way (trial h292): browsers open 127.0.0.1
        (
            "http://[::ffff:7f00:1]/x",
            "ipv6_mapped",
            "the host '[::ffff:7f00:1]' opens the IP address 127.0.0.1 in a browser (it is an IPv4-mapped IPv6 "
            "address); write it as 127.0.0.1",
        ),
        ("http://[::ffff:127.0.0.1]/x", "ipv6_mapped", "'[::ffff:127.0.0.1]' opens the IP address 127.0.0.1"),
        ("http://[0:0:0:0:0:FFFF:0A00:0005]/x", "ipv6_mapped", "opens the IP address 10.0.0.5 in a browser"),
        (
            "http://[::7f00:1]/x",
            "ipv6_compatible",
            "the host '[::7f00:1]' stands for the IP address 127.0.0.1 in the deprecated IPv4-compatible IPv6 form "
            "(RFC 4291); write it as 127.0.0.1",
        ),
        ("http://[::203.0.113.7]/x", "ipv6_compatible", "stands for the IP address 203.0.113.7"),
        # brackets hold an IPv6 address only (urlsplit raised, said as a wrong port)
        ("http://[127.0.0.1]/a.pdf", "host", "the host '[127.0.0.1]' is not a domain name or an IP address"),
    ],
)
def test_a_link_that_opens_another_host_than_it_shows_is_refused_naming_the_part(
    address: str, code: str, said: str
) -> None:
    problem = address_problem(address)
    assert problem is not None and problem.code == code and said in problem.reason, problem
    with pytest.raises(InvalidEvent) as caught:
        read_event(parse_envelope(json.dumps(published(address))))
    assert said in caught.value.reason, caught.value.reason


@pytest.mark.parametrize(
    "address",
    [
        "http://127.0.0.1/a.pdf",
        "http://10.0.0.5:8080/a.pdf",
        "https://0x7f.example/a.pdf",
        "https://ví-dụ.vn./a.pdf",
        "http://[::1]/a.pdf",  # IPv6's own loopback, not an IPv4-compatible address
        "http://[64:ff9b::7f00:1]/a.pdf",  # NAT64: an IPv6 address of its own, not one a browser opens as IPv4
    ],
)
def test_a_canonical_ip_address_and_a_domain_with_hex_or_a_final_dot_are_taken(address: str) -> None:
    """A document on the cell's own network (a loopback or private address) is a link members read, not one the
    system calls; a name label such as 0x7f and a fully qualified name's final dot are no number."""
    assert address_problem(address) is None


def test_a_webhook_address_of_an_ipv4_address_written_as_ipv6_is_refused_naming_the_ipv4_form() -> None:
    """Trial h292: `http://[::ffff:7f00:1]/x` was taken as a webhook, though the system would call 127.0.0.1."""
    fault = preference_fault(
        channels=["webhook"], known=["webhook"], offered=[], webhook_url="http://[::ffff:7f00:1]/hook"
    )
    assert fault is not None and fault.message == (
        "webhook_url: the host '[::ffff:7f00:1]' opens the IP address 127.0.0.1 in a browser (it is an IPv4-mapped "
        "IPv6 address); write it as 127.0.0.1"
    ), fault


def test_a_webhook_address_with_credentials_is_refused() -> None:
    """A webhook authenticates by its signature (webhook_secret, X-Chibo-Signature): a user and password in its
    address would be stored and shown in plain text, and nothing documents them."""
    fault = preference_fault(
        channels=["webhook"], known=["webhook"], offered=[], webhook_url="https://sms:mat-khau@cong-tin-nhan.vn/h"
    )
    assert fault is not None and fault.message.startswith("webhook_url: holds a user name or password"), fault
    assert "mat-khau" not in fault.message


@pytest.mark.parametrize(
    ("address", "uri"),
    [
        ("https://example.vn/biên-bản.pdf", "https://example.vn/bi%C3%AAn-b%E1%BA%A3n.pdf"),
        ("HTTPS://Ví-Dụ.VN/Nghị%20quyết.pdf", "https://xn--v-d-rma6749a.vn/Ngh%E1%BB%8B%20quy%E1%BA%BFt.pdf"),
        (
            "https://ví-dụ.vn:8443/a.pdf?tệp=1&b=2#trang-2",
            "https://xn--v-d-rma6749a.vn:8443/a.pdf?t%E1%BB%87p=1&b=2#trang-2",
        ),
        ("http://[2001:db8::1]/a.pdf", "http://[2001:db8::1]/a.pdf"),
        ("http://203.0.113.7/a%2Fb.pdf", "http://203.0.113.7/a%2Fb.pdf"),
        ("javascript:alert(1)", None),  # stored before addresses were judged: no link
        ("http://0x7f.0.0.1/", None),
    ],
)
def test_the_uri_a_browser_opens_has_an_idna_host_and_a_percent_encoded_rest(address: str, uri: str | None) -> None:
    assert browser_uri(address) == uri


IDNA_DOTS = ["\u3002", "\uff0e", "\uff61"]
"""The ideographic full stop and its fullwidth and halfwidth forms, which UTS #46 reads as `.` (as browsers do)."""


def member(email: str) -> dict[str, Any]:
    """member.upserted.v1 of one member with the e-mail address `email`."""
    data = {"id": "p1", "full_name": "Nguyễn Văn A", "cell_id": "c1", "status": "official", "email": email}
    return envelope("member.upserted.v1", data)


@pytest.mark.parametrize("dot", IDNA_DOTS)
def test_an_address_whose_host_has_an_idna_dot_equivalent_is_stored_with_dots(dot: str) -> None:
    """`ví-dụ。vn` was kept as written: the same host as `ví-dụ.vn` stored as another text, wherever it was read."""
    document = read_event(parse_envelope(json.dumps(published(f"https://ví-dụ{dot}vn/a{dot}b.pdf"))))
    assert document.data.model_dump()["items"][0]["url"] == f"https://ví-dụ.vn/a{dot}b.pdf"
    request = SetPreferences(recipient_id="p1", channels=["webhook"], webhook_url=f"https://tin-nhắn{dot}vn/hook")
    assert request.webhook_url == "https://tin-nhắn.vn/hook"
    person = read_event(parse_envelope(json.dumps(member(f"a@mail{dot}ví-dụ{dot}vn"))))
    assert person.data.model_dump()["email"] == "a@mail.ví-dụ.vn"
    assert mail_key(f" A@Mail{dot}VÍ-DỤ{dot}vn ") == mail_key("a@mail.ví-dụ.vn")


def test_an_email_domain_idna_cannot_encode_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidEvent) as caught:
        read_event(parse_envelope(json.dumps(member("a@mail.ví_dụ\u3002vn"))))
    assert caught.value.field == "data.email"
    assert "the domain 'mail.ví_dụ.vn' is not a host name" in caught.value.reason, caught.value.reason


IMPOSSIBLE_DOMAINS = ["xn--\u3002vn", "xn--abc\u3002vn", "xn--abc.vn", "mail.xn--.vn"]
"""Punycode labels that decode to nothing: `idna.encode` refuses each, and a document url on such a host is refused;
an ASCII domain was taken without IDNA's judgement (`a@xn--abc。vn` stored as `a@xn--abc.vn`)."""


@pytest.mark.parametrize("domain", IMPOSSIBLE_DOMAINS)
@pytest.mark.parametrize(
    ("event_type", "data", "field"),
    [
        (
            "member.upserted.v1",
            {"id": "p1", "full_name": "Nguyễn Văn A", "cell_id": "c1", "status": "official"},
            "email",
        ),
        (
            "monitor.assigned.v1",
            {"person_id": "p1", "full_name": "Trần Thị B", "committee_id": "h1", "cell_id": "c1"},
            "email",
        ),
        ("org.unit.upserted.v1", {"id": "c1", "name": "Chi bộ 1", "kind": "cell", "parent_id": "h1"}, "contact_emails"),
    ],
)
def test_every_email_field_refuses_a_domain_idna_refuses_as_a_url_host_naming_the_field(
    domain: str, event_type: str, data: dict[str, Any], field: str
) -> None:
    address = f"a@{domain}"
    assert address_problem(f"https://{domain}/a") is not None  # a document url on it is refused: the same judgement
    value: Any = [address] if field == "contact_emails" else address
    with pytest.raises(InvalidEvent) as caught:
        read_event(parse_envelope(json.dumps(envelope(event_type, {**data, field: value}))))
    named = "data.contact_emails.0" if field == "contact_emails" else f"data.{field}"
    assert caught.value.field == named, (caught.value.field, caught.value.reason)
    assert "is not a host name" in caught.value.reason, caught.value.reason


@pytest.mark.parametrize("domain", IMPOSSIBLE_DOMAINS)
def test_the_sender_address_setting_refuses_a_domain_idna_refuses(domain: str) -> None:
    with pytest.raises(ValueError, match="is not a host name"):
        parse_mailbox(f"Chi bộ <tin@{domain.replace(chr(0x3002), '.')}>")


def test_a_valid_ascii_or_punycode_email_domain_is_still_taken() -> None:
    for address in ("a@example.vn", "a@xn--v-d-rma6749a.vn", "a@Mail.Example.COM"):
        person = read_event(parse_envelope(json.dumps(member(address))))
        assert person.data.model_dump()["email"] == address
    assert parse_mailbox("Chi bộ <tin@xn--v-d-rma6749a.vn>").domain == "xn--v-d-rma6749a.vn"
