"""Alibaba Cloud SMS (dysmsapi `SendSms`, API version 2017-05-25) signed with `ACS3-HMAC-SHA256`.

The V3 signature ("V3 请求体&签名机制" in Alibaba Cloud's SDK reference) signs a canonical request:

    POST \\n / \\n <sorted, RFC 3986-encoded query> \\n <canonical headers> \\n
    <signed header names> \\n <hex SHA-256 of the body>

where the canonical headers are `host`, `content-type` (when sent) and every `x-acs-*` header,
lowercased, sorted and trimmed. The string to sign is `ACS3-HMAC-SHA256\\n` + the hex SHA-256 of
the canonical request, and the signature is its hex HMAC-SHA256 keyed with the raw AccessKey
secret (no derived key, unlike Tencent's TC3 or AWS SigV4).

`SendSms` is an RPC-style operation whose parameters are `"in": "query"`, so they travel in the
query string (as in the official SDKs) and the body is empty.
"""

from __future__ import annotations

import hmac
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any
from urllib.parse import quote

import httpx

from shared.contracts import AlertMessage
from worker.channels.base import Outgoing, SendError, pooled_client

ALGORITHM = "ACS3-HMAC-SHA256"
ACTION = "SendSms"
API_VERSION = "2017-05-25"
DEFAULT_ENDPOINT = "https://dysmsapi.aliyuncs.com"

# Seconds to wait on throttling when the answer does not say; `isv.BUSINESS_LIMIT_CONTROL` is the
# per-number flow control (by default 1 a minute, 5 an hour), its message says which level hit.
_API_THROTTLE_WAIT = 1.0
_MINUTE_LIMIT_WAIT = 60.0
_HOUR_LIMIT_WAIT = 3600.0

_THROTTLING_CODES = frozenset({"isv.BUSINESS_LIMIT_CONTROL"})
_THROTTLING_PREFIXES = ("Throttling",)
# Retrying these cannot succeed: the request, the account or the number is wrong. Daily and
# monthly quotas are here too, because an alert that can only go out tomorrow has failed and must
# escalate now.
_PERMANENT_CODES = frozenset(
    {
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "InvalidAction",
        "InvalidVersion",
        "UnsupportedHTTPMethod",
        "isp.RAM_PERMISSION_DENY",
        "isv.ACCOUNT_ABNORMAL",
        "isv.ACCOUNT_NOT_EXISTS",
        "isv.AMOUNT_NOT_ENOUGH",
        "isv.BLACK_KEY_CONTROL_LIMIT",
        "isv.DAY_LIMIT_CONTROL",
        "isv.DENY_IP_RANGE",
        "isv.DOMESTIC_NUMBER_NOT_SUPPORTED",
        "isv.EXTEND_CODE_ERROR",
        "isv.INVALID_JSON_PARAM",
        "isv.INVALID_PARAMETERS",
        "isv.MOBILE_COUNT_OVER_LIMIT",
        "isv.MOBILE_NUMBER_ILLEGAL",
        "isv.MONTH_LIMIT_CONTROL",
        "isv.OUT_OF_SERVICE",
        "isv.PARAM_LENGTH_LIMIT",
        "isv.PARAM_NOT_SUPPORT_URL",
        "isv.PRODUCT_UNSUBSCRIBE",
        "isv.PRODUCT_UN_SUBSCRIPT",
        "isv.SIGN_STATE_ILLEGAL",
        "isv.SMS_CONTENT_ILLEGAL",
        "isv.SMS_SIGNATURE_ILLEGAL",
        "isv.SMS_SIGNATURE_SCENE_ILLEGAL",
        "isv.SMS_SIGN_ILLEGAL",
        "isv.SMS_TEMPLATE_ILLEGAL",
        "isv.TEMPLATE_MISSING_PARAMETERS",
        "isv.TEMPLATE_PARAMS_ILLEGAL",
    }
)
_PERMANENT_PREFIXES = ("InvalidAccessKeyId", "Forbidden", "Missing", "InvalidParameter")


@dataclass(frozen=True)
class AliyunSmsConfig:
    """Credentials and the approved sign/template of an Alibaba Cloud SMS account.

    The template must have one variable, `${<template_param_name>}`, that takes the whole text.
    """

    access_key_id: str
    access_key_secret: str
    sign_name: str
    template_code: str
    template_param_name: str = "content"
    endpoint: str = DEFAULT_ENDPOINT


