"""Whether a connection comes from one of the operator's reverse proxies (``PROXY_AUTH_TRUSTED_PROXIES``).

A leaf: the sign-in headers (``metrics_ui.proxy_auth``) and the request id (``metrics_ui.observability``)
both count only from these addresses, and neither may import the other.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip())


def trusted_networks() -> tuple[Network, ...]:
    return _networks(tuple(settings.PROXY_AUTH_TRUSTED_PROXIES))


def address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def is_trusted_proxy(request: HttpRequest) -> bool:
    """The connection itself (``REMOTE_ADDR``, never a forwarded header) is a configured proxy."""
    remote = address(request.META.get("REMOTE_ADDR", ""))
    return remote is not None and any(remote in network for network in trusted_networks())
