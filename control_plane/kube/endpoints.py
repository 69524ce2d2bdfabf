"""Which Kubernetes API server URLs devplat may talk to (R15: SSRF hardening).

An admin-supplied server URL is a request devplat will make from inside the platform's network, so it is checked
before anything connects: https only, no credentials in the URL, and every address the host resolves to must be
public, or in a private network the operator allow-listed. Link-local, cloud metadata, unspecified, multicast and
reserved addresses are refused always; loopback only when `DEVPLAT_ALLOW_LOOPBACK_CLUSTERS` is on (development and
tests, where the sandbox API server listens on 127.0.0.1). The check resolves names but never opens a connection;
the Kubernetes client calls it before every client it builds.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2048
# AWS/GCP/Azure/OpenStack (169.254.169.254, also link-local), AWS over IPv6, Alibaba Cloud.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200"))
THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # "this host on this network": Linux connects 0.x to itself
PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7", "fec0::/10")
)
HTTP_REFUSED = (
    "The server URL uses http: Kubernetes API servers must be reached over https (plain http is allowed only for "
    "loopback addresses in development and tests, with DEVPLAT_ALLOW_LOOPBACK_CLUSTERS on)."
)


class EndpointRefused(ValueError):
    """devplat will not connect to this URL; the message says why and what the admin can do."""


def check_server_url(url: str) -> None:
    """Raise EndpointRefused unless devplat may connect to the Kubernetes API server at `url`.

    Resolves the host with the system resolver (as the client will) and judges every address it returns, so a
    name cannot smuggle a forbidden address in among good ones.
    """
    parts = _split(url)
    allow_loopback = bool(settings.DEVPLAT_ALLOW_LOOPBACK_CLUSTERS)
    if parts.scheme == "http" and not allow_loopback:
        raise EndpointRefused(HTTP_REFUSED)
    host = parts.hostname or ""
    if parts.scheme == "http":
        try:
            addresses = _resolve(host, parts.port or 80)
        except EndpointRefused:
            raise EndpointRefused(HTTP_REFUSED) from None
        if not all(_loopback(a) for a in addresses):
            raise EndpointRefused(HTTP_REFUSED)
    else:
        addresses = _resolve(host, parts.port or 443)
    allowed = _allowed_networks()
    for address in addresses:
        reason = refusal(address, allow_loopback=allow_loopback, allowed=allowed)
        if reason:
            raise EndpointRefused(f"{_subject(host, address)} {reason}.")


def refusal(address: IPAddress, *, allow_loopback: bool, allowed: Iterable[IPNetwork] = ()) -> str:
    """Why devplat will not connect to `address`, or "" when it may. The reason completes "<address> ..."."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return refusal(address.ipv4_mapped, allow_loopback=allow_loopback, allowed=allowed)
    if address in METADATA_ADDRESSES:
        return "is a cloud metadata service address, which devplat never connects to"
    if address.is_unspecified or address in THIS_NETWORK:
        return "is an unspecified ('this host') address, which devplat never connects to"
    if address.is_multicast:
        return "is a multicast address, which cannot be a Kubernetes API server"
    if address.is_link_local:
        return "is link-local (169.254.0.0/16, fe80::/10), which devplat never connects to"
    if address.is_loopback:
        if allow_loopback:
            return ""
        return (
            "is a loopback address; loopback API servers are allowed only in development and tests "
            "(DEVPLAT_ALLOW_LOOPBACK_CLUSTERS)"
        )
    if address.is_reserved:
        return "is in a reserved address range, which devplat never connects to"
    if isinstance(address, ipaddress.IPv6Address) and address.sixtofour is not None:
        embedded = refusal(address.sixtofour, allow_loopback=False, allowed=allowed)
        if embedded:
            return f"is a 6to4 address for {address.sixtofour}, which {embedded}"
    if any(address in network for network in allowed):
        return ""
    private = next((str(n) for n in PRIVATE_NETWORKS if address in n), "")
    if private or not address.is_global:
        where = f"in the private range {private}" if private else "not publicly routable"
        return f"is {where}; add its network to DEVPLAT_CLUSTER_ALLOWED_NETWORKS to allow API servers there"
    return ""


def _split(url: str) -> SplitResult:
    if not url or len(url) > MAX_URL_LENGTH:
        raise EndpointRefused(f"The server URL must be 1 to {MAX_URL_LENGTH} characters, like https://k8s.example.com.")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise EndpointRefused("The server URL contains whitespace or control characters; give a plain https URL.")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        raise EndpointRefused("The server URL must start with https://, like https://k8s.example.com:6443.")
    if "@" in parts.netloc:
        # Never echo the URL here: the part before "@" is a user name and password.
        raise EndpointRefused(
            "The server URL carries a user name or password; devplat takes credentials only as a token or client "
            "certificate, never in the URL."
        )
    if not parts.hostname:
        raise EndpointRefused("The server URL has no host, like https://k8s.example.com:6443.")
    if parts.query or parts.fragment:
        raise EndpointRefused("The server URL must not have a query string or fragment; give scheme, host and port.")
    try:
        port = parts.port
    except ValueError:
        raise EndpointRefused("The server URL's port is not a number between 1 and 65535.") from None
    if port == 0:
        raise EndpointRefused("The server URL's port is not a number between 1 and 65535.")
    return parts


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise EndpointRefused(
            f"The server host {host!r} does not resolve to an address here; check the name, or give an IP address."
        ) from None
    addresses = {ipaddress.ip_address(str(sockaddr[0]).partition("%")[0]) for *_, sockaddr in found}
    return sorted(addresses, key=lambda a: (a.version, a))


def _allowed_networks() -> list[IPNetwork]:
    return [ipaddress.ip_network(cidr, strict=False) for cidr in settings.DEVPLAT_CLUSTER_ALLOWED_NETWORKS]


def _loopback(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _subject(host: str, address: IPAddress) -> str:
    literal = host.strip("[]")
    try:
        same = ipaddress.ip_address(literal.partition("%")[0]) == address
    except ValueError:
        same = False
    return f"The server address {address}" if same else f"The server host {host!r} resolves to {address}, which"
