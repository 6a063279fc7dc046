"""Webhook channels without PostgreSQL or Redis: Standard Webhooks signing against the spec's
published vector, each sender against a local fake that verifies its protocol, the failure
policy (410 / 429 / 5xx / robot errcodes), WeCom's byte limit and the SSRF guard."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote_plus, urlsplit

import httpx
import pytest

from shared.webhooks import (
    WebhookVerificationError,
    generate_secret,
    headers_for,
    json_body,
    secret_key,
    sign,
    verify,
)
from tests.fakes.webhook_receivers import FakeDingTalkRobot, FakeWebhookReceiver, FakeWeComRobot
from worker.channels.base import Outgoing, SendError
from worker.channels.dingtalk import DingTalkSender, dingtalk_sign, markdown_message, signed_url
from worker.channels.webhook import (
    WebhookSender,
    check_public_url,
    ensure_public_url,
    failure_for_status,
    guard_url,
    parse_retry_after,
)
from worker.channels.wecom import MARKDOWN_LIMIT_BYTES, WeComSender, truncate_utf8

# The published test vector of the Standard Webhooks reference libraries:
# standard-webhooks/standard-webhooks, libraries/python/tests/test_webhooks.py
# (test_sign_function; the same values are in the JavaScript, Go, ... library tests).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_PAYLOAD = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

PAYLOAD: dict[str, Any] = {
    "type": "deadline.missed",
    "timestamp": "2026-05-01T08:00:00Z",
    "data": {"case_number": "信访-2026-0001", "role": "chief", "unit": "杨庄村"},
}


def alert(channel: str, to: str, **fields: Any) -> Outgoing:
    """An alert for one channel with a fresh id, as it leaves the worker (its full address and
    secret read from the API for this attempt)."""
    return Outgoing(
        alert_id=uuid.uuid4(),
        channel=channel,
        to=to,
        text=fields.pop("text", "杨庄村村长未按时到位,请刘镇长督办。"),
        **fields,
    )


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- Standard Webhooks signing ----------------------------------------------------------


def test_spec_vector() -> None:
    assert sign(SPEC_SECRET, SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_PAYLOAD) == SPEC_SIGNATURE
    headers = {
        "webhook-id": SPEC_MSG_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
    }
    verify(SPEC_SECRET, headers, SPEC_PAYLOAD, now=SPEC_TIMESTAMP + 10)
    # The reference libraries accept the secret without its prefix, too.
    verify(SPEC_SECRET.removeprefix("whsec_"), headers, SPEC_PAYLOAD, now=SPEC_TIMESTAMP)


def test_generate_secret() -> None:
    secrets = {generate_secret() for _ in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert len(secret_key(generate_secret(24))) == 24
    with pytest.raises(ValueError):
        generate_secret(16)


def test_round_trip_and_tampering() -> None:
    secret, body, now = generate_secret(), json_body(PAYLOAD), int(time.time())
    headers = headers_for(secret, "alert-1", now, body)
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    verify(secret, headers, body)
    verify(secret, {name.upper(): value for name, value in headers.items()}, body)

    with pytest.raises(WebhookVerificationError, match="no matching signature"):
        verify(secret, headers, body.replace(b"chief", b"staff"))
    with pytest.raises(WebhookVerificationError, match="no matching signature"):
        verify(generate_secret(), headers, body)
    with pytest.raises(WebhookVerificationError, match="no matching signature"):
        verify(secret, {**headers, "webhook-id": "alert-2"}, body)
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(secret, headers, body, now=now + 301)
    with pytest.raises(WebhookVerificationError, match="too new"):
        verify(secret, headers, body, now=now - 301)
    verify(secret, headers, body, now=now + 300)
    # A replay with a fresh timestamp but the old signature fails: the timestamp is signed.
    with pytest.raises(WebhookVerificationError, match="no matching signature"):
        verify(secret, {**headers, "webhook-timestamp": str(now + 1)}, body)
    for missing in headers:
        partial = {name: value for name, value in headers.items() if name != missing}
        with pytest.raises(WebhookVerificationError, match="missing"):
            verify(secret, partial, body)
    with pytest.raises(WebhookVerificationError, match="unix time"):
        verify(secret, {**headers, "webhook-timestamp": "1.5e9"}, body)


def test_several_signatures() -> None:
    secret, old_secret, body, now = generate_secret(), generate_secret(), b"{}", int(time.time())
    good = sign(secret, "m1", now, body)
    candidates = [
        sign(old_secret, "m1", now, body),  # secret rotation: the old key's signature first
        "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM==",
        "v1,not base64!",
        "garbage",
        good,
    ]
    headers = {"webhook-id": "m1", "webhook-timestamp": str(now)}
    verify(secret, {**headers, "webhook-signature": " ".join(candidates)}, body)
    with pytest.raises(WebhookVerificationError):
        verify(secret, {**headers, "webhook-signature": " ".join(candidates[:-1])}, body)
    # The v1 payload with another version label is not accepted as v1.
    with pytest.raises(WebhookVerificationError):
        verify(secret, {**headers, "webhook-signature": "v2" + good[2:]}, body)


def test_ids_with_dots_are_refused() -> None:
    with pytest.raises(ValueError):
        sign(generate_secret(), "a.b", 1, b"{}")


# --- Retry-After and the status policy ----------------------------------------------------


def test_parse_retry_after() -> None:
    now = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 0 ") == 0.0
    assert (
        parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now) == 90
    )
    assert parse_retry_after("Fri, 01 May 2026 07:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("99999999") == 24 * 3600
    for unreadable in (None, "", "soon", "-5", "1.5", "²"):
        assert parse_retry_after(unreadable) is None


def test_failure_for_status() -> None:
    def failure(status: int, **headers: str) -> SendError:
        return failure_for_status(httpx.Response(status, headers=headers), b"nope")

    assert failure(410).permanent
    assert failure(404).permanent and failure(400).permanent and failure(401).permanent
    assert failure(302, location="http://169.254.169.254/").permanent
    throttled = failure(429, **{"retry-after": "30"})
    assert not throttled.permanent and throttled.retry_after == 30
    assert failure(503, **{"retry-after": "5"}).retry_after == 5
    for status in (500, 502, 504, 408, 429, 503):
        error = failure(status)
        assert not error.permanent and error.retry_after is None
    assert "410" in str(failure(410)) and "nope" in str(failure(410))


# --- WebhookSender against the verifying receiver -----------------------------------------


@pytest.fixture
def receiver() -> Iterator[FakeWebhookReceiver]:
    fake = FakeWebhookReceiver(secret=generate_secret()).start()
    yield fake
    fake.stop()


@pytest.fixture
async def webhook_sender() -> AsyncIterator[WebhookSender]:
    sender = WebhookSender(allow_private=True)
    yield sender
    await sender.aclose()


def webhook_alert(receiver: FakeWebhookReceiver) -> Outgoing:
    """A webhook alert for the fake receiver."""
    return alert(
        "webhook", receiver.url, secret=receiver.secret, event="deadline.missed", payload=PAYLOAD
    )


async def test_webhook_delivers_signed_compact_json(
    receiver: FakeWebhookReceiver, webhook_sender: WebhookSender
) -> None:
    message = webhook_alert(receiver)
    await webhook_sender.send(message)
    [request] = receiver.requests
    assert request.status == 200 and request.answer == {"verified": True}
    assert request.headers["webhook-id"] == str(message.alert_id)
    assert request.headers["content-type"] == "application/json"
    assert request.body == json_body(PAYLOAD)
    assert b" " not in request.body  # compact: no separators with spaces
    assert receiver.delivered() == [PAYLOAD]


async def test_webhook_retries_keep_the_id_and_are_deduped(
    receiver: FakeWebhookReceiver, webhook_sender: WebhookSender
) -> None:
    receiver.fail_first = 2
    message = webhook_alert(receiver)
    for _ in range(2):
        with pytest.raises(SendError) as failed:
            await webhook_sender.send(message)
        assert not failed.value.permanent and failed.value.retry_after is None
    await webhook_sender.send(message)
    await webhook_sender.send(message)  # e.g. the worker died before recording the success
    assert [r.status for r in receiver.requests] == [500, 500, 200, 200]
    assert {r.headers["webhook-id"] for r in receiver.requests} == {str(message.alert_id)}
    assert all(r.answer["verified"] for r in receiver.requests)
    assert len(receiver.duplicates) == 1
    assert receiver.delivered() == [PAYLOAD]


async def test_webhook_gone_is_permanent(
    receiver: FakeWebhookReceiver, webhook_sender: WebhookSender
) -> None:
    receiver.fail_first, receiver.fail_status = 1, 410
    with pytest.raises(SendError) as failed:
        await webhook_sender.send(webhook_alert(receiver))
    assert failed.value.permanent
    assert receiver.delivered() == []


async def test_webhook_rate_limited_carries_retry_after(
    receiver: FakeWebhookReceiver, webhook_sender: WebhookSender
) -> None:
    receiver.fail_first, receiver.fail_status, receiver.retry_after = 1, 429, "17"
    message = webhook_alert(receiver)
    with pytest.raises(SendError) as failed:
        await webhook_sender.send(message)
    assert not failed.value.permanent and failed.value.retry_after == 17
    await webhook_sender.send(message)
    assert receiver.delivered() == [PAYLOAD]


async def test_webhook_unavailable_with_http_date(
    receiver: FakeWebhookReceiver, webhook_sender: WebhookSender
) -> None:
    when = datetime.now(UTC) + timedelta(minutes=2)
    receiver.fail_first, receiver.fail_status = 1, 503
    receiver.retry_after = format_datetime(when, usegmt=True)
    with pytest.raises(SendError) as failed:
        await webhook_sender.send(webhook_alert(receiver))
    assert failed.value.retry_after is not None and 100 < failed.value.retry_after <= 120


async def test_webhook_wrong_secret_is_refused_by_the_receiver(
    receiver: FakeWebhookReceiver, webhook_sender: WebhookSender
) -> None:
    message = webhook_alert(receiver).model_copy(update={"secret": generate_secret()})
    with pytest.raises(SendError) as failed:
        await webhook_sender.send(message)
    assert failed.value.permanent  # 401: a wrong secret does not fix itself
    assert receiver.requests[0].answer["verified"] is False


async def test_webhook_without_secret_or_payload_is_permanent(
    receiver: FakeWebhookReceiver, webhook_sender: WebhookSender
) -> None:
    for update in ({"secret": None}, {"payload": None}):
        with pytest.raises(SendError) as failed:
            await webhook_sender.send(webhook_alert(receiver).model_copy(update=update))
        assert failed.value.permanent
    assert receiver.requests == []


async def test_webhook_transport_error_is_retryable(webhook_sender: WebhookSender) -> None:
    message = alert(
        "webhook", f"http://127.0.0.1:{free_port()}/", secret=generate_secret(), payload={}
    )
    with pytest.raises(SendError) as failed:
        await webhook_sender.send(message)
    assert not failed.value.permanent


# --- DingTalk -------------------------------------------------------------------------------

DINGTALK_SECRET = "SEC" + "5a3ecf88f2b3eb50db30ecfc00f53033ac909c99bf7f88fd612bda89d7f3a9dc"


@pytest.fixture
def dingtalk() -> Iterator[FakeDingTalkRobot]:
    fake = FakeDingTalkRobot(secret=DINGTALK_SECRET).start()
    yield fake
    fake.stop()


@pytest.fixture
async def dingtalk_sender() -> AsyncIterator[DingTalkSender]:
    sender = DingTalkSender(allow_private=True)
    yield sender
    await sender.aclose()


def test_dingtalk_sign_follows_the_documented_recipe() -> None:
    # DingTalk's 加签 doc (Python sample): quote_plus(b64encode(HmacSHA256(secret, ts\nsecret))).
    timestamp = 1700000000000
    digest = hmac.new(
        DINGTALK_SECRET.encode("utf-8"),
        f"{timestamp}\n{DINGTALK_SECRET}".encode(),
        hashlib.sha256,
    ).digest()
    documented = quote_plus(base64.b64encode(digest))
    assert quote_plus(dingtalk_sign(DINGTALK_SECRET, timestamp)) == documented
    url = signed_url(
        "https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1&sign=old",
        DINGTALK_SECRET,
        timestamp,
    )
    assert urlsplit(url).query == f"access_token=abc&timestamp={timestamp}&sign={documented}"


def test_dingtalk_markdown_message() -> None:
    assert markdown_message("到位超时", "正文") == {
        "msgtype": "markdown",
        "markdown": {"title": "到位超时", "text": "#### 到位超时\n\n正文"},
    }
    assert markdown_message(None, "第一行\n第二行")["markdown"]["title"] == "第一行"


async def test_dingtalk_delivers_signed_markdown(
    dingtalk: FakeDingTalkRobot, dingtalk_sender: DingTalkSender
) -> None:
    message = alert("dingtalk", dingtalk.url, title="到位超时", secret=DINGTALK_SECRET)
    for _ in range(5):  # signs vary with the millisecond; '+' and '/' must survive the URL
        await dingtalk_sender.send(message)
    assert [r.answer["errcode"] for r in dingtalk.requests] == [0] * 5
    assert dingtalk.delivered()[0] == {
        "title": "到位超时",
        "text": f"#### 到位超时\n\n{message.text}",
    }


async def test_dingtalk_without_signing(dingtalk_sender: DingTalkSender) -> None:
    robot = FakeDingTalkRobot().start()
    try:
        await dingtalk_sender.send(alert("dingtalk", robot.url))
        assert len(robot.delivered()) == 1
    finally:
        robot.stop()


async def test_dingtalk_wrong_secret_is_permanent(
    dingtalk: FakeDingTalkRobot, dingtalk_sender: DingTalkSender
) -> None:
    for secret in ("SECwrong", None):
        with pytest.raises(SendError) as failed:
            await dingtalk_sender.send(alert("dingtalk", dingtalk.url, secret=secret))
        assert failed.value.permanent and "310000" in str(failed.value)


async def test_dingtalk_stale_timestamp_is_refused_by_the_fake(dingtalk: FakeDingTalkRobot) -> None:
    stale = int(time.time() * 1000) - 2 * 3600 * 1000
    async with httpx.AsyncClient() as client:
        resp = await client.post(
            signed_url(dingtalk.url, DINGTALK_SECRET, stale),
            json=markdown_message("t", "x"),
        )
    assert resp.json()["errcode"] == 310000


async def test_dingtalk_unknown_token_is_permanent(
    dingtalk: FakeDingTalkRobot, dingtalk_sender: DingTalkSender
) -> None:
    url = dingtalk.url.replace(dingtalk.access_token, "another")
    with pytest.raises(SendError) as failed:
        await dingtalk_sender.send(alert("dingtalk", url, secret=DINGTALK_SECRET))
    assert failed.value.permanent


async def test_dingtalk_too_fast_waits_out_the_throttle(
    dingtalk: FakeDingTalkRobot, dingtalk_sender: DingTalkSender
) -> None:
    dingtalk.fail_first = 1
    message = alert("dingtalk", dingtalk.url, secret=DINGTALK_SECRET)
    with pytest.raises(SendError) as failed:
        await dingtalk_sender.send(message)
    assert not failed.value.permanent and failed.value.retry_after == 600
    dingtalk.fail_first, dingtalk.fail_errcode = 2, -1  # -1: 系统繁忙
    with pytest.raises(SendError) as failed:
        await dingtalk_sender.send(message)
    assert not failed.value.permanent and failed.value.retry_after is None
    await dingtalk_sender.send(message)
    assert len(dingtalk.delivered()) == 1


# --- WeCom ----------------------------------------------------------------------------------


@pytest.fixture
def wecom() -> Iterator[FakeWeComRobot]:
    fake = FakeWeComRobot().start()
    yield fake
    fake.stop()


@pytest.fixture
async def wecom_sender() -> AsyncIterator[WeComSender]:
    sender = WeComSender(allow_private=True)
    yield sender
    await sender.aclose()


def test_truncate_utf8_never_splits_a_character() -> None:
    assert truncate_utf8("abc", 3) == "abc"
    assert truncate_utf8("abcd", 3, mark="") == "abc"
    # "信" is 3 bytes: 4 bytes of room hold one and a third; the third is dropped.
    assert truncate_utf8("信访信访", 7) == "信…"
    for limit in range(3, 40):
        cut = truncate_utf8("信访😀ab" * 5, limit)
        assert len(cut.encode("utf-8")) <= limit
    with pytest.raises(ValueError):
        truncate_utf8("信访", 2)


async def test_wecom_delivers_markdown(wecom: FakeWeComRobot, wecom_sender: WeComSender) -> None:
    message = alert("wecom", wecom.url, title="到位超时")
    await wecom_sender.send(message)
    assert wecom.delivered() == [f"### 到位超时\n{message.text}"]


async def test_wecom_truncates_to_4096_bytes(
    wecom: FakeWeComRobot, wecom_sender: WeComSender
) -> None:
    text = "村民反映征地补偿款未兑现。" * 400  # 15,600 bytes of 3-byte characters
    await wecom_sender.send(alert("wecom", wecom.url, title="长消息", text=text))
    [content] = wecom.delivered()
    assert len(content.encode("utf-8")) <= MARKDOWN_LIMIT_BYTES
    assert len(content.encode("utf-8")) > MARKDOWN_LIMIT_BYTES - 6
    assert content.startswith("### 长消息\n村民") and content.endswith("…")


async def test_wecom_wrong_key_is_permanent(
    wecom: FakeWeComRobot, wecom_sender: WeComSender
) -> None:
    with pytest.raises(SendError) as failed:
        await wecom_sender.send(alert("wecom", wecom.url.replace(wecom.key, "wrong-key")))
    assert failed.value.permanent and "93000" in str(failed.value)


async def test_wecom_rate_limit_waits_a_minute(
    wecom: FakeWeComRobot, wecom_sender: WeComSender
) -> None:
    wecom.fail_first = 1
    message = alert("wecom", wecom.url)
    with pytest.raises(SendError) as failed:
        await wecom_sender.send(message)
    assert not failed.value.permanent and failed.value.retry_after == 60
    await wecom_sender.send(message)
    assert len(wecom.delivered()) == 1


# --- SSRF guard -----------------------------------------------------------------------------

REFUSED = [
    "http://127.0.0.1/hook",
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f.1/",
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://192.168.1.10:8080/",
    "http://100.64.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://0.0.0.0/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://[::1]/",
    "http://[::]/",
    "http://[fd12:3456:789a::1]/",
    "http://[fe80::1]/",
    "http://[ff02::1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[64:ff9b::a00:1]/",
    "http://localhost/",
    "http://LOCALHOST./",
    "http://api.localhost/",
    "file:///etc/passwd",
    "ftp://example.com/",
    "gopher://example.com/",
    "http:///no-host",
    "not a url",
]
ALLOWED = [
    "https://1.1.1.1/hook",
    "https://[2606:4700:4700::1111]/",
    "https://[64:ff9b::808:808]/",  # NAT64 of 8.8.8.8
    "https://oapi.dingtalk.com/robot/send?access_token=x",  # names are resolved later
]


@pytest.mark.parametrize("url", REFUSED)
def test_check_public_url_refuses(url: str) -> None:
    with pytest.raises(ValueError):
        check_public_url(url)


@pytest.mark.parametrize("url", ALLOWED)
def test_check_public_url_allows(url: str) -> None:
    check_public_url(url)


def fake_resolver(addresses: dict[str, list[str]]) -> Any:
    """A stand-in for the loop's getaddrinfo answering from a table."""

    async def getaddrinfo(host: str, port: int, **_: Any) -> list[Any]:
        if host not in addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (
                socket.AF_INET6 if ":" in ip else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (ip, port),
            )
            for ip in addresses[host]
        ]

    return getaddrinfo