@dataclass(frozen=True)
class AcsSignedRequest:
    """A request signed with ACS3-HMAC-SHA256, with the intermediate values of the signature."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    canonical_request: str
    string_to_sign: str
    signature: str
    authorization: str


def percent_encode(value: str) -> str:
    """RFC 3986 encoding of UTF-8 text: only `A-Z a-z 0-9 - _ . ~` stay as they are."""
    return quote(value, safe="-_.~")


def canonical_query(params: Mapping[str, str]) -> str:
    """Encoded `name=value` pairs sorted by name and joined with `&` (empty without params)."""
    pairs = sorted((percent_encode(k), percent_encode(v)) for k, v in params.items())
    return "&".join(f"{k}={v}" for k, v in pairs)


def sign_acs3_request(
    *,
    method: str,
    endpoint: str,
    action: str,
    version: str,
    query: Mapping[str, str],
    body: bytes,
    access_key_id: str,
    access_key_secret: str,
    date: datetime,
    nonce: str,
    content_type: str | None = None,
    path: str = "/",
) -> AcsSignedRequest:
    """Sign one Alibaba Cloud OpenAPI request (signature V3); no I/O, no clock, no randomness.

    `endpoint` is `scheme://host[:port]`; `path` is the already encoded canonical URI (`/` for
    RPC-style operations); `date` must be timezone-aware.
    """
    url = httpx.URL(endpoint)
    host = url.netloc.decode("ascii")
    payload_hash = sha256(body).hexdigest()
    headers = {
        "host": host,
        "x-acs-action": action,
        "x-acs-content-sha256": payload_hash,
        "x-acs-date": date.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": nonce,
        "x-acs-version": version,
    }
    if content_type is not None:
        headers["content-type"] = content_type
    signed = sorted(headers)
    canonical_headers = "".join(f"{name}:{headers[name].strip()}\n" for name in signed)
    signed_headers = ";".join(signed)
    query_string = canonical_query(query)
    canonical_request = "\n".join(
        [method.upper(), path, query_string, canonical_headers, signed_headers, payload_hash]
    )
    string_to_sign = f"{ALGORITHM}\n{sha256(canonical_request.encode()).hexdigest()}"
    signature = hmac.new(access_key_secret.encode(), string_to_sign.encode(), sha256).hexdigest()
    authorization = (
        f"{ALGORITHM} Credential={access_key_id},SignedHeaders={signed_headers},"
        f"Signature={signature}"
    )
    origin = f"{url.scheme}://{host}"
    return AcsSignedRequest(
        method=method.upper(),
        url=f"{origin}{path}?{query_string}" if query_string else f"{origin}{path}",
        headers={**headers, "authorization": authorization},
        body=body,
        canonical_request=canonical_request,
        string_to_sign=string_to_sign,
        signature=signature,
        authorization=authorization,
    )


def aliyun_phone_number(number: str) -> str:
    """A number as `PhoneNumbers` wants it: mainland numbers bare, others as digits with the
    country code and no `+` (`+8613800000000` → `13800000000`, `+85291234567` → `85291234567`).
    """
    digits = number.strip().replace(" ", "").replace("-", "")
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            return digits.removeprefix(prefix)
    return digits.removeprefix("+")


def send_sms_params(config: AliyunSmsConfig, message: AlertMessage) -> dict[str, str]:
    """The `SendSms` request parameters for one alert; `OutId` carries the alert id."""
    return {
        "PhoneNumbers": aliyun_phone_number(message.to),
        "SignName": config.sign_name,
        "TemplateCode": config.template_code,
        "TemplateParam": json.dumps(
            {config.template_param_name: message.text}, ensure_ascii=False, separators=(",", ":")
        ),
        "OutId": str(message.alert_id),
    }


def build_send_sms_request(
    config: AliyunSmsConfig, message: AlertMessage, *, date: datetime, nonce: str
) -> AcsSignedRequest:
    """The signed `SendSms` POST for one alert (pure: the caller supplies time and nonce)."""
    return sign_acs3_request(
        method="POST",
        endpoint=config.endpoint,
        action=ACTION,
        version=API_VERSION,
        query=send_sms_params(config, message),
        body=b"",
        access_key_id=config.access_key_id,
        access_key_secret=config.access_key_secret,
        date=date,
        nonce=nonce,
    )


def _retry_after_header(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _throttle_wait(code: str, message: str) -> float | None:
    """Seconds to wait for a throttling code, None when retrying today cannot help."""
    if code.startswith(_THROTTLING_PREFIXES):
        return _API_THROTTLE_WAIT
    # The message of isv.BUSINESS_LIMIT_CONTROL names the level: 分钟级 / 小时级 / 天级流控.
    if "天级" in message:
        return None
    if "小时级" in message:
        return _HOUR_LIMIT_WAIT
    return _MINUTE_LIMIT_WAIT


def classify_error(code: str, message: str, status: int) -> SendError:
    """The `SendError` for a failed answer: throttled, permanent or (by default) retryable."""
    text = f"aliyun SendSms {status} {code}: {message}"[:300]
    if code in _THROTTLING_CODES or code.startswith(_THROTTLING_PREFIXES):
        wait = _throttle_wait(code, message)
        if wait is None:
            return SendError(text, permanent=True)
        return SendError(text, retry_after=wait)
    if code in _PERMANENT_CODES or code.startswith(_PERMANENT_PREFIXES):
        return SendError(text, permanent=True)
    return SendError(text)


class AliyunSmsSender:
    """Sends each alert as one `SendSms` call; `OutId` is the alert id."""

    def __init__(
        self, config: AliyunSmsConfig, *, timeout: float = 5.0, connections: int = 50
    ) -> None:
        self.config = config
        self._http = pooled_client(timeout, connections)

    async def send(self, message: Outgoing) -> None:
        """Send one SMS; failures raise `SendError` (throttled, permanent or retryable)."""
        # A fresh nonce per attempt: the gateway rejects a reused one (SignatureNonceUsed).
        request = build_send_sms_request(
            self.config, message, date=datetime.now(UTC), nonce=uuid.uuid4().hex
        )
        try:
            resp = await self._http.request(
                request.method, request.url, headers=request.headers, content=request.body
            )
        except httpx.HTTPError as exc:
            raise SendError(f"aliyun SendSms: {type(exc).__name__}: {exc}") from exc
        if resp.status_code >= 500:
            raise SendError(f"aliyun SendSms answered {resp.status_code}: {resp.text[:200]}")
        if resp.status_code == 429:
            raise SendError(
                f"aliyun SendSms answered 429: {resp.text[:200]}",
                retry_after=_retry_after_header(resp) or _API_THROTTLE_WAIT,
            )
        try:
            body: Any = resp.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise SendError(
                f"aliyun SendSms answered {resp.status_code} without JSON: {resp.text[:200]}",
                permanent=400 <= resp.status_code < 500 and resp.status_code != 408,
            )
        code = str(body.get("Code", ""))
        if resp.is_success and code == "OK":
            return
        raise classify_error(code, str(body.get("Message", "")), resp.status_code)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()
