"""A petitioner (信访人) as given and as shown: the person whose numbers are sealed."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from api.privacy.crypto import normalise_id_number

ID_NUMBER_PATTERN = r"^[0-9]{17}[0-9Xx]$"
PHONE_PATTERN = r"^\+?[0-9]{5,20}$"


class Petitioner(BaseModel):
    """A petitioner (信访人); representatives speak for a multi-person visit.

    The ID-card and phone numbers are stored encrypted and shown masked to roles that may not
    read personal data."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    id_number: str | None = Field(
        default=None, pattern=ID_NUMBER_PATTERN, description="Resident ID card number."
    )
    phone: str | None = Field(default=None, pattern=PHONE_PATTERN)
    address: str | None = Field(default=None, max_length=300)
    is_representative: StrictBool = False

    @field_validator("id_number")
    @classmethod
    def _upper_case_x(cls, value: str | None) -> str | None:
        return normalise_id_number(value) if value is not None else None


class PetitionerRead(BaseModel):
    """A petitioner as the caller may see them."""

    name: str
    id_number: str | None = Field(
        description="Resident ID card number; masked (`3201**********1234`) unless the caller's "
        "role may read personal data."
    )
    phone: str | None = Field(
        description="Masked (`138****0001`) unless the caller's role may read personal data."
    )
    address: str | None
    is_representative: bool
