"""Standard Webhooks (https://www.standardwebhooks.com, spec v1.0.0): symmetric `v1` signatures.

The signed content is `{msg_id}.{timestamp}.{body}`, signed with HMAC-SHA256 keyed with the
base64-decoded part of a `whsec_…` secret, and sent as `webhook-signature: v1,<base64>` beside
`webhook-id` and `webhook-timestamp`. Pure functions, used by the API (creating subscriptions,
showing the secret, refusing private URLs) and by the worker (signing deliveries, the SSRF
guard).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import re
import secrets
import socket
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_SECONDS = 300
HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"

_MIN_SECRET_BYTES = 24  # the spec: "at least 24 bytes (192 bits, 512 maximum)"
_MAX_SECRET_BYTES = 64
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class WebhookVerificationError(Exception):
    """A delivery did not prove it came from the holder of the secret, or is too old or new."""


def shown_address(address: str) -> str:
    """A receiver's URL as it may be stored, queued and shown: without the user info, query
    and fragment that may hold its token (a DingTalk robot's `access_token`, a WeCom robot's
    `key`), and, when any was there, a short digest of the whole, so two robots behind one
    endpoint stay apart (rate limits, bundles). A phone number, or a URL with nothing to hide,
    is shown as it is."""
    parts = urlsplit(address)
    if not parts.scheme or not (parts.query or parts.fragment or "@" in parts.netloc):
        return address
    host = parts.netloc.rsplit("@", 1)[-1]
    digest = hashlib.sha256(address.encode("utf-8")).hexdigest()[:12]
    return urlunsplit((parts.scheme, host, parts.path, "", digest))


def generate_secret(nbytes: int = 32) -> str:
    """A new signing secret: `whsec_` and the base64 of `nbytes` (24–64) random bytes."""
    if not _MIN_SECRET_BYTES <= nbytes <= _MAX_SECRET_BYTES:
        raise ValueError(f"a secret has {_MIN_SECRET_BYTES} to {_MAX_SECRET_BYTES} bytes")
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(nbytes)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_…` secret (the prefix is optional); ValueError when malformed."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        # Extra "=" is ignored by the decoder, so unpadded secrets decode too (as the
        # reference libraries accept them).
        key = base64.b64decode(encoded + "==", validate=False)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("the webhook secret is not base64") from exc
    if not key:
        raise ValueError("the webhook secret is empty")
    return key


def json_body(payload: Mapping[str, Any]) -> bytes:
    """The compact UTF-8 JSON of a payload: the exact bytes to sign and to send."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _digest(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    # The id and timestamp are delimited by full stops, so a dot inside the id would let
    # different (id, timestamp) pairs sign the same content; the spec forbids it.
    if not msg_id or "." in msg_id:
        raise ValueError("a webhook id is non-empty and has no '.'")
    return hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `v1,<base64 HMAC-SHA256>` signature of `{msg_id}.{timestamp}.{body}`."""
    digest = _digest(secret_key(secret), msg_id, timestamp, body)
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def headers_for(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of one delivery attempt."""
    return {
        HEADER_ID: msg_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: sign(secret, msg_id, timestamp, body),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: int | None = None,
) -> None:
    """Check a received delivery; raises `WebhookVerificationError` unless one `v1` signature in
    the space-separated `webhook-signature` list matches and the timestamp is within
    `tolerance_seconds` of `now` (either side). Header names are case-insensitive; a malformed
    secret raises ValueError (that is the receiver's configuration, not the sender's fault)."""
    key = secret_key(secret)
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get(HEADER_ID, "").strip()
    raw_timestamp = lowered.get(HEADER_TIMESTAMP, "").strip()
    signatures = lowered.get(HEADER_SIGNATURE, "").strip()
    if not (msg_id and raw_timestamp and signatures):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    if not _TIMESTAMP.fullmatch(raw_timestamp):
        raise WebhookVerificationError("webhook-timestamp is not a unix time in seconds")
    timestamp = int(raw_timestamp)
    current = int(time.time()) if now is None else now
    if timestamp < current - tolerance_seconds:
        raise WebhookVerificationError("webhook-timestamp is too old")
    if timestamp > current + tolerance_seconds:
        raise WebhookVerificationError("webhook-timestamp is too new")
    try:
        expected = _digest(key, msg_id, timestamp, body)
    except ValueError as exc:
        raise WebhookVerificationError(str(exc)) from exc
    for candidate in signatures.split():
        version, _, encoded = candidate.partition(",")
        if version != SIGNATURE_VERSION:
            continue  # v1a (asymmetric) or a future scheme: not ours to check
        try:
            given = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(expected, given):
            return
    raise WebhookVerificationError("no matching signature")


# --- Where deliveries may go (SSRF) ---------------------------------------------------------

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 well-known prefix


def _refusal(ip: IPAddress) -> str | None:
    """Why a request must not go to this address, or None when it is a public unicast one."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if ip in _NAT64:
            # DNS64 networks hand out 64:ff9b::a.b.c.d for every IPv4-only host, so judge the
            # IPv4 address it translates to rather than refusing the whole prefix as reserved.
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return _refusal(embedded)
    checks = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
        (not ip.is_global, "not globally routable"),
    )
    for refused, why in checks:
        if refused:
            return f"{ip} is {why}"
    return None


def _parse_http_url(url: str) -> httpx.URL:
    """The URL as httpx will send it (the same parser, so the check and the request agree)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"not a valid URL: {exc}") from exc
    if parsed.scheme not in ("http", "https"):
        raise ValueError(f"only http and https URLs are allowed, not {parsed.scheme or 'none'!r}")
    if not parsed.host:
        raise ValueError("the URL has no host")
    return parsed


def _literal_ip(host: str) -> IPAddress | None:
    """The address a host names without DNS: IPv6 literals, and every IPv4 spelling the C
    resolver accepts (`127.1`, `0x7f.1`, `2130706433`), which `ipaddress` alone would miss."""
    try:
        return ipaddress.ip_address(unquote(host))
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def check_public_url(url: str) -> None:
    """Refuse (ValueError) a URL that is not http(s), names `localhost`, or is an address
    literal that is not public unicast. Pure: names are not resolved (see `ensure_public_url`)."""
    host = _parse_http_url(url).host.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        raise ValueError(f"{host} is loopback")
    ip = _literal_ip(host)
    if ip is not None and (why := _refusal(ip)) is not None:
        raise ValueError(why)


async def ensure_public_url(url: str) -> None:
    """`check_public_url`, then resolve the host and refuse (ValueError) when any address it
    resolves to is not public. A name that does not resolve raises OSError (`socket.gaierror`),
    which may be temporary. The request resolves the name again, so this does not stop DNS
    rebinding; an egress proxy that filters addresses does."""
    check_public_url(url)
    parsed = _parse_http_url(url)
    # The ASCII (IDNA 2008) form httpx connects to; Python's own idna codec is IDNA 2003 and
    # maps some names (faß.de) elsewhere.
    host = parsed.raw_host.decode("ascii").rstrip(".")
    if _literal_ip(host) is not None:
        return
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not infos:
        raise socket.gaierror(f"{host} has no address")
    for *_, sockaddr in infos:
        try:
            ip = ipaddress.ip_address(str(sockaddr[0]))
        except ValueError as exc:
            raise ValueError(f"{host} resolves to an unexpected address") from exc
        if (why := _refusal(ip)) is not None:
            raise ValueError(f"{host} resolves to {why}")


def check_http_url(url: str) -> None:
    """Refuse (ValueError) anything but an http(s) URL with a host."""
    _parse_http_url(url)
