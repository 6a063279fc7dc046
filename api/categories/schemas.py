"""The category vocabulary as the API shows and takes it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from api.models.category import CODE_PATTERN
from shared.jsontypes import JsonInt


class CategoryRead(BaseModel):
    """One class of petition matters (信访事项类别)."""

    model_config = ConfigDict(from_attributes=True)

    code: str = Field(description="Stable code: `land` (大类) or `land.acquisition` (小类).")
    parent: str | None = Field(description="The top-level class this one belongs to.")
    name: str = Field(description="The Chinese name shown to users (征地补偿).")
    name_en: str
    position: int = Field(description="Order among its siblings.")
    active: bool = Field(description="Offered for new registrations; retired codes keep names.")


class CategoryList(BaseModel):
    """The whole vocabulary, top-level classes each followed by theirs."""

    items: list[CategoryRead]


class CategoryPut(BaseModel):
    """A class to add, or the new state of one that exists (its parent never changes)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, description="Chinese name.")
    name_en: str = Field(min_length=1, max_length=128)
    position: JsonInt = Field(default=0, ge=0, le=10000)
    active: StrictBool = True


CODE_FIELD = Field(pattern=CODE_PATTERN, max_length=64)
