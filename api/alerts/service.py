"""Alerts: creating them with the change that causes them, and recording delivery."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.alerts.repository import AlertRepository
from api.alerts.schemas import AlertQuery
from api.kit.db import utcnow
from api.kit.metrics import SMS_CAPPED, count_after_commit
from api.kit.uow import Resource, Slot, unit_of
from api.models.alert import Alert, AlertChannel, AlertStatus
from api.models.case import Reader
from api.models.official import Official
from api.officials.repository import OfficialRepository
from api.outbox.service import record_job, schedule
from api.policies.service import current_policy
from api.policies.templates import render
from shared.contracts import (
    AlertAddress,
    AlertMessage,
    BundleDue,
    deliver_alert_job_id,
    flush_bundle_job_id,
)
from shared.jobs import DELIVER_ALERT, FLUSH_BUNDLE
from shared.webhooks import shown_address

TITLES = {
    "summons": "到位通知",
    "escalation": "超时督办",
    "reminder": "时限提醒",
    "renotify": "督办回访",
    "reassigned": "改派通知",
    "dispute_expected": "答复异议提示",
}


def contacts_of(official: Official) -> list[dict[str, Any]]:
    """The official's contacts in priority order; their phone is the last resort for SMS."""
    contacts = [c for c in official.contacts if c.get("address")]
    if official.phone and not any(c.get("channel") == "sms" for c in contacts):
        contacts.append({"channel": "sms", "address": official.phone})
    return contacts


def message_of(alert: Alert) -> AlertMessage:
    """The job payload that delivers this alert."""
    return AlertMessage(
        alert_id=alert.id,
        channel=alert.channel.value,
        to=alert.recipient,
        text=alert.text,
        title=alert.title,
        event=alert.event,
        payload=alert.payload,
    )


def _queue(session: AsyncSession, alert: Alert) -> None:
    AlertRepository(session).add(alert)
    record_job(
        session,
        DELIVER_ALERT,
        deliver_alert_job_id(alert.id),
        [message_of(alert).model_dump(mode="json")],
    )


async def alert_official(
    session: AsyncSession,
    official: Official,
    *,
    purpose: str,
    template: str | None,
    fields: Mapping[str, Any],
    case_id: uuid.UUID | None,
    deadline_id: uuid.UUID | None = None,
    escalation_id: uuid.UUID | None = None,
    contact_index: int = 0,
) -> Alert:
    """Record an alert to the official on one of their contacts (the first by default) and its
    delivery job, in the current transaction.

    The text is the policy template `template` made for the contact's channel, filled with
    `fields` (`template` None: `fields["text"]` as it is). An official without any contact
    still gets an alert row, marked failed, so the gap shows.
    """
    contacts = contacts_of(official)
    alert = Alert(
        id=uuid.uuid4(),
        case_id=case_id,
        deadline_id=deadline_id,
        escalation_id=escalation_id,
        official_id=official.id,
        purpose=purpose,
        title=TITLES.get(purpose, "信访督办"),
        contact_index=contact_index,
        template=template,
        template_fields=dict(fields),
    )
    if contact_index >= len(contacts):
        alert.channel = AlertChannel.sms
        alert.recipient = ""
        alert.text = await _text(session, official.unit_id, "sms", template, fields)
        alert.status = AlertStatus.failed
        alert.last_error = "official has no contact"
        AlertRepository(session).add(alert)
        return alert
    contact = contacts[contact_index]
    alert.channel = AlertChannel(contact["channel"])
    alert.recipient = shown_address(str(contact["address"]))
    alert.text = await _text(session, official.unit_id, alert.channel.value, template, fields)
    if alert.channel is AlertChannel.webhook:
        alert.event = f"alert.{purpose}"
        alert.payload = _official_webhook_body(alert)
    if await _over_limit(session, alert):
        return alert  # held for the bundle; the cap applies when the bundle goes out
    if await _sms_capped(session, alert):
        await _fail_over(session, alert)
        return alert
    alert.status = AlertStatus.pending
    _queue(session, alert)
    return alert


async def _text(
    session: AsyncSession,
    unit_id: uuid.UUID | None,
    channel: str,
    template: str | None,
    fields: Mapping[str, Any],
) -> str:
    if template is None:
        return str(fields["text"])
    # the templates in force where the official is: a county may word its own messages
    templates = (await current_policy(session, unit_id)).policy.templates
    return render(templates.pick(channel, template), fields)


def _official_webhook_body(alert: Alert) -> dict[str, Any]:
    """What an official's own system receives (Standard Webhooks, signed with the contact's
    secret): the message and the ids to look it up, nothing about the petitioners."""
    return {
        "type": alert.event,
        "timestamp": utcnow().isoformat(),
        "data": {
            "alert_id": str(alert.id),
            "official_id": str(alert.official_id),
            "title": alert.title,
            "text": alert.text,
            "case_id": str(alert.case_id) if alert.case_id else None,
            "deadline_id": str(alert.deadline_id) if alert.deadline_id else None,
            "escalation_id": str(alert.escalation_id) if alert.escalation_id else None,
        },
    }


