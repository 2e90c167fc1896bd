"""Where a request comes from: the client's address, and whether the connection is a trusted
reverse proxy (``PROXY_AUTH_TRUSTED_PROXIES``). A leaf: sign-in, the audit trail and the rate
limits read it; it reads only settings.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip())


def trusted_networks():
    return _networks(tuple(settings.PROXY_AUTH_TRUSTED_PROXIES))


def connection_from(request: HttpRequest, cidrs) -> bool:
    """The connection itself (``REMOTE_ADDR``, never a forwarded header) is in one of ``cidrs``."""
    address = _address(request.META.get("REMOTE_ADDR", ""))
    return address is not None and any(address in network for network in _networks(tuple(cidrs)))


def _address(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def is_trusted_proxy(request: HttpRequest) -> bool:
    """The connection itself (``REMOTE_ADDR``, never a forwarded header) is a configured proxy."""
    return connection_from(request, settings.PROXY_AUTH_TRUSTED_PROXIES)


def client_ip(request: HttpRequest) -> str | None:
    """The person's address: ``REMOTE_ADDR``, or behind a trusted proxy the nearest untrusted hop
    of ``X-Forwarded-For`` (read right to left, so a client cannot choose it)."""
    remote = _address(request.META.get("REMOTE_ADDR", ""))
    if remote is None:
        return None
    networks = trusted_networks()
    if networks and any(remote in network for network in networks):
        for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
            address = _address(hop)
            if address is None:
                break
            if not any(address in network for network in networks):
                return str(address)
    return str(remote)
