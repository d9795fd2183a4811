"""The SSRF guard of webhook addresses: a webhook is POSTed only to a host whose every address is global, or that the
operator allows (CHIBO_WEBHOOK_ALLOWED_HOSTS), judged when the address is registered and again right before each
send, which then connects to the very address judged (so DNS answering otherwise between the check and the connect,
a rebinding, reaches nothing new).

Addresses are classified by `ipaddress` (IANA's special-purpose registries): refused are loopback, unspecified,
private (RFC 1918 and the like), shared (RFC 6598), link-local (169.254.0.0/16, with the cloud metadata address
169.254.169.254, and fe80::/10), unique-local (fc00::/7), site-local, multicast, reserved and anything else not
global; an IPv6 address carrying an IPv4 one (IPv4-mapped ::ffff:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16) is
judged by the IPv4 address it carries."""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import httpx

from shared.web_address import address_problem

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]
"""(ASCII host, port) → the IP addresses it resolves to, as text; OSError when it resolves to none."""

NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
"""RFC 6052's well-known NAT64 prefix: its last 32 bits are the IPv4 address the translator connects to."""
UNIQUE_LOCAL = ipaddress.IPv6Network("fc00::/7")
SHARED = ipaddress.IPv4Network("100.64.0.0/10")
METADATA = ipaddress.IPv4Address("169.254.169.254")
SETTING = "CHIBO_WEBHOOK_ALLOWED_HOSTS"


class RefusedAddress(ValueError):
    """A webhook address the guard does not send to; the message says why (English, names the host and address)."""


@dataclass(frozen=True)
class Allowlist:
    """What the operator lets a webhook reach although it is not global: `networks` (an address is a /32 or /128)
    and host `names` (IDNA-encoded, lower case, whatever they resolve to)."""

    networks: tuple[IPNetwork, ...] = ()
    names: frozenset[str] = field(default_factory=frozenset)

    def permits_address(self, address: IPAddress) -> bool:
        """Whether `address` lies in one of the allowed networks."""
        return any(address.version == network.version and address in network for network in self.networks)

    def permits_name(self, host: str) -> bool:
        """Whether the ASCII `host` (IDNA-encoded) is one of the allowed names."""
        return host.lower().rstrip(".") in self.names


def allowlist_entry_problem(entry: str) -> str | None:
    """Why `entry` of CHIBO_WEBHOOK_ALLOWED_HOSTS is no IP address, network (CIDR) or host name, None when it is."""
    try:
        ipaddress.ip_network(entry, strict=False)
        return None
    except ValueError:
        pass
    if "/" in entry or ":" in entry or not entry:
        return f"{entry!r} is not an IP address, a network such as 10.20.0.0/16 or a host name"
    problem = address_problem(f"http://{entry}/")
    if problem is not None:
        return f"{entry!r} is not an IP address, a network such as 10.20.0.0/16 or a host name ({problem.reason})"
    return None


def parse_allowlist(entries: Sequence[str]) -> Allowlist:
    """The Allowlist of CHIBO_WEBHOOK_ALLOWED_HOSTS' entries (each checked by allowlist_entry_problem first)."""
    networks: list[IPNetwork] = []
    names: set[str] = set()
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            names.add(httpx.URL(f"http://{entry.strip()}/").raw_host.decode("ascii").lower().rstrip("."))
    return Allowlist(tuple(networks), frozenset(names))


def address_refusal(address: IPAddress, allowlist: Allowlist) -> str | None:
    """Why a webhook may not connect to `address` (English: the kind of address), None when it may: global, or in
    the allowlist's networks."""
    if allowlist.permits_address(address):
        return None
    if isinstance(address, ipaddress.IPv6Address):
        carried = address.ipv4_mapped or address.sixtofour
        if address in NAT64:
            carried = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if carried is not None:
            why = address_refusal(carried, allowlist)
            if why is not None:
                return f"{why} (carried in the IPv6 address {address})"
            if address.ipv4_mapped is not None or address in NAT64:
                return None  # the connection goes to the global IPv4 address it carries
    kind = _kind(address)
    return None if kind is None else f"{address} is {kind}"


def _kind(address: IPAddress) -> str | None:
    """The kind of a non-global address, None for a global one."""
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address == METADATA:
        return "the link-local cloud metadata address"
    if address.is_link_local:
        return "a link-local address"
    if isinstance(address, ipaddress.IPv6Address) and address in UNIQUE_LOCAL:
        return "a unique-local address (fc00::/7)"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "a site-local address (fec0::/10)"
    if isinstance(address, ipaddress.IPv4Address) and address in SHARED:
        return "a shared address (100.64.0.0/10, RFC 6598)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "not a global address"
    return None


def literal_refusal(url: str, allowlist: Allowlist) -> str | None:
    """Why a webhook may not reach `url` (an http(s) address) when its host is an IP address (checked_target's
    message), None for a host name or an address it may reach; no resolver is asked."""
    host = httpx.URL(url).raw_host.decode("ascii")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    why = address_refusal(address, allowlist)
    return None if why is None else _refused(host, literal=True, why=why)


def _refused(host: str, *, literal: bool, why: str) -> str:
    how = "is" if literal else "resolves to"
    return (
        f"the host {host!r} {how} an address a webhook may not reach: {why}; a webhook is sent only to global"
        f" addresses, or to the hosts and networks {SETTING} allows"
    )


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system's resolver (getaddrinfo) gives for `host`, in its order of preference."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class Target:
    """Where a webhook POST goes: `urls`, the address with its host replaced by each checked IP address in turn,
    `host_header` (the host and port as written, IDNA-encoded) and `sni` (the host name TLS verifies, None for an IP
    host)."""

    urls: tuple[httpx.URL, ...]
    host_header: str
    sni: str | None


async def checked_target(url: str, allowlist: Allowlist, *, resolve: Resolver = system_resolver) -> Target:
    """Resolve `url`'s host and check every address it gives (address_refusal); the Target to connect to, or
    RefusedAddress saying why: not an http(s) address (shared.web_address: a scheme other than http(s), a user name
    or password before the host...), a host that does not resolve, or one address that is not global and not
    allowed."""
    problem = address_problem(url)
    if problem is not None:
        raise RefusedAddress(problem.reason)
    parsed = httpx.URL(url)
    host = parsed.raw_host.decode("ascii")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            addresses = [ipaddress.ip_address(text.split("%", 1)[0]) for text in await resolve(host, port)]
        except OSError as exc:
            raise RefusedAddress(f"the host {host!r} does not resolve ({exc.strerror or exc})") from None
        if not addresses:
            raise RefusedAddress(f"the host {host!r} does not resolve")
    if literal is not None or not allowlist.permits_name(host):
        for address in addresses:
            why = address_refusal(address, allowlist)
            if why is not None:
                raise RefusedAddress(_refused(host, literal=literal is not None, why=why))
    urls = tuple(parsed if literal is not None else parsed.copy_with(host=str(address)) for address in addresses)
    return Target(urls, parsed.netloc.decode("ascii"), None if literal is not None else host)