RATE_COUNTS: Slot[dict[tuple[str, str], int]] = Slot("alerts per recipient and window", dict)


async def prefetch_rate_counts(session: AsyncSession, officials: Iterable[Official]) -> None:
    """Count the recent alerts of these officials' first contacts in one query, so a batch of
    escalations applies the rate limit without a query (and a flush) per recipient."""
    unit = unit_of(session)
    counts: dict[tuple[str, str], int] = unit.get(RATE_COUNTS)
    sms_counts: dict[str, int] = unit.get(SMS_COUNTS)
    keys: set[tuple[AlertChannel, str]] = set()
    numbers: set[tuple[AlertChannel, str]] = set()
    for official in officials:
        contacts = contacts_of(official)
        if contacts:
            key = (AlertChannel(contacts[0]["channel"]), str(contacts[0]["address"]))
            if (key[0].value, key[1]) not in counts:
                keys.add(key)
            if key[0] is AlertChannel.sms and key[1] not in sms_counts:
                numbers.add(key)
    if not keys and not numbers:
        return
    limits = (await current_policy(session)).policy.alerts
    await session.flush()  # alerts already staged in this transaction count too
    repo, now = AlertRepository(session), utcnow()
    # and the SMS cap's own window (`_sms_capped`), else a flush and a count per number
    in_window, capped = await repo.count_recent_in_two_windows(
        keys, now - limits.window, numbers, now - limits.sms_cap_window
    )
    for (channel, recipient), count in in_window.items():
        counts[(channel.value, recipient)] = count
    for (_, number), count in capped.items():
        sms_counts[number] = count


SMS_COUNTS: Slot[dict[str, int]] = Slot("SMS per number in the cap window", dict)


async def _sms_capped(session: AsyncSession, alert: Alert) -> bool:
    """Whether the alert is an SMS to a number that already had the policy's cap in the cap
    window; if so the alert is marked failed and not sent."""
    if alert.channel is not AlertChannel.sms:
        return False
    limits = (await current_policy(session)).policy.alerts
    counts: dict[str, int] = unit_of(session).get(SMS_COUNTS)
    if alert.recipient not in counts:
        await session.flush()
        counts[alert.recipient] = await AlertRepository(session).count_recent(
            AlertChannel.sms, alert.recipient, utcnow() - limits.sms_cap_window
        )
    if counts[alert.recipient] < limits.sms_cap:
        counts[alert.recipient] += 1
        return False
    alert.status = AlertStatus.failed
    alert.last_error = (
        f"SMS cap reached: {limits.sms_cap} per {limits.sms_cap_window} to this number"
    )
    count_after_commit(session, SMS_CAPPED.inc)
    return True


async def _fail_over(session: AsyncSession, alert: Alert) -> None:
    """A capped alert is failed like an undeliverable one: kept as a row so the gap shows,
    and handed to the rooms that act on a failed alert (`alert_failed`)."""
    AlertRepository(session).add(alert)
    await session.flush()
    await alert_failed(session, alert, gone=False)


FailureHandler = Callable[[AsyncSession, Alert, bool], Awaitable[None]]
"""What a room does when an alert failed for good (the alert, and whether the receiver said
its endpoint is gone): registered when the app starts (`ALERT_FAILED`)."""

ALERT_FAILED: Resource[Sequence[FailureHandler]] = Resource("handlers of failed alerts")
"""The handlers the app gives every session: an official's alert fails over to their next
contact or up the chain (`api.escalations`), a subscriber's gone endpoint is disabled
(`api.events`). Alerts know neither."""


async def alert_failed(session: AsyncSession, alert: Alert, *, gone: bool) -> None:
    """Hand an alert that failed for good to every registered handler, in order."""
    for handler in unit_of(session).resources.get(ALERT_FAILED, ()):
        await handler(session, alert, gone)


