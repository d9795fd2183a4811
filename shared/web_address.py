"""An http(s) address a person opens or the system calls: a URI or an IRI (RFC 3987: a Vietnamese host or path as
typed, `https://ví-dụ.vn/biên-bản.pdf`), judged by its parts, each refusal saying which part is wrong.

The host is judged by IDNA 2008 with UTS #46 mapping (the `idna` package, as browsers and httpx read it), an IP
address by `ipaddress`; the rest holds, besides non-ASCII letters (RFC 3987 ucschar: percent-encoded as UTF-8 when
opened, section 3.1), only RFC 3986's characters and whole percent-encodings. Pure: standard library and `idna`.
The address is kept as it was written: members see the Vietnamese they typed, and every client encodes an IRI the
same way when it opens it."""

import ipaddress
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

import idna

from shared.text import code_point, is_ascii_number

SCHEMES = ("http://", "https://")
EXAMPLE = "https://example.vn/"
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp", "Zs"})
"""Unicode categories no address holds unencoded: controls, format (bidi, zero-width), private use, surrogates,
unassigned and every space (RFC 3987 ucschar leaves them out, or a person cannot see them)."""
URI_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%")
"""RFC 3986's unreserved, reserved and `%` characters: the only ASCII an address holds unencoded."""


@dataclass(frozen=True)
class AddressProblem:
    """Why a text is no http(s) address: `code` (scheme, host_missing, host, port, hidden, character, percent),
    the `values` the sentence names (`host`, `port`, `char`, `point`, `position`, 1-based), and `reason` in English."""

    code: str
    reason: str
    values: dict[str, str] = field(default_factory=dict)


class AddressError(ValueError):
    """A ValueError (so pydantic reports it as the field's `value_error`) carrying its AddressProblem."""

    def __init__(self, problem: AddressProblem) -> None:
        super().__init__(problem.reason)
        self.problem = problem


def address_problem(value: str) -> AddressProblem | None:
    """Why `value` is no http(s) URI or IRI with a host (AddressProblem, its reason in English), None when it is one."""
    for index, char in enumerate(value):
        if unicodedata.category(char) in HIDDEN_CATEGORIES:
            where = {"point": code_point(char), "position": str(index + 1)}
            return AddressProblem(
                "hidden",
                f"holds a space or an invisible character ({where['point']} at character {where['position']}); "
                "an address holds none (a space is written %20)",
                where,
            )
    if not value[:8].lower().startswith(SCHEMES):
        return AddressProblem("scheme", "must begin with http:// or https://")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        port_text = value.split("//", 1)[1].split("/", 1)[0].rpartition(":")[2]
        return AddressProblem("port", f"the port {port_text!r} is not a number from 1 to 65535", {"port": port_text})
    host = parts.hostname or ""
    if not host:
        return AddressProblem("host_missing", f"names no host after {parts.scheme}://, such as {EXAMPLE}")
    if port == 0:
        return AddressProblem("port", "the port '0' is not a number from 1 to 65535", {"port": "0"})
    if not _is_host(host):
        return AddressProblem("host", f"the host {host!r} is not a domain name or an IP address", {"host": host})
    for index, char in enumerate(value):
        if char.isascii() and char not in URI_CHARACTERS:
            where = {"char": char, "position": str(index + 1)}
            return AddressProblem(
                "character",
                f"holds {char!r} at character {index + 1}, which an address holds only percent-encoded",
                where,
            )
        if char == "%" and not _hex_pair(value[index + 1 : index + 3]):
            where = {"position": str(index + 1)}
            return AddressProblem(
                "percent",
                f"the '%' at character {index + 1} is not followed by two hex digits (a '%' itself is written %25)",
                where,
            )
    return None


@lru_cache(maxsize=1024)
def _is_host(host: str) -> bool:
    """Whether `host` (urlsplit's lower-cased hostname, an IPv6 address without its brackets) is an IP address or a
    domain name IDNA encodes (`ví-dụ.vn` → `xn--v-d-rma6749a.vn`); cached, as a province's documents name few hosts
    and the encoding took 67 of the 76 µs an address's judgement took (9 µs cached)."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    if ":" in host:
        return False
    try:
        encoded = idna.encode(host, uts46=True, std3_rules=True)
    except (idna.IDNAError, UnicodeError):
        return False
    # digits and dots alone are an IP address or nothing, also when UTS 46 mapped them from another script (２０２６)
    return not is_ascii_number(encoded.replace(b".", b""))


def _hex_pair(text: str) -> bool:
    return len(text) == 2 and all(char in "0123456789ABCDEFabcdef" for char in text)


def web_address(value: str) -> str:
    """A pydantic AfterValidator: `value` unchanged when it is an http(s) address (address_problem), else
    AddressError saying why."""
    problem = address_problem(value)
    if problem is not None:
        raise AddressError(problem)
    return value
