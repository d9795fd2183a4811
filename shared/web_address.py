"""An http(s) address a person opens or the system calls: a URI or an IRI (RFC 3987: a Vietnamese host or path as
typed, `https://ví-dụ.vn/biên-bản.pdf`), judged by its parts, each refusal saying which part is wrong.

The host is judged by IDNA 2008 with UTS #46 mapping (the `idna` package, as browsers and httpx read it), an IP
address by `ipaddress`; the rest holds, besides non-ASCII letters (RFC 3987 ucschar: percent-encoded as UTF-8 when
opened, section 3.1), only RFC 3986's characters and whole percent-encodings. Pure: standard library and `idna`.
The address is kept as it was written: members see the Vietnamese they typed, and every client encodes an IRI the
same way when it opens it; only the host's IDNA dot equivalents (UTS #46 maps `。` U+3002, `．` U+FF0E and `｡` U+FF61
to `.`) are stored as `.` (normal_dots), so `ví-dụ。vn` and `ví-dụ.vn` are one host wherever an address is read."""

import ipaddress
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import quote, urlsplit

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
    """Why a text is no http(s) address: `code` (scheme, host_missing, host, userinfo, ipv4_hex, ipv4_octal,
    ipv4_parts, ipv4_dot, ipv4_character, ipv6_mapped, ipv6_compatible, port, hidden, character, percent), the
    `values` the sentence names (`host`, `port`, `char`, `point`, `position`, 1-based, `part`, `parts`, `ip`, `read`),
    and `reason` in English."""

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
    authority = _authority(value)
    try:
        parts = urlsplit(value)
    except ValueError:  # brackets around no IPv6 address
        return AddressProblem(
            "host", f"the host {authority!r} is not a domain name or an IP address", {"host": authority}
        )
    try:
        port = parts.port
    except ValueError:
        port_text = authority.rpartition(":")[2]
        return AddressProblem("port", f"the port {port_text!r} is not a number from 1 to 65535", {"port": port_text})
    host = parts.hostname or ""
    if not host:
        return AddressProblem("host_missing", f"names no host after {parts.scheme}://, such as {EXAMPLE}")
    if "@" in authority:
        # WHATWG and urlsplit open the host after the last '@': `https://chibo.gov.vn@evil.example/` opens evil.example
        return AddressProblem(
            "userinfo",
            f"holds a user name or password before its host (the text up to '@'), which opens {host!r} whatever that "
            "text says; an address here holds none",
            {"host": host},
        )
    if port == 0:
        return AddressProblem("port", "the port '0' is not a number from 1 to 65535", {"port": "0"})
    problem = _host_problem(host, bracketed=authority.startswith("["))
    if problem is not None:
        return problem
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


def _authority(value: str) -> str:
    """The text between `//` and the first `/`, `?` or `#` of an address that begins with http(s)://."""
    rest = value.split("//", 1)[1]
    for end, char in enumerate(rest):
        if char in "/?#":
            return rest[:end]
    return rest


@lru_cache(maxsize=1024)
def _host_problem(host: str, *, bracketed: bool) -> AddressProblem | None:
    """Why `host` (urlsplit's lower-cased hostname, an IPv6 address without its brackets) is no IP address or domain
    name IDNA encodes (`ví-dụ.vn` → `xn--v-d-rma6749a.vn`), None when it is one; cached, as a province's documents
    name few hosts and the encoding took 67 of the 76 µs an address's judgement took (9 µs cached). A host the WHATWG
    URL standard reads as an IPv4 number (it ends in a number) must be the canonical dotted-decimal form: browsers
    open `0x7f.0.0.1`, `0177.0.0.1`, `127.1` and `127.0.0.1.` as 127.0.0.1, which is not what a person reads; so is
    an IPv4 address written as an IPv6 one (`[::ffff:7f00:1]`, _embedded_ipv4_problem)."""
    wrong = AddressProblem("host", f"the host {host!r} is not a domain name or an IP address", {"host": host})
    if bracketed:  # brackets hold an IPv6 address only, and no zone (WHATWG has none)
        try:
            address = ipaddress.IPv6Address(host)
        except ValueError:
            return wrong
        return wrong if "%" in host else _embedded_ipv4_problem(host, address)
    try:
        ipaddress.IPv4Address(host)
        return None
    except ValueError:
        pass
    if ":" in host:
        return wrong
    encoded = _idna(host)
    if encoded is None:
        return wrong
    if not _ends_in_number(encoded):
        return None
    # the WHATWG IPv4 parser's host (UTS 46 maps ２０２６ to 2026 first): an address in another form, or nothing
    number = _ipv4(encoded)
    if number is None:
        return wrong
    return _ipv4_problem(host, encoded, number)


