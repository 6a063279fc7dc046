"""The base of every policy section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Policy sections reject unknown keys so a typo is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid")
