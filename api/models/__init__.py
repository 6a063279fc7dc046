"""Every table, imported in one place for Alembic."""

from api.kit.db import Base
from api.models.alert import Alert
from api.models.audit import AuditEntry
from api.models.calendar import CalendarOverride
from api.models.case import Arrival, Case, CaseEvent, CaseNumberCounter, CaseUnit
from api.models.category import Category
from api.models.deadline import Deadline
from api.models.decision import DecisionAssessment, DecisionCase
from api.models.escalation import Escalation
from api.models.follow_up import FollowUp
from api.models.higher_office import HigherOffice
from api.models.idempotency import IdempotencyRecord
from api.models.material import Material, MaterialUpload
from api.models.notice import Notice, NoticeCounter
from api.models.official import Official
from api.models.onsite import OnsiteDuty
from api.models.outbox import OutboxMessage
from api.models.policy import PolicyChange, PolicyDocument, PolicyOverride
from api.models.reception import (
    Appointment,
    FieldVisit,
    FieldVisitCase,
    FieldVisitDuty,
    RosterEntry,
)
from api.models.report import SituationReport
from api.models.screening import ScreeningItem, ScreeningRound
from api.models.stats import CaseFacts, StatCounter
from api.models.subscription import WebhookSubscription
from api.models.token import Login, RefreshToken, ServiceToken
from api.models.unit import Unit

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
    "Category",
    "Deadline",
    "DecisionAssessment",
    "DecisionCase",
    "Escalation",
    "FieldVisit",
    "FieldVisitCase",
    "FieldVisitDuty",
    "FollowUp",
    "HigherOffice",
    "IdempotencyRecord",
    "Login",
    "Material",
    "MaterialUpload",
    "Notice",
    "NoticeCounter",
    "Official",
    "OnsiteDuty",
    "OutboxMessage",
    "PolicyChange",
    "PolicyDocument",
    "PolicyOverride",
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
