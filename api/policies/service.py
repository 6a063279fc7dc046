"""Reading and changing the policy: the deployment's document and the units' overrides.

The effective policy of a unit (its county's arrival time, its city's veto thresholds …) is the
deployment's document with the overrides of the unit's ancestors laid over it, the nearest
last: each override names only the values it changes (a partial document), merged key by key
into the sections above it; a list is replaced whole. A change applies from the next
transaction on: deadlines already opened keep the due time they were given.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from api.kit.errors import Forbidden, InvalidInput, NotFound
from api.kit.i18n import Message
from api.kit.pagination import ListQuery
from api.kit.uow import Resource, Slot, unit_of
from api.models.policy import PolicyChange
from api.models.unit import Unit
from api.policies.repository import PolicyRepository
from api.policies.schemas import Policy, PolicyRead, PolicySource, UnitPolicyRead
from api.units.repository import UnitRepository
from api.units.service import get_unit, known_units

T = TypeVar("T")


@dataclass(frozen=True)
class Override:
    """What one unit sets for its subtree."""

    unit_id: uuid.UUID
    document: dict[str, Any]
    version: int


class PolicyState:
    """The policy of one generation as a process parsed it: the deployment's document, every
    unit's override, and each effective policy once computed. Shared by every request of the
    process, so never changed in place (a change is a new generation)."""

    def __init__(
        self, version: int, document: dict[str, Any] | None, overrides: Sequence[Override]
    ) -> None:
        self.version = version
        self.saved = document is not None
        policy = Policy() if document is None else Policy.model_validate(document)
        self.deployment = PolicyRead(version=version, policy=policy)
        self.document = policy.model_dump(mode="json")
        self.overrides = {o.unit_id: o for o in overrides}
        self._effective: dict[tuple[uuid.UUID, ...], PolicyRead] = {}

    def applicable(self, chain: Sequence[Unit]) -> tuple[uuid.UUID, ...]:
        """The units of a chain up the tree (nearest first) that override something, top
        first: the order their overrides are laid over the document."""
        return tuple(u.id for u in reversed(chain) if u.id in self.overrides)

    def effective(self, applicable: tuple[uuid.UUID, ...]) -> PolicyRead:
        """The policy in force under these overrides (top first)."""
        if not applicable:
            return self.deployment
        read = self._effective.get(applicable)
        if read is None:
            merged = merge(self.document, *(self.overrides[u].document for u in applicable))
            read = PolicyRead(version=self.version, policy=Policy.model_validate(merged))
            self._effective[applicable] = read
        return read


POLICY_STATE: Slot[PolicyState | None] = Slot("policy in force", lambda: None)


class ParsedPolicy:
    """The last policy generation a process parsed: the document changes a few times a year
    and validating it was half a registration's CPU (issue 22)."""

    def __init__(self) -> None:
        self._state: PolicyState | None = None

    def of_version(self, version: int) -> PolicyState | None:
        """The parsed generation `version`, if it is the one kept."""
        state = self._state
        return state if state is not None and state.version == version else None

    def keep(self, state: PolicyState) -> None:
        """Keep `state` as the latest parsed."""
        self._state = state


PARSED_POLICY: Resource[ParsedPolicy] = Resource("parsed policy")


def merge(document: Mapping[str, Any], *overrides: Mapping[str, Any]) -> dict[str, Any]:
    """`document` with each override laid over it in turn: objects merged key by key, any
    other value (a number, a string, a list) replaced."""
    merged = copy.deepcopy(dict(document))
    for override in overrides:
        _lay_over(merged, override)
    return merged


