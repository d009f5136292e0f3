"""Webhooks as Cloudinary sends them: which notification URLs may be reached, signing, and sending one attempt.

A notification URL names a place the server will connect to on a client's behalf, so it must never reach the
server's own network (server-side request forgery). It must be http(s), and every address its host resolves to
must be public, unless the host or the address is listed in MEDIALIB_WEBHOOK_ALLOWED_HOSTS. It is checked when
the request gives it (a 400 that says why) and again before each attempt, because DNS can change; the attempt
then connects to the very address that was checked (no second lookup a resolver could answer differently),
follows no redirect (a 3xx is a failed attempt), lasts at most MEDIALIB_WEBHOOK_TIMEOUT_SECONDS and reads at
most RESPONSE_READ_LIMIT bytes of the answer.
"""
from __future__ import annotations

import hashlib
import http.client
import ipaddress
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

RESPONSE_READ_LIMIT = 1024
URL_MAX_LENGTH = 2000
SIGNATURE_ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}
USER_AGENT = "medialib-webhooks/1"
# IPv6 prefixes that carry an IPv4 address inside (NAT64 well-known prefix): judged by that address.
NAT64 = ipaddress.ip_network("64:ff9b::/96")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class WebhookUrlError(ValueError):
    """A notification URL that may not be reached; the message says why, for the client to read."""


@dataclass(frozen=True)
class Target:
    """A checked notification URL: where to connect (the address that was checked) and what to ask for."""

    scheme: str
    host: str  # as in the URL, for the Host header and TLS (SNI, certificate check)
    port: int
    path: str  # path and query
    address: str


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer (see error)
    error: str  # "" when the receiver answered 2xx
    duration_ms: int
    body: bytes = b""


def allowed_entries(entries=None) -> tuple[set[str], list]:
    """MEDIALIB_WEBHOOK_ALLOWED_HOSTS as (host names, networks); ValueError names an entry that is neither."""
    names, networks = set(), []
    for entry in settings.MEDIALIB_WEBHOOK_ALLOWED_HOSTS if entries is None else entries:
        text = entry.strip().strip("[]").lower()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
            continue
        except ValueError:
            pass
        label = text.rstrip(".")
        if not label or len(label) > 253 or not all(
                part and len(part) <= 63 and part.replace("-", "").replace("_", "").isalnum() and part.isascii()
                for part in label.split(".")):
            raise ValueError(f"{entry[:80]!r} is neither a host name nor an IP address or network")
        names.add(label)
    return names, networks


def address_refusal(address: Address) -> str:
    """Why this address may not be reached (it is not public), or "" when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or (ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in NAT64
                                           else None) or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is not None:
            reason = address_refusal(embedded)
            return f"{reason} (inside the IPv6 address {address})" if reason else ""
    for flag, what in (("is_loopback", "a loopback address"), ("is_unspecified", "the unspecified address"),
                       ("is_link_local", "a link-local address"), ("is_multicast", "a multicast address"),
                       ("is_reserved", "a reserved address"), ("is_private", "a private address")):
        if getattr(address, flag):
            return f"{address} is {what}"
    if not address.is_global:
        return f"{address} is not a public address"
    return ""


def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to (a literal address is itself); OSError when it does not resolve."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def notification_url_check(url: str, *, allowed=None) -> Target:
    """The target of a notification URL that may be reached; WebhookUrlError says why one may not."""
    if not isinstance(url, str) or not url.strip():
        raise WebhookUrlError("notification_url is empty.")
    url = url.strip()
    if len(url) > URL_MAX_LENGTH:
        raise WebhookUrlError(f"notification_url is longer than {URL_MAX_LENGTH} characters.")
    if any(ord(char) < 33 or ord(char) == 127 for char in url):
        raise WebhookUrlError("notification_url holds spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookUrlError(f"notification_url {url[:100]!r} is not a valid URL ({exc}).") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise WebhookUrlError(f"notification_url must be an http or https URL, not {scheme or 'one without a scheme'}"
                              f"{':' if scheme else ''}.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise WebhookUrlError(f"notification_url {url[:100]!r} names no host.")
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlError("notification_url must not hold a user name or password.")
    port = port or (443 if scheme == "https" else 80)
    names, networks = allowed_entries() if allowed is None else allowed
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise WebhookUrlError(f"The host of notification_url, {host[:100]!r}, does not resolve ({exc}).") from None
    if not addresses:
        raise WebhookUrlError(f"The host of notification_url, {host[:100]!r}, resolves to no address.")
    if host.lower() not in names:
        for text in addresses:
            address = ipaddress.ip_address(text.split("%")[0])
            if any(address in network for network in networks if network.version == address.version):
                continue
            reason = address_refusal(address)
            if reason:
                raise WebhookUrlError(
                    f"notification_url may not be reached: {host[:100]} resolves to {reason}. Only public addresses "
                    "are reached, unless the host or its network is listed in MEDIALIB_WEBHOOK_ALLOWED_HOSTS.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])


def notification_sign(body: str, timestamp: int, secret: str, algorithm: str = "sha1") -> str:
    """X-Cld-Signature: hex(SHA(body + timestamp + api_secret)), which cloudinary.utils.verify_notification_signature
    accepts (with algorithm="sha256" for a key set to SHA-256)."""
    return SIGNATURE_ALGORITHMS[algorithm](f"{body}{timestamp}{secret}".encode()).hexdigest()


def payload_body(payload: dict) -> str:
    """The JSON sent: the same text for every attempt (only the timestamp and signature change)."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=False, ensure_ascii=False)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to the address that was checked, with the URL's host for SNI and the certificate check."""

    def __init__(self, address: str, port: int, *, server_hostname: str, timeout: float):
        super().__init__(address, port, timeout=timeout, context=ssl.create_default_context())
        self.server_hostname = server_hostname

    def connect(self):
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.server_hostname)