async def test_ensure_public_url_checks_every_resolved_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = {
        "hooks.example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
        "rebind.example.com": ["93.184.215.14", "10.0.0.7"],
        "metadata.example.com": ["fe80::a9fe:a9fe"],
        "xn--fa-hia.de": ["192.168.0.1"],  # faß.de as httpx (IDNA 2008) will look it up
    }
    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", fake_resolver(table))
    await ensure_public_url("https://hooks.example.com/x")
    for host in ("rebind.example.com", "metadata.example.com", "faß.de"):
        with pytest.raises(ValueError, match="resolves to"):
            await ensure_public_url(f"https://{host}/x")
    with pytest.raises(OSError):
        await ensure_public_url("https://nowhere.example.com/x")
    with pytest.raises(SendError) as failed:
        await guard_url("https://nowhere.example.com/x", allow_private=False)
    assert not failed.value.permanent  # DNS trouble may pass
    with pytest.raises(SendError) as failed:
        await guard_url("https://rebind.example.com/x", allow_private=False)
    assert failed.value.permanent


async def test_localhost_resolves_to_loopback() -> None:
    with pytest.raises(ValueError):
        await ensure_public_url(f"http://localhost:{free_port()}/")


async def test_allow_private_still_requires_http() -> None:
    await guard_url("http://127.0.0.1:1/", allow_private=True)
    for url in ("file:///etc/passwd", "ftp://127.0.0.1/"):
        with pytest.raises(SendError) as failed:
            await guard_url(url, allow_private=True)
        assert failed.value.permanent


async def test_senders_refuse_private_urls_by_default(
    receiver: FakeWebhookReceiver, dingtalk: FakeDingTalkRobot, wecom: FakeWeComRobot
) -> None:
    webhook, ding, wecom_sender = WebhookSender(), DingTalkSender(), WeComSender()
    try:
        attempts = [
            webhook.send(webhook_alert(receiver)),
            ding.send(alert("dingtalk", dingtalk.url, secret=DINGTALK_SECRET)),
            wecom_sender.send(alert("wecom", wecom.url)),
            webhook.send(webhook_alert(receiver).model_copy(update={"to": "file:///etc/passwd"})),
        ]
        for attempt in attempts:
            with pytest.raises(SendError) as failed:
                await attempt
            assert failed.value.permanent and "refused URL" in str(failed.value)
    finally:
        for sender in (webhook, ding, wecom_sender):
            await sender.aclose()
    assert receiver.requests == dingtalk.requests == wecom.requests == []
