"""Who is at the other end of a request: the client's IP address, as far as this server can trust it."""
from __future__ import annotations

import ipaddress

from django.conf import settings

# No address known (a request made in-process, as Django's test client's force_login): still a valid address,
# since django-axes stores it in an inet column on PostgreSQL.
UNKNOWN = "0.0.0.0"


def _valid(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def client_ip(request) -> str:
    """REMOTE_ADDR, or behind MEDIALIB_PROXY_COUNT proxies the address the outermost of them saw.

    Each proxy appends the address it was called from to X-Forwarded-For, so only the last N entries are
    facts; anything before them is what the client wrote, and a client picking its own address would get
    a fresh rate limit and lockout counter with every request.
    """
    remote = request.META.get("REMOTE_ADDR") or ""
    remote = remote if _valid(remote) else UNKNOWN
    proxies = settings.MEDIALIB_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if len(forwarded) < proxies:
        return remote
    outermost = forwarded[-proxies]
    return outermost if _valid(outermost) else remote  # a proxy wrote it, but never trust a non-address
