"""A search's query and hits, and the likely repeats of a matter."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.models.case import CaseStatus


class SearchQuery(BaseModel):
    """What to find, and which page of the hits."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field(
        min_length=1,
        max_length=200,
        description="Words to find, separated by spaces or punctuation; each must match. "
        "Chinese is matched by runs of characters (张三 拆迁), numbers and letters by words "
        "(2026 000123).",
        examples=["张三 拆迁补偿"],
    )
    limit: int = Field(default=20, ge=1, le=200, description="Hits per page (policy's cap).")
    offset: int = Field(default=0, ge=0, le=10000, description="Hits skipped (policy's cap).")


class SearchHit(BaseModel):
    """One case found, with why."""

    id: uuid.UUID = Field(description="The case's id.")
    number: str
    title: str
    status: CaseStatus
    received_at: datetime
    confidential: bool = Field(
        description="A confidential case (保密); only readers who may read its content find it."
    )
    rank: int = Field(description="Tokens of the query the case holds; title words count twice.")
    matched: list[str] = Field(
        description="Where the query's terms are found: title, content, demands, number, "
        "higher_reference, petitioner_name, petitioner_address."
    )


class SearchPage(BaseModel):
    """A page of hits, best first (then newest)."""

    items: list[SearchHit]
    terms: list[str] = Field(description="The query's terms as searched.")
    limit: int
    offset: int


class SimilarDraft(BaseModel):
    """A matter about to be registered: its title, content and where it arose (compared with
    the cases received within the policy's window of now)."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    content: str = Field(min_length=1, max_length=20000)
    origin_unit_id: uuid.UUID = Field(description="Where the matter arose (its village).")


class SimilarCase(BaseModel):
    """A likely repeat of the same matter: same origin, received within the policy's window,
    with words enough in common."""

    id: uuid.UUID = Field(description="The case's id.")
    number: str
    title: str
    status: CaseStatus
    received_at: datetime
    score: float = Field(description="Similarity of title and content, 0…1.")
    shared: int = Field(description="Tokens of title and content the two have in common.")
