"""`/v1/inbound/sms/{provider}`: SMS replies (`1` / `收到`) acknowledge escalations, and
`/a/{token}`: the one-click acknowledgement link in a message."""

from __future__ import annotations

import hmac
from html import escape
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import TypeAdapter

from api.escalations.service import acknowledge_by_link, acknowledge_by_sms
from api.inbound.schemas import AliyunSmsUp, GenericSmsReply, InboundResult, TencentSmsReply
from api.kit.boundary import AppState, DbSession, get_state
from api.kit.errors import Unauthorized
from api.kit.i18n import Message
from api.kit.static import plain_page

router = APIRouter(tags=["inbound"])

ALIYUN_BATCH = TypeAdapter(list[AliyunSmsUp])


def _page(title: str, body: str) -> HTMLResponse:
    return plain_page(title, f"<h2>{escape(title)}</h2>{body}")


@router.get("/a/{token}", response_class=HTMLResponse)
async def ack_link_page(token: str) -> HTMLResponse:
    """The page behind a message's acknowledgement link: one button. A GET never
    acknowledges, because chat apps open links to preview them."""
    form = (
        f"<form method=post action='/a/{escape(token)}'>"
        "<button style='font-size:1.5em;padding:.5em 2em'>签收</button></form>"
    )
    return _page("签收督办", form)


@router.post(
    "/a/{token}",
    response_class=HTMLResponse,
    responses={409: {"description": "The link was already used, or has expired."}},
)
async def ack_link(token: str, session: DbSession) -> HTMLResponse:
    """Acknowledge the escalation of this link (no login; single use; expires)."""
    escalation = await acknowledge_by_link(session, token)
    return _page("已签收", f"<p>督办 {escape(str(escalation.id))[:8]} 已签收。</p>")


def _check_token(state: AppState, token: str) -> None:
    expected = state.settings.inbound_sms_token
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthorized(Message("Unknown inbound token."))


@router.post("/v1/inbound/sms/{provider}")
async def inbound_sms(
    provider: Literal["generic", "aliyun", "tencent"],
    session: DbSession,
    state: Annotated[AppState, Depends(get_state)],
    token: Annotated[str, Query(description="The INBOUND_SMS_TOKEN shared secret.")],
    payload: Annotated[Any, Body()],
) -> JSONResponse:
    """Provider push of SMS replies. A reply `1` or `收到` acknowledges the newest open
    escalation that alerted the sender. Answers in the provider's expected shape."""
    _check_token(state, token)
    replies: list[tuple[str, str]]
    if provider == "aliyun":
        batch = ALIYUN_BATCH.validate_python(payload)
        replies = [(r.phone_number, r.content) for r in batch]
    elif provider == "tencent":
        reply = TencentSmsReply.model_validate(payload)
        replies = [(f"+{reply.nationcode}{reply.mobile}", reply.text)]
    else:
        generic = GenericSmsReply.model_validate(payload)
        replies = [(generic.sender, generic.text)]
    acknowledged = 0
    for number, text in replies:
        if await acknowledge_by_sms(session, number, text) is not None:
            acknowledged += 1
    result = InboundResult(received=len(replies), acknowledged=acknowledged)
    if provider == "aliyun":
        return JSONResponse({"code": 0, "msg": "成功", **result.model_dump()})
    if provider == "tencent":
        return JSONResponse({"result": 0, "errmsg": "OK", **result.model_dump()})
    return JSONResponse(result.model_dump())
