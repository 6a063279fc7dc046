"""Every table, imported in one place for Alembic."""

from api.alerts.models import Alert
from api.audit.models import AuditEntry
from api.auth.models import RefreshToken, ServiceToken
from api.calendar.models import CalendarOverride
from api.cases.models import Arrival, Case, CaseEvent, CaseNumberCounter, CaseUnit
from api.db import Base
from api.deadlines.models import Deadline
from api.decisions.models import DecisionAssessment, DecisionCase
from api.escalations.models import Escalation
from api.events.models import WebhookSubscription
from api.follow_ups.models import FollowUp
from api.idempotency.models import IdempotencyRecord
from api.officials.models import Official
from api.outbox.models import OutboxMessage
from api.policies.models import PolicyDocument
from api.reception.models import (
    Appointment,
    FieldVisit,
    FieldVisitCase,
    FieldVisitDuty,
    RosterEntry,
)
from api.reports.models import SituationReport
from api.screening.models import ScreeningItem, ScreeningRound
from api.stats.models import CaseFacts, StatCounter
from api.units.models import Unit

__all__ = [
    "Alert",
    "Appointment",
    "Arrival",
    "AuditEntry",
    "Base",
    "CalendarOverride",
    "Case",
    "CaseEvent",
    "CaseFacts",
    "CaseNumberCounter",
    "CaseUnit",
    "Deadline",
    "DecisionAssessment",
    "DecisionCase",
    "Escalation",
    "FieldVisit",
    "FieldVisitCase",
    "FieldVisitDuty",
    "FollowUp",
    "IdempotencyRecord",
    "Official",
    "OutboxMessage",
    "PolicyDocument",
    "RefreshToken",
    "RosterEntry",
    "ScreeningItem",
    "ScreeningRound",
    "ServiceToken",
    "SituationReport",
    "StatCounter",
    "Unit",
    "WebhookSubscription",
]