@lru_cache(maxsize=1024)
def _idna(host: str) -> str | None:
    """`host` as IDNA 2008 with UTS 46 mapping encodes it (`ví-dụ.vn` → `xn--v-d-rma6749a.vn`), None if it cannot."""
    try:
        return idna.encode(host, uts46=True, std3_rules=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return None


def _ends_in_number(host: str) -> bool:
    """The WHATWG URL standard's "ends in a number" checker: whether the IPv4 parser reads the ASCII `host`."""
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    last = parts[-1]
    return bool(last) and (is_ascii_number(last) or _ipv4_number(last) is not None)


def _ipv4_number(part: str) -> int | None:
    """One part as the WHATWG IPv4 number parser reads it (0x… hexadecimal, 0… octal, else decimal), None if none."""
    if not part:
        return None
    radix, digits = 10, part
    if part[:2] in ("0x", "0X"):
        radix, digits = 16, part[2:]
    elif len(part) > 1 and part[0] == "0":
        radix, digits = 8, part[1:]
    allowed = "0123456789abcdefABCDEF"[: {8: 8, 10: 10, 16: 22}[radix]]
    if any(char not in allowed for char in digits):
        return None
    return int(digits, radix) if digits else 0


def _ipv4(host: str) -> int | None:
    """The WHATWG IPv4 parser: the 32-bit address the ASCII `host` stands for, None when it is a failure."""
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    if len(parts) > 4:
        return None
    numbers = [_ipv4_number(part) for part in parts]
    if any(number is None for number in numbers):
        return None
    known = [number for number in numbers if number is not None]
    if any(number > 255 for number in known[:-1]) or known[-1] >= 256 ** (5 - len(known)):
        return None
    address = known[-1]
    for index, number in enumerate(known[:-1]):
        address += number * 256 ** (3 - index)
    return address


def _ipv4_problem(host: str, encoded: str, number: int) -> AddressProblem:
    """Why `host` (IDNA `encoded`), which browsers open as the IPv4 address `number`, is not written as that address:
    its first character that UTS 46 maps to a digit, letter or dot (fullwidth `１２７`, circled `①②⑦`, the ideographic
    full stop `。`), else the first hexadecimal or octal part, else too few parts, else the trailing dot."""
    ip = str(ipaddress.IPv4Address(number))
    values = {"host": host, "ip": ip}
    opens = f"the host {host!r} opens the IP address {ip} in a browser"
    for index, char in enumerate(host):
        if not char.isascii():
            read = idna.uts46_remap(char, std3_rules=True, transitional=False)  # '1', '.', 'x'
            where = {"char": char, "point": code_point(char), "read": read, "position": str(index + 1)}
            why = f"its character {char!r} ({where['point']}) is read as {read!r}"
            return AddressProblem("ipv4_character", f"{opens} ({why}); write it as {ip}", values | where)
    parts = encoded.rstrip(".").split(".")
    for part in parts:
        if part[:2] == "0x":
            why = f"its part {part!r} is read as a hexadecimal number"
            return AddressProblem("ipv4_hex", f"{opens} ({why}); write it as {ip}", values | {"part": part})
        if len(part) > 1 and part[0] == "0":
            why = f"its part {part!r} begins with 0, so is read as an octal number"
            return AddressProblem("ipv4_octal", f"{opens} ({why}); write it as {ip}", values | {"part": part})
    if len(parts) < 4:
        count = f"{len(parts)} part" + ("s" if len(parts) > 1 else "")
        why = f"it is written in {count}, not 4, its last standing for the ones left out"
        return AddressProblem("ipv4_parts", f"{opens} ({why}); write it as {ip}", values | {"parts": str(len(parts))})
    why = "it ends in a dot"
    return AddressProblem("ipv4_dot", f"{opens} ({why}); write it as {ip}", values)


def _embedded_ipv4_problem(host: str, address: ipaddress.IPv6Address) -> AddressProblem | None:
    """Why the IPv6 `host` (its `address`) is an IPv4 address written another way, as the refusals of non-canonical
    IPv4 hosts say it (write the dotted form): IPv4-mapped (`::ffff:7f00:1`, ::ffff:0:0/96, which a browser's
    dual-stack socket opens as 127.0.0.1) or IPv4-compatible (`::7f00:1`, ::/96 but `::` and `::1`, deprecated by
    RFC 4291 and routed nowhere now); None for any other IPv6 address (NAT64's 64:ff9b::/96 is one of its own)."""
    shown = f"[{host}]"
    mapped = address.ipv4_mapped
    if mapped is not None:
        ip = str(mapped)
        why = "it is an IPv4-mapped IPv6 address"
        reason = f"the host {shown!r} opens the IP address {ip} in a browser ({why}); write it as {ip}"
        return AddressProblem("ipv6_mapped", reason, {"host": shown, "ip": ip})
    number = int(address)
    if number >> 32 == 0 and number > 1:
        ip = str(ipaddress.IPv4Address(number))
        reason = (
            f"the host {shown!r} stands for the IP address {ip} in the deprecated IPv4-compatible IPv6 form "
            f"(RFC 4291); write it as {ip}"
        )
        return AddressProblem("ipv6_compatible", reason, {"host": shown, "ip": ip})
    return None


def _hex_pair(text: str) -> bool:
    return len(text) == 2 and all(char in "0123456789ABCDEFabcdef" for char in text)


IDNA_DOTS = {"\u3002": ".", "\uff0e": ".", "\uff61": "."}
"""The characters UTS #46 maps to a label separator, as browsers, httpx and `idna` read a host: each is a `.`."""
IDNA_DOT_TABLE = str.maketrans(IDNA_DOTS)


def normal_dots(host: str) -> str:
    """`host` with each IDNA dot equivalent (`。` U+3002, `．` U+FF0E, `｡` U+FF61) written `.`, the rest as written."""
    return host.translate(IDNA_DOT_TABLE)


def web_address(value: str) -> str:
    """A pydantic AfterValidator: `value` as written, its host's IDNA dot equivalents as `.` (normal_dots), when it is
    an http(s) address (address_problem), else AddressError saying why."""
    problem = address_problem(value)
    if problem is not None:
        raise AddressError(problem)
    start = value.index("//") + 2
    authority = _authority(value)
    return value[:start] + normal_dots(authority) + value[start + len(authority) :]


def mail_address(value: object) -> object:
    """A pydantic BeforeValidator of an e-mail address: its domain's IDNA dot equivalents written `.` (normal_dots),
    ValueError naming the domain when it is no host name (domain_problem, ASCII or not); not a text: as given."""
    if not isinstance(value, str) or "@" not in value:
        return value
    address = normal_mail(value)
    domain = address.rpartition("@")[2]
    if domain_problem(domain) is not None:
        raise ValueError(f"the domain {domain!r} is not a host name (IDNA 2008, UTS #46)")
    return address


def domain_problem(domain: str) -> AddressProblem | None:
    """Why an e-mail address's `domain` is no host name, judged as a web address's host is (_host_problem: IDNA 2008
    with UTS #46, so an ASCII `xn--` label that decodes to nothing is refused as in a URL), None when it is one."""
    return _host_problem(normal_dots(domain).rstrip(".").lower(), bracketed=False)


def normal_mail(address: str) -> str:
    """An e-mail address with its domain's IDNA dot equivalents written `.` (normal_dots), the rest as written."""
    local, at, domain = address.rpartition("@")
    return f"{local}{at}{normal_dots(domain)}"


def smtp_address(address: str) -> tuple[str, bool]:
    """An e-mail address as an SMTP envelope and header carry it: its domain IDNA-encoded (`nguyễn@ví-dụ.vn` →
    `nguyễn@xn--v-d-rma6749a.vn`, IDNA 2008 with UTS #46; as written when it cannot be), and whether its local part
    is not ASCII, so only a server offering SMTPUTF8 takes it (RFC 6531 3.2; a domain needs none, RFC 5890)."""
    local, at, domain = normal_mail(address).rpartition("@")
    if not at:
        return address, not address.isascii()
    encoded = domain if domain.isascii() else _idna(domain) or domain
    return f"{local}@{encoded}", not local.isascii()


def mail_key(address: str) -> str:
    """An e-mail address as two are compared (one mail per address, an account linked by address): trimmed,
    lower-cased, its domain's IDNA dot equivalents as `.`."""
    return normal_mail(address.strip()).lower()


def browser_uri(value: str) -> str | None:
    """The URI (ASCII) a browser opens for the address `value`, to put in an href while the page shows `value` as
    typed: the host IDNA-encoded (`ví-dụ.vn` → `xn--v-d-rma6749a.vn`), every non-ASCII character of the rest
    percent-encoded as UTF-8 (RFC 3987 section 3.1), the rest kept; None when address_problem refuses `value` (a
    document stored before the address was judged)."""
    if address_problem(value) is not None:
        return None
    scheme, rest = value.split("://", 1)
    authority = _authority(value)
    parts = urlsplit(value)
    host = parts.hostname or ""
    if authority.startswith("["):
        host = f"[{host}]"
    elif not _is_ipv4(host):
        host = _idna(host) or host  # address_problem took it, so IDNA encodes it
    port = f":{parts.port}" if parts.port is not None else ""
    tail = rest[len(authority) :]
    return f"{scheme.lower()}://{host}{port}{quote(tail, safe=URI_SAFE)}"


URI_SAFE = "".join(sorted(URI_CHARACTERS))
"""What quote keeps of an accepted address's path, query and fragment: every ASCII character it may hold."""


def _is_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True
