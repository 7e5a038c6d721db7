"""Who is asking: the client's IP (X-Forwarded-For read only from trusted proxies) and the
mailbox an address delivers to, the keys the rate limits count by."""
from __future__ import annotations

import ipaddress
from typing import Iterable

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Gmail delivers every dotted spelling of a name to one mailbox, under either domain.
DOTS_IGNORED = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def canonical_mailbox(address: str) -> str:
    """The mailbox ``address`` reaches: lower case, without a ``+tag`` (sub-addressing, RFC
    5233: Gmail, Outlook, iCloud, Fastmail, Proton, Yahoo's own "-" aside), and for Gmail
    without dots (``Jo.Ann+x@googlemail.com`` -> ``joann@gmail.com``)."""
    local, _, domain = address.strip().lower().rpartition("@")
    local = local.split("+", 1)[0] or local
    if domain in DOTS_IGNORED:
        local, domain = local.replace(".", ""), DOTS_IGNORED[domain]
    return f"{local}@{domain}"


def parse_ip(text: str) -> IP | None:
    """An IP address, with a port or brackets tolerated; IPv4-mapped IPv6 as IPv4."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


def client_ip(peer: str, forwarded_for: Iterable[str], trusted: Iterable[Network]) -> str:
    """The client's address. From a trusted proxy, X-Forwarded-For is read right to left and
    the first hop that is not a trusted proxy is the client (hops to its left are whatever
    the client wrote). A hop that is not an IP address ends the walk at the last good one."""
    trusted = list(trusted)
    address = parse_ip(peer)
    if address is None:
        return peer
    hops = [hop for header in forwarded_for for hop in header.split(",")]
    while _is_trusted(address, trusted) and hops:
        hop = parse_ip(hops.pop())
        if hop is None:
            break
        address = hop
    return str(address)


def _is_trusted(ip: IP, trusted: list[Network]) -> bool:
    return any(ip.version == net.version and ip in net for net in trusted)


def network_key(ip: str) -> str:
    """What the per-IP limit counts by: an IPv4 address, or an IPv6 client's /64 (one
    household or server: a single customer gets a whole /64 to pick addresses from)."""
    address = parse_ip(ip)
    if address is None:
        return ip
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