async def _over_limit(session: AsyncSession, alert: Alert) -> bool:
    """Past the recipient's limit in the current window, hold the alert for the window's
    bundle (one message instead of a storm) and schedule that bundle."""
    limits = (await current_policy(session)).policy.alerts
    now = utcnow()
    repo = AlertRepository(session)
    # Counted once per transaction and recipient, then kept up to date here: a sweep that
    # escalates hundreds of deadlines must not query (and flush) for every alert.
    counts: dict[tuple[str, str], int] = unit_of(session).get(RATE_COUNTS)
    key = (alert.channel.value, alert.recipient)
    if key not in counts:
        await session.flush()
        counts[key] = await repo.count_recent(alert.channel, alert.recipient, now - limits.window)
    if counts[key] < limits.max_per_window:
        counts[key] += 1
        return False
    alert.status = AlertStatus.bundled
    repo.add(alert)
    span = limits.window.total_seconds()
    bucket_end = (now.timestamp() // span + 1) * span
    schedule(
        session,
        FLUSH_BUNDLE,
        BundleDue(channel=alert.channel.value, recipient=alert.recipient),
        flush_bundle_job_id(alert.channel.value, alert.recipient, int(bucket_end)),
        defer_until=datetime.fromtimestamp(bucket_end, UTC),
        carry_request_id=False,
    )
    return True


async def flush_bundle(session: AsyncSession, channel: str, recipient: str) -> Alert | None:
    """Send the alerts held for a recipient as one bundle alert (汇总提醒); None if none."""
    held = list(await AlertRepository(session).claim_bundled(AlertChannel(channel), recipient))
    if not held:
        return None
    first = held[0]
    policy = (await current_policy(session)).policy
    numbers = sorted(
        await AlertRepository(session).case_numbers({a.case_id for a in held if a.case_id})
    )
    fields = {"count": len(held), "case_numbers": "、".join(numbers) or "(无案件编号)"}
    text = render(policy.templates.pick(channel, "bundle"), fields)
    bundle = Alert(
        id=uuid.uuid4(),
        official_id=first.official_id,
        purpose="bundle",
        channel=first.channel,
        recipient=recipient,
        contact_index=first.contact_index,
        text=text,
        template="bundle",
        template_fields=fields,
        title="信访汇总",
        status=AlertStatus.pending,
    )
    if bundle.channel is AlertChannel.webhook:
        bundle.event = "alert.bundle"
        bundle.payload = _official_webhook_body(bundle)
    if await _sms_capped(session, bundle):
        await _fail_over(session, bundle)
    else:
        _queue(session, bundle)
    await session.flush()
    for alert in held:
        alert.bundle_id = bundle.id
    await session.flush()
    return bundle


async def alert_webhook(
    session: AsyncSession,
    *,
    alert_id: uuid.UUID,
    url: str,
    event: str,
    payload: dict[str, Any],
    subscription_id: uuid.UUID,
    case_id: uuid.UUID | None,
) -> Alert:
    """Record a signed webhook delivery of an event to a subscriber (its URL and secret are
    read from the subscription when the worker sends it)."""
    alert = Alert(
        id=alert_id,
        case_id=case_id,
        subscription_id=subscription_id,
        purpose="event",
        channel=AlertChannel.webhook,
        recipient=shown_address(url),
        text=event,
        event=event,
        payload=payload,
        status=AlertStatus.pending,
    )
    _queue(session, alert)
    return alert


async def stale_pending_messages(
    session: AsyncSession, older_than: datetime, limit: int = 500
) -> list[AlertMessage]:
    """Pending alerts nobody touched for a while (their job may be lost); touched now."""
    alerts = await AlertRepository(session).claim_stale_pending(older_than, limit)
    now = utcnow()
    for alert in alerts:
        alert.updated_at = now
    await session.flush()
    return [message_of(a) for a in alerts]


async def list_alerts(
    session: AsyncSession, query: AlertQuery, reader: Reader
) -> tuple[list[Alert], str | None]:
    """A page of the alerts the official may see."""
    return await AlertRepository(session).list(query, reader)


async def addresses(session: AsyncSession, alert_ids: Sequence[uuid.UUID]) -> list[AlertAddress]:
    """Where these alerts really go and the secret that signs them, read now for the
    worker's attempt (never queued or stored with the alert): a subscriber's URL and secret,
    or the official's contact the alert was made for. An alert whose receiver is gone (the
    subscription deleted, the contact removed) is left out."""
    repo = AlertRepository(session)
    alerts = await repo.get_many(alert_ids)
    subscriptions = await repo.subscriptions(
        {a.subscription_id for a in alerts if a.subscription_id}
    )
    officials = await OfficialRepository(session).get_many(
        {a.official_id for a in alerts if a.official_id}
    )
    found: list[AlertAddress] = []
    for alert in alerts:
        if alert.subscription_id is not None:
            subscription = subscriptions.get(alert.subscription_id)
            if subscription is not None:
                found.append(
                    AlertAddress(alert_id=alert.id, to=subscription.url, secret=subscription.secret)
                )
            continue
        official = officials.get(alert.official_id) if alert.official_id else None
        contact = _contact_of(official, alert) if official is not None else None
        if contact is not None:
            found.append(
                AlertAddress(
                    alert_id=alert.id, to=str(contact["address"]), secret=contact.get("secret")
                )
            )
    return found


def _contact_of(official: Official, alert: Alert) -> dict[str, Any] | None:
    """The official's contact the alert went to: on its channel, at the address it shows (an
    alert stored before addresses were shown without their tokens names it whole)."""
    for contact in contacts_of(official):
        address = str(contact["address"])
        if contact.get("channel") == alert.channel.value and alert.recipient in (
            shown_address(address),
            address,
        ):
            return contact
    return None