def webhook_post(url: str, *, body: str, headers: dict[str, str], timeout: float | None = None) -> Answer:
    """One attempt: check the URL again, POST the body to the checked address, read the status and at most
    RESPONSE_READ_LIMIT bytes. Never raises for what the receiver or the network does: the Answer says."""
    timeout = settings.MEDIALIB_WEBHOOK_TIMEOUT_SECONDS if timeout is None else timeout
    started = time.monotonic()

    def answer(status, error, body=b""):
        return Answer(status=status, error=error[:2000], duration_ms=round((time.monotonic() - started) * 1000),
                      body=body)

    try:
        target = notification_url_check(url)
    except WebhookUrlError as exc:
        return answer(None, f"Not sent: {exc}")
    if target.scheme == "https":
        connection = _PinnedHTTPSConnection(target.address, target.port, server_hostname=target.host, timeout=timeout)
    else:
        connection = http.client.HTTPConnection(target.address, target.port, timeout=timeout)
    # The socket timeout bounds each wait; this bounds the whole attempt (a receiver trickling a byte at a time).
    expired = threading.Event()

    def expire():
        expired.set()
        sock = connection.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    watchdog = threading.Timer(timeout, expire)
    watchdog.daemon = True
    watchdog.start()
    host_header = target.host if ":" not in target.host else f"[{target.host}]"
    default_port = 443 if target.scheme == "https" else 80
    if target.port != default_port:
        host_header += f":{target.port}"
    try:
        connection.putrequest("POST", target.path, skip_host=True, skip_accept_encoding=True)
        for name, value in {"Host": host_header, "User-Agent": USER_AGENT, "Content-Type": "application/json",
                            "Content-Length": str(len(body.encode())), **headers}.items():
            connection.putheader(name, value)
        connection.endheaders(body.encode())
        response = connection.getresponse()
        data = response.read(RESPONSE_READ_LIMIT)
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        if expired.is_set() or isinstance(exc, TimeoutError | socket.timeout):
            return answer(None, f"No answer within {timeout:g} s.")
        return answer(None, f"{type(exc).__name__}: {exc}")
    finally:
        watchdog.cancel()
        connection.close()
    if 200 <= response.status < 300:
        return answer(response.status, "", data)
    if 300 <= response.status < 400:
        location = (response.getheader("Location") or "")[:200]
        return answer(response.status, f"Answered {response.status}, a redirect (to {location or 'nowhere'}), "
                                       "which is never followed.", data)
    return answer(response.status, f"Answered {response.status} {response.reason}"[:200], data)
