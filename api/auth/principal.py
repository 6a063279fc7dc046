"""Who is behind a request: an official, their role and the territory they may reach."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from api.auth.permissions import Permission, may
from api.models.official import Role


@dataclass(frozen=True)
class Principal:
    """The authenticated official behind a request."""

    id: uuid.UUID
    role: Role
    unit_id: uuid.UUID | None
    client: str | None
    # The units whose matters the official may see and act on: their own unit's subtree
    # (属地管理). None means everywhere (the deployment's admin, who has no unit).
    reach: frozenset[uuid.UUID] | None = frozenset()
    # The login the access token belongs to (None for a service token).
    login_id: uuid.UUID | None = None
    # The higher office a `higher_office` service token speaks for.
    higher_office_id: uuid.UUID | None = None
    # An official of a city's or a province's bureau (市、省信访局) reads the cases of their
    # own units only (lodged with them, handed down by them), unless the policy grants them
    # their subtree's (`bureaus.read_subtree_cases`); their figures still cover the subtree.
    # None: the cases of the whole reach.
    bureau: frozenset[uuid.UUID] | None = None

    @property
    def case_reach(self) -> frozenset[uuid.UUID] | None:
        """The units whose cases the caller reads (None: every case)."""
        return self.bureau if self.bureau is not None else self.reach

    @property
    def deployment_wide(self) -> bool:
        """Whether the caller reaches the whole deployment (its admin: no unit), rather than
        one unit's subtree (a county's or a city's admin, everyone else)."""
        return self.reach is None

    def can(self, permission: Permission) -> bool:
        """Whether the official's role grants `permission` (see `GRANTS`)."""
        return may(self.role, permission)

    def reaches(self, unit_id: uuid.UUID | None) -> bool:
        """Whether the unit lies in the official's territory."""
        return self.reach is None or (unit_id is not None and unit_id in self.reach)
