"""The policy document's shape and defaults (every number from SPEC lives here)."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.alerts.templates import FIELDS, check_template

PositiveDuration = Annotated[timedelta, Field(gt=timedelta(0), description="ISO 8601 duration")]


class StrictModel(BaseModel):
    """Policy sections reject unknown keys so a typo is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid")


class ArrivalPolicy(StrictModel):
    """On-scene arrival times and headcount thresholds (到位时限)."""

    chief: PositiveDuration = Field(
        default=timedelta(minutes=20),
        description="Village/area chief on the scene after the summons (seed 000 rule 3).",
    )
    staff: PositiveDuration = Field(
        default=timedelta(minutes=30),
        description="Petition staff of the unit concerned on the scene (seed 001 (二).1).",
    )
    leader: PositiveDuration = Field(
        default=timedelta(minutes=30),
        description="Deputy or chief of the lodged unit for large collective visits.",
    )
    deputy_headcount: int = Field(
        default=21, ge=1, description="From this headcount the deputy comes in person (>20)."
    )
    leader_headcount: int = Field(
        default=50, ge=1, description="From this headcount the main leader comes in person."
    )


class Recipient(StrEnum):
    """Who an escalation step notifies, relative to the missed deadline."""

    responsible = "responsible"
    unit_deputy = "unit_deputy"
    unit_chief = "unit_chief"
    next_unit_chief = "next_unit_chief"


class EscalationStep(StrictModel):
    """One step of an escalation chain."""

    notify: list[Recipient] = Field(min_length=1)
    after: timedelta = Field(default=timedelta(0), description="Delay after the previous step.")


class EscalationPolicy(StrictModel):
    """Escalation chains per deadline kind."""

    arrival: list[EscalationStep] = Field(
        default_factory=lambda: [EscalationStep(notify=[Recipient.next_unit_chief])],
        min_length=1,
    )


class Templates(StrictModel):
    """Chinese message templates; fields in braces are filled from the case and deadline."""

    summons: str = Field(
        default=(
            "【到位通知】{case_number}:{headcount}人到{lodged}上访({title})。"
            "请您于{due_local}前({within}内)到场接访,到场后签到。"
        )
    )
    arrival_missed: str = Field(
        default=(
            "【到位超时督办】{case_number}:{official_name}({unit_name}{role_name})"
            "未在{due_local}前到场接访({headcount}人,{lodged})。请立即督促处置。"
        )
    )

    @model_validator(mode="after")
    def _known_placeholders(self) -> Templates:
        for name in FIELDS:
            check_template(name, getattr(self, name))
        return self


class Policy(StrictModel):
    """The whole policy document (`GET/PUT /v1/policies`)."""

    arrival: ArrivalPolicy = Field(default_factory=ArrivalPolicy)
    collective_headcount: int = Field(
        default=5, ge=2, description="A visit of at least this many people is collective (集体访)."
    )
    max_representatives: int = Field(
        default=5, ge=1, description="Most representatives of a multi-person visit (条例 art. 20)."
    )
    escalation: EscalationPolicy = Field(default_factory=EscalationPolicy)
    templates: Templates = Field(default_factory=Templates)


class PolicyRead(BaseModel):
    """The current policy document with its version."""

    version: int
    policy: Policy
