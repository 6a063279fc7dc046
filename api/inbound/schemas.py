"""Inbound SMS bodies as each provider pushes them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class GenericSmsReply(BaseModel):
    """The generic gateway's push: one reply."""

    model_config = ConfigDict(populate_by_name=True)

    sender: str = Field(alias="from", min_length=3, max_length=32)
    text: str = Field(max_length=1000)


class AliyunSmsUp(BaseModel):
    """One element of Alibaba Cloud's SmsUp HTTP batch push."""

    model_config = ConfigDict(extra="allow")

    phone_number: str = Field(min_length=3, max_length=32)
    content: str = Field(max_length=1000)


class TencentSmsReply(BaseModel):
    """Tencent Cloud's reply callback (回复短信回调)."""

    model_config = ConfigDict(extra="allow")

    mobile: str = Field(min_length=3, max_length=32)
    nationcode: str = "86"
    text: str = Field(max_length=1000)


class InboundResult(BaseModel):
    """How many replies acknowledged an escalation."""

    received: int
    acknowledged: int
