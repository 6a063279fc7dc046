"""Tencent Cloud SMS (`SendSms`, API version 2021-01-11) signed with `TC3-HMAC-SHA256`.

TencentCloud API 3.0 "签名方法 v3": the canonical request is

    POST \\n / \\n <empty query> \\n <canonical headers> \\n <signed header names> \\n
    <hex SHA-256 of the JSON body>

with at least `content-type` and `host` signed (here also `x-tc-action`), keys *and values*
lowercased. The string to sign is `TC3-HMAC-SHA256\\n<timestamp>\\n<date>/sms/tc3_request\\n` +
the hex SHA-256 of the canonical request, where `<date>` is the UTC date of the timestamp. The key
is derived like AWS SigV4: HMAC("TC3" + SecretKey, date) → HMAC(·, service) → HMAC(·,
"tc3_request"), and the signature is the hex HMAC of the string to sign with it.

Errors come back as HTTP 200 with `Response.Error`; per-number outcomes are in
`Response.SendStatusSet[*].Code` (`"Ok"` on success).
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any

import httpx

from shared.contracts import AlertMessage
from worker.channels.base import Outgoing, SendError, pooled_client

ALGORITHM = "TC3-HMAC-SHA256"
SERVICE = "sms"
ACTION = "SendSms"
API_VERSION = "2021-01-11"
DEFAULT_ENDPOINT = "https://sms.tencentcloudapi.com"
CONTENT_TYPE = "application/json; charset=utf-8"

# The default frequency policy allows one identical message per number every 30 seconds; the
# others are configurable in the console, so these are guesses at the window, not promises.
_WAITS = {
    "LimitExceeded.PhoneNumberThirtySecondLimit": 30.0,
    "LimitExceeded.DeliveryFrequencyLimit": 60.0,
    "LimitExceeded.PhoneNumberOneHourLimit": 3600.0,
}
_REQUEST_LIMIT_WAIT = 1.0
# Quotas that only reset the next day: an alert that cannot go out today has failed, and a
# permanent failure escalates now instead of retrying into tomorrow.
_DAILY_LIMITS = frozenset(
    {
        "LimitExceeded.AppDailyLimit",
        "LimitExceeded.DailyLimit",
        "LimitExceeded.PhoneNumberDailyLimit",
        "LimitExceeded.PhoneNumberSameContentDailyLimit",
        "LimitExceeded.AppCountryOrRegionDailyLimit",
        "LimitExceeded.AppGlobalDailyLimit",
        "LimitExceeded.AppMainlandChinaDailyLimit",
    }
)
_PERMANENT_CODES = frozenset(
    {
        "ActionOffline",
        "InvalidAction",
        "NoSuchProduct",
        "NoSuchVersion",
        "UnknownParameter",
        "UnsupportedProtocol",
        "UnsupportedRegion",
        "LimitExceeded.PhoneNumberCountLimit",
        "FailedOperation.ContainSensitiveWord",
        "FailedOperation.FailResolvePacket",
        "FailedOperation.InsufficientBalanceInSmsPackage",
        "FailedOperation.JsonParseFail",
        "FailedOperation.MarketingSendTimeConstraint",
        "FailedOperation.PhoneNumberInBlacklist",
        "FailedOperation.PhoneNumberOnBlacklist",
        "FailedOperation.SignatureIncorrectOrUnapproved",
        "FailedOperation.TemplateIncorrectOrUnapproved",
        "FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
        "FailedOperation.TemplateUnapprovedOrNotExist",
    }
)
_PERMANENT_PREFIXES = (
    "AuthFailure",
    "InvalidParameter",
    "MissingParameter",
    "UnauthorizedOperation",
    "UnsupportedOperation",
)
# The clock being off is an operations problem a retry may outlive; not the credentials' fault.
_RETRYABLE_CODES = frozenset({"AuthFailure.SignatureExpire"})


@dataclass(frozen=True)
class TencentSmsConfig:
    """Credentials, SMS application and the approved sign/template of a Tencent Cloud account.

    The template must have one variable (`{1}`) that takes the whole text.
    """

    secret_id: str
    secret_key: str
    sdk_app_id: str
    sign_name: str
    template_id: str
    region: str = "ap-guangzhou"
    endpoint: str = DEFAULT_ENDPOINT


@dataclass(frozen=True)
class Tc3SignedRequest:
    """A request signed with TC3-HMAC-SHA256, with the intermediate values of the signature."""

    url: str
    headers: dict[str, str]
    body: bytes
    canonical_request: str
    string_to_sign: str
    signature: str
    authorization: str


def tc3_signing_key(secret_key: str, date: str, service: str) -> bytes:
    """The derived key: HMAC chain over the UTC date, the service and `tc3_request`."""
    secret_date = hmac.new(f"TC3{secret_key}".encode(), date.encode(), sha256).digest()
    secret_service = hmac.new(secret_date, service.encode(), sha256).digest()
    return hmac.new(secret_service, b"tc3_request", sha256).digest()


def sign_tc3_request(
    *,
    secret_id: str,
    secret_key: str,
    endpoint: str,
    service: str,
    action: str,
    version: str,
    payload: bytes,
    timestamp: int,
    region: str | None = None,
    content_type: str = CONTENT_TYPE,
    sign_action: bool = True,
) -> Tc3SignedRequest:
    """Sign one TencentCloud API 3.0 POST (signature v3); no I/O, no clock.

    `endpoint` is `scheme://host[:port]`. With `sign_action` the `x-tc-action` header is signed
    besides `content-type` and `host` (the current documentation's example); without it only
    the two mandatory headers are (the older example).
    """
    url = httpx.URL(endpoint)
    host = url.netloc.decode("ascii")
    signed_values: Mapping[str, str] = {
        "content-type": content_type,
        "host": host,
        **({"x-tc-action": action} if sign_action else {}),
    }
    signed = sorted(signed_values)
    canonical_headers = "".join(f"{k}:{signed_values[k].strip().lower()}\n" for k in signed)
    signed_headers = ";".join(signed)
    canonical_request = "\n".join(
        ["POST", "/", "", canonical_headers, signed_headers, sha256(payload).hexdigest()]
    )
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join(
        [ALGORITHM, str(timestamp), scope, sha256(canonical_request.encode()).hexdigest()]
    )
    signature = hmac.new(
        tc3_signing_key(secret_key, date, service), string_to_sign.encode(), sha256
    ).hexdigest()
    authorization = (
        f"{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders={signed_headers}, "
        f"Signature={signature}"
    )
    headers = {
        "authorization": authorization,
        "content-type": content_type,
        "host": host,
        "x-tc-action": action,
        "x-tc-timestamp": str(timestamp),
        "x-tc-version": version,
    }
    if region is not None:
        headers["x-tc-region"] = region
    return Tc3SignedRequest(
        url=f"{url.scheme}://{host}/",
        headers=headers,
        body=payload,
        canonical_request=canonical_request,
        string_to_sign=string_to_sign,
        signature=signature,
        authorization=authorization,
    )


def tencent_phone_number(number: str) -> str:
    """A number in the E.164 form `PhoneNumberSet` wants; mainland numbers get `+86`."""
    digits = number.strip().replace(" ", "").replace("-", "")
    if digits.startswith("+"):
        return digits
    if digits.startswith("0086"):
        return "+" + digits.removeprefix("00")
    if len(digits) == 13 and digits.startswith("861"):
        return "+" + digits
    return "+86" + digits


def send_sms_payload(config: TencentSmsConfig, message: AlertMessage) -> bytes:
    """The `SendSms` JSON body for one alert; `SessionContext` carries the alert id."""
    return json.dumps(
        {
            "PhoneNumberSet": [tencent_phone_number(message.to)],
            "SmsSdkAppId": config.sdk_app_id,
            "SignName": config.sign_name,
            "TemplateId": config.template_id,
            "TemplateParamSet": [message.text],
            "SessionContext": str(message.alert_id),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def build_send_sms_request(
    config: TencentSmsConfig, message: AlertMessage, *, timestamp: int
) -> Tc3SignedRequest:
    """The signed `SendSms` POST for one alert (pure: the caller supplies the time)."""
    return sign_tc3_request(
        secret_id=config.secret_id,
        secret_key=config.secret_key,
        endpoint=config.endpoint,
        service=SERVICE,
        action=ACTION,
        version=API_VERSION,
        payload=send_sms_payload(config, message),
        timestamp=timestamp,
        region=config.region,
    )


def classify_error(code: str, message: str) -> SendError:
    """The `SendError` for an error code: throttled, permanent or (by default) retryable."""
    text = f"tencent SendSms {code}: {message}"[:300]
    if code in _WAITS:
        return SendError(text, retry_after=_WAITS[code])
    if code == "RequestLimitExceeded" or code.startswith("RequestLimitExceeded."):
        return SendError(text, retry_after=_REQUEST_LIMIT_WAIT)
    if code in _RETRYABLE_CODES:
        return SendError(text)
    if code in _DAILY_LIMITS or code in _PERMANENT_CODES or code.startswith(_PERMANENT_PREFIXES):
        return SendError(text, permanent=True)
    return SendError(text)


def _retry_after_header(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class TencentSmsSender:
    """Sends each alert as one `SendSms` call; `SessionContext` is the alert id."""

    def __init__(
        self, config: TencentSmsConfig, *, timeout: float = 5.0, connections: int = 50
    ) -> None:
        self.config = config
        self._http = pooled_client(timeout, connections)

    async def send(self, message: Outgoing) -> None:
        """Send one SMS; failures raise `SendError` (throttled, permanent or retryable)."""
        request = build_send_sms_request(self.config, message, timestamp=int(time.time()))
        try:
            resp = await self._http.post(request.url, headers=request.headers, content=request.body)
        except httpx.HTTPError as exc:
            raise SendError(f"tencent SendSms: {type(exc).__name__}: {exc}") from exc
        if resp.status_code == 429:
            raise SendError(
                f"tencent SendSms answered 429: {resp.text[:200]}",
                retry_after=_retry_after_header(resp) or _REQUEST_LIMIT_WAIT,
            )
        if not resp.is_success:
            raise SendError(
                f"tencent SendSms answered {resp.status_code}: {resp.text[:200]}",
                permanent=400 <= resp.status_code < 500 and resp.status_code != 408,
            )
        try:
            body: Any = resp.json()
        except ValueError:
            body = None
        response = body.get("Response") if isinstance(body, dict) else None
        if not isinstance(response, dict):
            raise SendError(f"tencent SendSms answered without a Response: {resp.text[:200]}")
        error = response.get("Error")
        if isinstance(error, dict):
            raise classify_error(str(error.get("Code", "")), str(error.get("Message", "")))
        statuses = response.get("SendStatusSet")
        if not isinstance(statuses, list) or not statuses or not isinstance(statuses[0], dict):
            raise SendError(f"tencent SendSms answered no SendStatusSet: {resp.text[:200]}")
        status: dict[str, Any] = statuses[0]
        code = str(status.get("Code", ""))
        if code != "Ok":
            raise classify_error(code, str(status.get("Message", "")))

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()
