"""Alibaba Cloud and Tencent Cloud SMS channels: the request signatures against the examples the
providers publish, and each sender against a local fake that verifies the real protocol.

No PostgreSQL or Redis is needed here.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from tests.fakes.aliyun_sms import FakeAliyunSms
from tests.fakes.tencent_sms import FakeTencentSms
from worker.channels import aliyun_sms, tencent_sms
from worker.channels.aliyun_sms import (
    AliyunSmsConfig,
    AliyunSmsSender,
    aliyun_phone_number,
    build_send_sms_request,
    sign_acs3_request,
)
from worker.channels.base import Outgoing, SendError
from worker.channels.tencent_sms import (
    TencentSmsConfig,
    TencentSmsSender,
    sign_tc3_request,
    tencent_phone_number,
)

TEXT = "【城关县信访】杨庄村 25 人到东风镇上访，请 20 分钟内到位 (a*b~c+d&e=f/g)"


def alert(to: str = "13900000001", text: str = TEXT) -> Outgoing:
    """An SMS alert with a fresh id, as it leaves the worker."""
    return Outgoing(alert_id=uuid.uuid4(), channel="sms", to=to, text=text)


# --- The signatures reproduce the providers' published examples ---------------------------------


def test_acs3_signature_reproduces_alibaba_cloud_example() -> None:
    # Vector: Alibaba Cloud SDK reference, "V3版本请求体&签名机制" / "Request syntax and signature
    # method V3", section "签名示例 / Signature examples → 固定参数示例 / Fixed parameter values"
    # (https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature,
    # English: https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature).
    signed = sign_acs3_request(
        method="POST",
        endpoint="https://ecs.cn-shanghai.aliyuncs.com",
        action="RunInstances",
        version="2014-05-26",
        query={
            "ImageId": "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
            "RegionId": "cn-shanghai",
        },
        body=b"",
        access_key_id="YourAccessKeyId",
        access_key_secret="YourAccessKeySecret",
        date=datetime(2023, 10, 26, 10, 22, 32, tzinfo=UTC),
        nonce="3156853299f313e23d1673dc12e1703d",
    )
    assert signed.canonical_request == (
        "POST\n"
        "/\n"
        "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai\n"
        "host:ecs.cn-shanghai.aliyuncs.com\n"
        "x-acs-action:RunInstances\n"
        "x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
        "x-acs-date:2023-10-26T10:22:32Z\n"
        "x-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\n"
        "x-acs-version:2014-05-26\n"
        "\n"
        "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert signed.string_to_sign == (
        "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
    )
    assert signed.signature == "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    assert signed.authorization == (
        "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;"
        "x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"
        "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    )
    assert signed.url == (
        "https://ecs.cn-shanghai.aliyuncs.com/"
        "?ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai"
    )


# The body of both Tencent examples: the escapes are literal bytes of the JSON, not the decoded
# 未命名, and the published hash is of these bytes.
TENCENT_EXAMPLE_PAYLOAD = (
    b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
)


def test_tc3_signature_reproduces_tencent_cloud_example() -> None:
    # Vector: TencentCloud API 3.0 "签名方法 v3" (in the SMS API docs under 调用方式; the
    # same page for every product, e.g. https://cloud.tencent.com/document/api/362/4208).
    # Its example masks the keys as "AKID" + 32 "*" and 32 "*", and the published derived keys
    # (SecretDate da98fb70…, SecretService 8d70cbef…, SecretSigning b596b923…) show that the
    # example was computed with those masked strings verbatim, so the whole chain reproduces.
    secret_key = "*" * 32
    signed = sign_tc3_request(
        secret_id="AKID" + "*" * 32,
        secret_key=secret_key,
        endpoint="https://cvm.tencentcloudapi.com",
        service="cvm",
        action="DescribeInstances",
        version="2017-03-12",
        payload=TENCENT_EXAMPLE_PAYLOAD,
        timestamp=1551113065,
        region="ap-guangzhou",
    )
    assert signed.canonical_request == (
        "POST\n"
        "/\n"
        "\n"
        "content-type:application/json; charset=utf-8\n"
        "host:cvm.tencentcloudapi.com\n"
        "x-tc-action:describeinstances\n"
        "\n"
        "content-type;host;x-tc-action\n"
        "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    )
    assert signed.string_to_sign == (
        "TC3-HMAC-SHA256\n"
        "1551113065\n"
        "2019-02-25/cvm/tc3_request\n"
        "7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84"
    )
    assert tencent_sms.tc3_signing_key(secret_key, "2019-02-25", "cvm").hex() == (
        "b596b923aad85185e2d1f6659d2a062e0a86731226e021e61bfe06f7ed05f5af"
    )
    assert signed.authorization == (
        "TC3-HMAC-SHA256 Credential=AKID********************************/2019-02-25/cvm/"
        "tc3_request, SignedHeaders=content-type;host;x-tc-action, "
        "Signature=10b1a37a7301a02ca19a647ad722d5e43b4b3cff309d421d85b46093f6ab6c4f"
    )
    assert signed.headers["x-tc-timestamp"] == "1551113065"
    assert signed.headers["x-tc-action"] == "DescribeInstances"
    assert signed.headers["x-tc-region"] == "ap-guangzhou"


def test_tc3_signature_reproduces_tencent_cloud_international_example() -> None:
    # Vector: the English "Signature v3" page of the international site (tencentcloud.com, one
    # copy per product, e.g. https://www.tencentcloud.com/document/api/1110/44085), which shows the
    # older revision of the same example: only content-type and host signed, SecretKey
    # "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", HashedCanonicalRequest 5ffe6a04…, Signature 72e494ea….
    signed = sign_tc3_request(
        secret_id="AKID**********************0123456789EXAMPLE",
        secret_key="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        endpoint="https://cvm.tencentcloudapi.com",
        service="cvm",
        action="DescribeInstances",
        version="2017-03-12",
        payload=TENCENT_EXAMPLE_PAYLOAD,
        timestamp=1551113065,
        sign_action=False,
    )
    assert signed.string_to_sign.endswith(
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    )
    assert signed.authorization == (
        "TC3-HMAC-SHA256 Credential=AKID**********************0123456789EXAMPLE/2019-02-25/cvm/"
        "tc3_request, SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    )


# --- Phone numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("13900000001", "13900000001"),
        ("+8613900000001", "13900000001"),
        ("008613900000001", "13900000001"),
        ("+86 139-0000-0001", "13900000001"),
        ("+85291234567", "85291234567"),
    ],
)
def test_aliyun_phone_numbers_drop_the_mainland_prefix(number: str, expected: str) -> None:
    assert aliyun_phone_number(number) == expected


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("13900000001", "+8613900000001"),
        ("+8613900000001", "+8613900000001"),
        ("008613900000001", "+8613900000001"),
        ("8613900000001", "+8613900000001"),
        ("139 0000 0001", "+8613900000001"),
        ("+85291234567", "+85291234567"),
    ],
)
def test_tencent_phone_numbers_are_e164(number: str, expected: str) -> None:
    assert tencent_phone_number(number) == expected


# --- Alibaba Cloud sender against the verifying fake ----------------------------------------------


@pytest.fixture
def aliyun_fake() -> Iterator[FakeAliyunSms]:
    fake = FakeAliyunSms().start()
    yield fake
    fake.stop()


def aliyun_config(fake: FakeAliyunSms, *, secret: str | None = None) -> AliyunSmsConfig:
    return AliyunSmsConfig(
        access_key_id=fake.access_key_id,
        access_key_secret=secret if secret is not None else fake.access_key_secret,
        sign_name="城关县信访",
        template_code="SMS_123456789",
        endpoint=fake.endpoint,
    )


@pytest.fixture
async def aliyun(aliyun_fake: FakeAliyunSms) -> AsyncIterator[AliyunSmsSender]:
    sender = AliyunSmsSender(aliyun_config(aliyun_fake), timeout=5.0)
    yield sender
    await sender.aclose()


async def test_aliyun_delivers_with_verified_signature_and_out_id(
    aliyun: AliyunSmsSender, aliyun_fake: FakeAliyunSms
) -> None:
    message = alert(to="+8613900000001")
    await aliyun.send(message)
    assert aliyun_fake.codes() == ["OK"]
    [params] = aliyun_fake.delivered()
    assert params["OutId"] == str(message.alert_id)
    assert params["PhoneNumbers"] == "13900000001"
    assert params["SignName"] == "城关县信访"
    assert params["TemplateCode"] == "SMS_123456789"
    assert params["TemplateParam"] == '{"content":"' + TEXT + '"}'


async def test_aliyun_template_param_name_is_configurable(aliyun_fake: FakeAliyunSms) -> None:
    config = AliyunSmsConfig(
        **{**aliyun_config(aliyun_fake).__dict__, "template_param_name": "msg"}
    )
    sender = AliyunSmsSender(config)
    try:
        await sender.send(alert(text="到位通知"))
    finally:
        await sender.aclose()
    assert aliyun_fake.delivered()[0]["TemplateParam"] == '{"msg":"到位通知"}'


async def test_aliyun_wrong_secret_is_permanent(aliyun_fake: FakeAliyunSms) -> None:
    sender = AliyunSmsSender(aliyun_config(aliyun_fake, secret="not-the-secret"))
    try:
        with pytest.raises(SendError) as failure:
            await sender.send(alert())
    finally:
        await sender.aclose()
    assert failure.value.permanent
    assert "SignatureDoesNotMatch" in str(failure.value)
    assert aliyun_fake.codes() == ["SignatureDoesNotMatch"]
    assert aliyun_fake.delivered() == []


async def test_aliyun_unknown_access_key_is_permanent(aliyun_fake: FakeAliyunSms) -> None:
    config = AliyunSmsConfig(**{**aliyun_config(aliyun_fake).__dict__, "access_key_id": "LTAIx"})
    sender = AliyunSmsSender(config)
    try:
        with pytest.raises(SendError) as failure:
            await sender.send(alert())
    finally:
        await sender.aclose()
    assert failure.value.permanent
    assert aliyun_fake.codes() == ["InvalidAccessKeyId.NotFound"]


async def test_aliyun_throttling_asks_to_retry_later(
    aliyun: AliyunSmsSender, aliyun_fake: FakeAliyunSms
) -> None:
    aliyun_fake.throttle_first = 1
    message = alert()
    with pytest.raises(SendError) as failure:
        await aliyun.send(message)
    assert failure.value.retry_after == 60.0
    assert not failure.value.permanent
    # The retry signs afresh: a replayed nonce would be refused (SignatureNonceUsed).
    await aliyun.send(message)
    assert aliyun_fake.codes() == ["isv.BUSINESS_LIMIT_CONTROL", "OK"]
    assert [p["OutId"] for p in aliyun_fake.delivered()] == [str(message.alert_id)]


async def test_aliyun_5xx_is_retryable(aliyun: AliyunSmsSender, aliyun_fake: FakeAliyunSms) -> None:
    aliyun_fake.fail_first = 1
    with pytest.raises(SendError) as failure:
        await aliyun.send(alert())
    assert not failure.value.permanent
    assert failure.value.retry_after is None
    await aliyun.send(alert())
    assert aliyun_fake.codes() == ["ServiceUnavailable", "OK"]


async def test_aliyun_invalid_number_is_permanent(aliyun: AliyunSmsSender) -> None:
    with pytest.raises(SendError) as failure:
        await aliyun.send(alert(to="12345"))
    assert failure.value.permanent
    assert "isv.MOBILE_NUMBER_ILLEGAL" in str(failure.value)


async def test_aliyun_transport_error_is_retryable() -> None:
    sender = AliyunSmsSender(
        AliyunSmsConfig("ak", "secret", "sign", "SMS_1", endpoint="http://127.0.0.1:9"),
        timeout=1.0,
    )
    try:
        with pytest.raises(SendError) as failure:
            await sender.send(alert())
    finally:
        await sender.aclose()
    assert not failure.value.permanent
    assert failure.value.retry_after is None


async def test_aliyun_fake_refuses_a_replayed_request(aliyun_fake: FakeAliyunSms) -> None:
    request = build_send_sms_request(
        aliyun_config(aliyun_fake), alert(), date=datetime.now(UTC), nonce=uuid.uuid4().hex
    )
    async with httpx.AsyncClient() as http:
        for _ in range(2):
            await http.post(request.url, headers=request.headers, content=request.body)
    assert aliyun_fake.codes() == ["OK", "SignatureNonceUsed"]


@pytest.mark.parametrize(
    ("code", "message", "status", "retry_after", "permanent"),
    [
        ("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1", 200, 60.0, False),
        ("isv.BUSINESS_LIMIT_CONTROL", "触发小时级流控Permits:5", 200, 3600.0, False),
        ("isv.BUSINESS_LIMIT_CONTROL", "触发天级流控Permits:10", 200, None, True),
        ("Throttling.User", "Request was denied due to user flow control.", 400, 1.0, False),
        ("isv.DAY_LIMIT_CONTROL", "触发日发送限额", 200, None, True),
        ("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板", 200, None, True),
        ("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名", 200, None, True),
        ("InvalidAccessKeyId.Inactive", "Specified access key is disabled.", 400, None, True),
        ("SignatureDoesNotMatch", "Specified signature is not matched", 400, None, True),
        ("isp.SYSTEM_ERROR", "系统错误", 200, None, False),
        ("SignatureNonceUsed", "Specified signature nonce was used already.", 400, None, False),
    ],
)
def test_aliyun_error_codes(
    code: str, message: str, status: int, retry_after: float | None, permanent: bool
) -> None:
    error = aliyun_sms.classify_error(code, message, status)
    assert (error.retry_after, error.permanent) == (retry_after, permanent)


# --- Tencent Cloud sender against the verifying fake ----------------------------------------------


@pytest.fixture
def tencent_fake() -> Iterator[FakeTencentSms]:
    fake = FakeTencentSms().start()
    yield fake
    fake.stop()


def tencent_config(fake: FakeTencentSms, *, secret: str | None = None) -> TencentSmsConfig:
    return TencentSmsConfig(
        secret_id=fake.secret_id,
        secret_key=secret if secret is not None else fake.secret_key,
        sdk_app_id=fake.sdk_app_id,
        sign_name="城关县信访",
        template_id="1234567",
        endpoint=fake.endpoint,
    )


@pytest.fixture
async def tencent(tencent_fake: FakeTencentSms) -> AsyncIterator[TencentSmsSender]:
    sender = TencentSmsSender(tencent_config(tencent_fake), timeout=5.0)
    yield sender
    await sender.aclose()


async def test_tencent_delivers_with_verified_signature_and_session_context(
    tencent: TencentSmsSender, tencent_fake: FakeTencentSms
) -> None:
    message = alert(to="13900000001")
    await tencent.send(message)
    assert tencent_fake.codes() == ["Ok"]
    [body] = tencent_fake.delivered()
    assert body == {
        "PhoneNumberSet": ["+8613900000001"],
        "SmsSdkAppId": tencent_fake.sdk_app_id,
        "SignName": "城关县信访",
        "TemplateId": "1234567",
        "TemplateParamSet": [TEXT],
        "SessionContext": str(message.alert_id),
    }
    headers = tencent_fake.requests[0].headers
    assert headers["x-tc-action"] == "SendSms"
    assert headers["x-tc-version"] == "2021-01-11"
    assert headers["x-tc-region"] == "ap-guangzhou"
    assert (
        "/sms/tc3_request, SignedHeaders=content-type;host;x-tc-action,"
        in (headers["authorization"])
    )


async def test_tencent_wrong_secret_is_permanent(tencent_fake: FakeTencentSms) -> None:
    sender = TencentSmsSender(tencent_config(tencent_fake, secret="not-the-secret"))
    try:
        with pytest.raises(SendError) as failure:
            await sender.send(alert())
    finally:
        await sender.aclose()
    assert failure.value.permanent
    assert "AuthFailure.SignatureFailure" in str(failure.value)
    assert tencent_fake.delivered() == []


async def test_tencent_throttling_asks_to_retry_later(
    tencent: TencentSmsSender, tencent_fake: FakeTencentSms
) -> None:
    tencent_fake.throttle_first = 1
    message = alert()
    with pytest.raises(SendError) as failure:
        await tencent.send(message)
    assert failure.value.retry_after == 30.0
    assert not failure.value.permanent
    await tencent.send(message)
    assert tencent_fake.codes() == ["LimitExceeded.PhoneNumberThirtySecondLimit", "Ok"]


async def test_tencent_5xx_is_retryable(
    tencent: TencentSmsSender, tencent_fake: FakeTencentSms
) -> None:
    tencent_fake.fail_first = 1
    with pytest.raises(SendError) as failure:
        await tencent.send(alert())
    assert not failure.value.permanent
    assert failure.value.retry_after is None
    await tencent.send(alert())
    assert tencent_fake.codes() == ["HTTP", "Ok"]


async def test_tencent_invalid_number_is_permanent(tencent: TencentSmsSender) -> None:
    with pytest.raises(SendError) as failure:
        await tencent.send(alert(to="12345"))
    assert failure.value.permanent
    assert "InvalidParameterValue.IncorrectPhoneNumber" in str(failure.value)


async def test_tencent_transport_error_is_retryable() -> None:
    config = TencentSmsConfig(
        "AKID", "key", "1400000001", "sign", "1", endpoint="http://127.0.0.1:9"
    )
    sender = TencentSmsSender(config, timeout=1.0)
    try:
        with pytest.raises(SendError) as failure:
            await sender.send(alert())
    finally:
        await sender.aclose()
    assert not failure.value.permanent


@pytest.mark.parametrize(
    ("code", "retry_after", "permanent"),
    [
        ("LimitExceeded.PhoneNumberThirtySecondLimit", 30.0, False),
        ("LimitExceeded.PhoneNumberOneHourLimit", 3600.0, False),
        ("LimitExceeded.DeliveryFrequencyLimit", 60.0, False),
        ("RequestLimitExceeded", 1.0, False),
        ("RequestLimitExceeded.UinLimitExceeded", 1.0, False),
        ("LimitExceeded.PhoneNumberDailyLimit", None, True),
        ("AuthFailure.SecretIdNotFound", None, True),
        ("AuthFailure.SignatureExpire", None, False),
        ("InvalidParameterValue.SdkAppIdNotExist", None, True),
        ("FailedOperation.TemplateIncorrectOrUnapproved", None, True),
        ("FailedOperation.SignatureIncorrectOrUnapproved", None, True),
        ("FailedOperation.PhoneNumberInBlacklist", None, True),
        ("UnauthorizedOperation.SerivceSuspendDueToArrears", None, True),
        ("InternalError.Timeout", None, False),
        ("InternalError", None, False),
    ],
)
def test_tencent_error_codes(code: str, retry_after: float | None, permanent: bool) -> None:
    error = tencent_sms.classify_error(code, "message")
    assert (error.retry_after, error.permanent) == (retry_after, permanent)
