"""Which sender serves which channel, from the settings."""

from __future__ import annotations

from shared.settings import Settings
from worker.channels.aliyun_sms import AliyunSmsConfig, AliyunSmsSender
from worker.channels.base import Sender
from worker.channels.dingtalk import DingTalkSender
from worker.channels.sms_gateway import HttpGatewaySender, LogSender
from worker.channels.tencent_sms import TencentSmsConfig, TencentSmsSender
from worker.channels.webhook import WebhookSender
from worker.channels.wecom import WeComSender


def sms_sender(settings: Settings) -> Sender:
    """The SMS provider the settings choose."""
    provider = settings.sms_provider
    if provider == "auto":
        provider = "generic" if settings.sms_gateway_url else "log"
    timeout = settings.sms_timeout_seconds
    connections = settings.worker_send_concurrency
    if provider == "generic":
        return HttpGatewaySender(settings.sms_gateway_url, timeout, connections=connections)
    if provider == "aliyun":
        return AliyunSmsSender(
            AliyunSmsConfig(
                access_key_id=settings.aliyun_access_key_id,
                access_key_secret=settings.aliyun_access_key_secret,
                sign_name=settings.aliyun_sms_sign_name,
                template_code=settings.aliyun_sms_template_code,
                endpoint=settings.aliyun_sms_endpoint,
            ),
            timeout=timeout,
            connections=connections,
        )
    if provider == "tencent":
        return TencentSmsSender(
            TencentSmsConfig(
                secret_id=settings.tencent_secret_id,
                secret_key=settings.tencent_secret_key,
                sdk_app_id=settings.tencent_sms_sdk_app_id,
                sign_name=settings.tencent_sms_sign_name,
                template_id=settings.tencent_sms_template_id,
                region=settings.tencent_sms_region,
                endpoint=settings.tencent_sms_endpoint,
            ),
            timeout=timeout,
            connections=connections,
        )
    return LogSender()


def build_senders(settings: Settings) -> dict[str, Sender]:
    """One sender per channel; each owns its connection pool (closed in `on_shutdown`)."""
    private = settings.webhooks_allow_private
    return {
        "sms": sms_sender(settings),
        "webhook": WebhookSender(allow_private=private),
        "dingtalk": DingTalkSender(allow_private=private),
        "wecom": WeComSender(allow_private=private),
    }