def _lay_over(target: dict[str, Any], override: Mapping[str, Any]) -> None:
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _lay_over(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def leaves(document: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """The JSON pointers of the values a (partial) document sets."""
    for key, value in document.items():
        pointer = f"{prefix}/{str(key).replace('~', '~0').replace('/', '~1')}"
        if isinstance(value, Mapping) and value:
            yield from leaves(value, pointer)
        else:
            yield pointer


async def _state(session: AsyncSession) -> PolicyState:
    """This transaction's policy generation: one statement (its version) when the process
    already parsed it, the document and the overrides again when it changed."""
    unit = unit_of(session)
    cached = unit.get(POLICY_STATE)
    if cached is not None:
        return cached
    repo = PolicyRepository(session)
    parsed: ParsedPolicy | None = unit.resources.get(PARSED_POLICY)
    state = parsed.of_version(await repo.version() or 0) if parsed is not None else None
    if state is None:
        state = await _load(repo)
        if parsed is not None:
            parsed.keep(state)
    unit.put(POLICY_STATE, state)
    return state


async def _load(repo: PolicyRepository) -> PolicyState:
    row = await repo.get()
    overrides = [Override(o.unit_id, o.document, o.version) for o in await repo.overrides()]
    if row is None:
        return PolicyState(0, None, overrides)
    return PolicyState(row.version, row.document, overrides)


async def current_policy(session: AsyncSession, unit_id: uuid.UUID | None = None) -> PolicyRead:
    """The policy in force: for `unit_id`, that unit's (the overrides up its tree laid over the
    deployment's document); without, the deployment's document (or the built-in defaults).

    Read once per transaction; where no unit overrides anything (a one-county deployment)
    a unit costs nothing more, else its ancestry (kept per transaction)."""
    state = await _state(session)
    if unit_id is None or not state.overrides:
        return state.deployment
    chain = await UnitRepository(session).ancestry(unit_id)
    return state.effective(state.applicable(chain))


async def policies_for(
    session: AsyncSession, unit_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Policy]:
    """The policy in force for each unit (a batch of deadlines across counties): without
    overrides no query, else the units' ancestries in one."""
    state = await _state(session)
    if not state.overrides:
        return dict.fromkeys(unit_ids, state.deployment.policy)
    units = UnitRepository(session)
    await units.prefetch_ancestry(unit_ids)
    return {u: state.effective(state.applicable(await units.ancestry(u))).policy for u in unit_ids}


@dataclass(frozen=True)
class PolicyTerritory:
    """Where one policy holds: at and below `root` (None: the whole deployment), except at and
    below the units of `cut` (which override it)."""

    policy: Policy
    root: uuid.UUID | None
    cut: frozenset[uuid.UUID]


async def policy_territories(session: AsyncSession) -> list[PolicyTerritory]:
    """The deployment cut into the territories of its policies, for work done for every unit
    at once (the sweep opening report deadlines): one territory, the whole deployment, where
    no unit overrides anything."""
    state = await _state(session)
    overridden = frozenset(state.overrides)
    found = [PolicyTerritory(state.deployment.policy, None, overridden)]
    if not overridden:
        return found
    units = UnitRepository(session)
    await units.prefetch_ancestry(overridden)
    chains = {u: await units.ancestry(u) for u in overridden}
    for unit_id, chain in chains.items():
        below = frozenset(
            other
            for other, up in chains.items()
            if other != unit_id and unit_id in {u.id for u in up}
        )
        policy = state.effective(state.applicable(chain)).policy
        found.append(PolicyTerritory(policy, unit_id, below))
    return found


def grouped_by_policy(
    items: Sequence[T], policies: Mapping[uuid.UUID, Policy], unit_of_item: Callable[[T], uuid.UUID]
) -> list[tuple[Policy, list[T]]]:
    """`items` in groups of one policy each, in their order (one group where no unit
    overrides anything)."""
    groups: dict[int, tuple[Policy, list[T]]] = {}
    for item in items:
        policy = policies[unit_of_item(item)]
        groups.setdefault(id(policy), (policy, []))[1].append(item)
    return list(groups.values())


async def bureau_reads_subtree(session: AsyncSession, unit_id: uuid.UUID) -> bool:
    """Whether the officials of a city's or a province's unit read every case of its
    subtree (`bureaus.read_subtree_cases` of that unit's policy)."""
    return (await current_policy(session, unit_id)).policy.bureaus.read_subtree_cases


async def replace_policy(session: AsyncSession, policy: Policy, principal: Principal) -> PolicyRead:
    """Store a new deployment document (the deployment's admin only); sections left out take
    their defaults; every unit's policy must still hold under it (422 naming the unit)."""
    if not principal.deployment_wide:
        raise Forbidden(
            Message(
                "Only the deployment's admin may change the deployment's policy; "
                "set your unit's own values under /v1/policies/units/."
            )
        )
    repo = PolicyRepository(session)
    before = await _state(session)
    document = policy.model_dump(mode="json")
    trial = PolicyState(before.version + 1, document, list(before.overrides.values()))
    await _check_every_override(session, trial, pointer="")
    row = await repo.next_generation(principal.id)
    row.document = document
    repo.record_change(row.version, None, document, principal.id)
    await session.flush()
    state = PolicyState(row.version, document, list(before.overrides.values()))
    unit_of(session).put(POLICY_STATE, state)
    return state.deployment


async def unit_policy(
    session: AsyncSession, unit_id: uuid.UUID, principal: Principal
) -> UnitPolicyRead:
    """The policy in force for a unit the caller may look up, with where each value that
    differs from the deployment's document comes from."""
    unit = await get_unit(session, unit_id, principal)
    return await _unit_read(session, await _state(session), unit)


async def _unit_read(session: AsyncSession, state: PolicyState, unit: Unit) -> UnitPolicyRead:
    chain = await UnitRepository(session).ancestry(unit.id)
    applicable = state.applicable(chain)
    by_id = {u.id: u for u in chain}
    set_by: dict[str, Unit] = {}
    for unit_id in applicable:  # top first: a nearer unit's value wins
        for pointer in leaves(state.overrides[unit_id].document):
            set_by[pointer] = by_id[unit_id]
    own = state.overrides.get(unit.id)
    return UnitPolicyRead(
        unit_id=unit.id,
        version=state.version,
        policy=state.effective(applicable).policy,
        override=own.document if own is not None else None,
        sources=[
            PolicySource(pointer=p, unit_id=u.id, unit_name=u.name, level=u.level)
            for p, u in sorted(set_by.items())
        ],
        deployment_saved=state.saved,
    )


async def set_override(
    session: AsyncSession, unit_id: uuid.UUID, document: dict[str, Any], principal: Principal
) -> UnitPolicyRead:
    """Set the values a unit of the caller's territory overrides for its subtree (replacing
    what it set before). The unit's policy and every policy below it must still be valid
    (422 at the value's pointer, or naming the unit below that would break)."""
    unit = await _managed_unit(session, unit_id, principal)
    if not document:
        raise InvalidInput(
            Message("An override sets at least one value; to drop it, DELETE it."), pointer=""
        )
    before = await _state(session)
    overrides = {**before.overrides, unit.id: Override(unit.id, document, before.version + 1)}
    trial = PolicyState(before.version + 1, _saved(before), list(overrides.values()))
    chain = await UnitRepository(session).ancestry(unit.id)
    trial.effective(trial.applicable(chain))  # a ValidationError: 422 at the value's pointer
    await _check_every_override(session, trial, pointer="", below=unit.id)
    return await _commit_overrides(session, before, overrides, unit, document, principal)


async def drop_override(
    session: AsyncSession, unit_id: uuid.UUID, principal: Principal
) -> UnitPolicyRead:
    """Remove a unit's override: its subtree follows the units above it again (404 when it
    set nothing)."""
    unit = await _managed_unit(session, unit_id, principal)
    before = await _state(session)
    if unit.id not in before.overrides:
        raise NotFound(Message("Unit {unit_id} overrides no policy value.", unit_id=unit.id))
    overrides = {k: v for k, v in before.overrides.items() if k != unit.id}
    trial = PolicyState(before.version + 1, _saved(before), list(overrides.values()))
    await _check_every_override(session, trial, pointer="", below=unit.id)
    return await _commit_overrides(session, before, overrides, unit, None, principal)


async def _commit_overrides(
    session: AsyncSession,
    before: PolicyState,
    overrides: dict[uuid.UUID, Override],
    unit: Unit,
    document: dict[str, Any] | None,
    principal: Principal,
) -> UnitPolicyRead:
    """Write a unit's override (`document`, or its removal: None) as the policy's next
    generation, record the change, and read the unit's policy in force as it now stands."""
    repo = PolicyRepository(session)
    row = await repo.next_generation(principal.id)
    if document is None:
        await repo.drop_override(unit.id)
    else:
        await repo.save_override(unit.id, document, row.version, principal.id)
    repo.record_change(row.version, unit.id, document, principal.id)
    await session.flush()
    state = PolicyState(row.version, _saved(before), list(overrides.values()))
    unit_of(session).put(POLICY_STATE, state)
    return await _unit_read(session, state, unit)


async def policy_changes(
    session: AsyncSession, query: ListQuery, principal: Principal
) -> tuple[list[PolicyChange], str | None]:
    """A page of the policy's history, newest first: the deployment's document, and the
    overrides of the units the caller may look up."""
    units = await known_units(session, principal)
    return await PolicyRepository(session).changes(query, units, deployment=True)


def _saved(state: PolicyState) -> dict[str, Any] | None:
    return state.document if state.saved else None


async def _managed_unit(session: AsyncSession, unit_id: uuid.UUID, principal: Principal) -> Unit:
    unit = await UnitRepository(session).get(unit_id)
    if unit is None or not principal.reaches(unit.id):
        raise NotFound(Message("Unit {unit_id} does not exist.", unit_id=unit_id))
    return unit


async def _check_every_override(
    session: AsyncSession, trial: PolicyState, *, pointer: str, below: uuid.UUID | None = None
) -> None:
    """Every unit that overrides something (under `below`, or anywhere) must still have a
    valid policy in `trial`: a change above must not break a county's values."""
    units = UnitRepository(session)
    await units.prefetch_ancestry(trial.overrides)
    for unit_id in trial.overrides:
        chain = await units.ancestry(unit_id)
        if below is not None and below not in {u.id for u in chain}:
            continue
        try:
            trial.effective(trial.applicable(chain))
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InvalidInput(
                Message(
                    "The policy of unit {unit_name} would no longer be valid: {error}",
                    unit_name=chain[0].name if chain else str(unit_id),
                    error=first.get("msg", ""),
                ),
                pointer=pointer,
                unit_id=str(unit_id),
            ) from exc
