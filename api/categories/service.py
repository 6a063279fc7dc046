"""The category vocabulary (信访事项分类): what registration, filters and figures accept and name.

Every registration checks its category, so a process keeps the vocabulary it last read and reads
it again after `KEPT_FOR`, or at once when a code it does not know (or knows as retired) is
asked for: a class added through another process is accepted at once; one retired through
another process may still be accepted here for up to `KEPT_FOR`, and stays a valid code with its
name either way (the database's foreign key holds every case to a known code).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from api.categories.repository import CategoryRepository
from api.categories.schemas import CategoryPut, CategoryRead
from api.categories.vocabulary import OTHER, UNCLASSIFIED
from api.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from api.kit.i18n import Message
from api.kit.uow import Resource, Slot, unit_of
from api.models.category import Category

# How long a process trusts the vocabulary it read: an engineering bound on how late a class
# retired elsewhere stops being offered here, not a rule of petition work.
KEPT_FOR = 30.0
# Codes the service itself files cases under: never retired.
SYSTEM_CODES = frozenset({OTHER, UNCLASSIFIED})


@dataclass(frozen=True)
class Vocabulary:
    """The vocabulary as read at one moment: codes to classes, in display order."""

    classes: dict[str, CategoryRead]

    @classmethod
    def of(cls, rows: Iterable[Category]) -> Vocabulary:
        """Order the rows: each top-level class, then the classes under it."""
        reads = [CategoryRead.model_validate(row) for row in rows]
        key = lambda c: (c.position, c.code)  # noqa: E731
        ordered: dict[str, CategoryRead] = {}
        for top in sorted((c for c in reads if c.parent is None), key=key):
            ordered[top.code] = top
            for child in sorted((c for c in reads if c.parent == top.code), key=key):
                ordered[child.code] = child
        return cls(classes=ordered)

    def accepts(self, code: str) -> bool:
        """Whether a new case may be filed under `code` (known, and it and its parent active)."""
        found = self.classes.get(code)
        if found is None or not found.active:
            return False
        return found.parent is None or self.classes[found.parent].active

    def name(self, code: str) -> str:
        """The Chinese name of `code` (the code itself if it is unknown here)."""
        found = self.classes.get(code)
        return found.name if found is not None else code

    def within(self, code: str) -> list[str]:
        """`code` and the classes under it: what a filter on `code` matches."""
        return [c for c, read in self.classes.items() if c == code or read.parent == code]

    def names(self, codes: Iterable[str]) -> dict[str, str]:
        """The Chinese names of these codes."""
        return {code: self.name(code) for code in codes}


class KeptVocabulary:
    """The vocabulary a process last read and when (shared by its requests, never changed in
    place: a new read replaces it)."""

    def __init__(self) -> None:
        self._vocabulary: Vocabulary | None = None
        self._read_at = 0.0

    def current(self) -> Vocabulary | None:
        """The kept vocabulary while it is fresh enough."""
        if self._vocabulary is None or time.monotonic() - self._read_at > KEPT_FOR:
            return None
        return self._vocabulary

    def keep(self, vocabulary: Vocabulary) -> None:
        """Keep `vocabulary`, read now."""
        self._vocabulary, self._read_at = vocabulary, time.monotonic()

    def forget(self) -> None:
        """Drop the kept copy (this process changed the vocabulary)."""
        self._vocabulary = None


KEPT_VOCABULARY: Resource[KeptVocabulary] = Resource("kept category vocabulary")
_READ: Slot[Vocabulary | None] = Slot("category vocabulary", lambda: None)


async def vocabulary(session: AsyncSession, *, fresh: bool = False) -> Vocabulary:
    """The vocabulary in force; `fresh` reads it from the database whatever is kept."""
    unit = unit_of(session)
    kept: KeptVocabulary | None = unit.resources.get(KEPT_VOCABULARY)
    if not fresh:
        read = unit.get(_READ)
        if read is not None:
            return read
        if kept is not None and (current := kept.current()) is not None:
            unit.put(_READ, current)
            return current
    read = Vocabulary.of(await CategoryRepository(session).all())
    if kept is not None:
        kept.keep(read)
    unit.put(_READ, read)
    return read


async def accepted_code(session: AsyncSession, code: str, pointer: str) -> str:
    """`code` if a new case (or screening item) may be filed under it; otherwise 422 naming the
    field. A code not known here is looked up again before it is refused."""
    if (await vocabulary(session)).accepts(code):
        return code
    if (await vocabulary(session, fresh=True)).accepts(code):
        return code
    raise InvalidInput(
        Message(
            "Unknown or retired category {code!r}: GET /v1/categories lists the codes.", code=code
        ),
        pointer=pointer,
    )


def check_text(code: str, text: str | None, pointer: str) -> None:
    """`category_text` belongs with `other` (the desk's own words), and `other` needs it."""
    if code == OTHER and not (text and text.strip()):
        raise InvalidInput(
            Message("Category 'other' needs category_text: what the matter is."), pointer=pointer
        )


async def filed_under(session: AsyncSession, text: str | None) -> tuple[str, str | None]:
    """Where a matter described by another system goes: its code if it names one we offer,
    otherwise `unclassified` with its words kept for the desk (`category_text`)."""
    if text is not None and (await vocabulary(session)).accepts(text):
        return text, None
    return UNCLASSIFIED, text


async def put(
    session: AsyncSession, code: str, body: CategoryPut, principal: Principal
) -> tuple[CategoryRead, bool]:
    """Add the class `code` (its parent is the part before the dot, which must exist as a
    top-level class) or change its names, order or whether it is offered (the deployment's
    admin only: every county files under one vocabulary). True when added."""
    if not principal.deployment_wide:
        raise Forbidden(Message("Only the deployment's admin may change the category vocabulary."))
    repo = CategoryRepository(session)
    found = await repo.get(code)
    created = found is None
    if found is None:
        parent = code.split(".", 1)[0] if "." in code else None
        if parent is not None:
            top = await repo.get(parent)
            if top is None:
                raise InvalidInput(
                    Message(
                        "Category {code!r} belongs under {parent!r}, which does not exist.",
                        code=code,
                        parent=parent,
                    ),
                    pointer="/code",
                )
        found = Category(code=code, parent=parent)
        repo.add(found)
    elif not body.active and code in SYSTEM_CODES:
        raise Conflict(
            Message(
                "Category {code!r} is where the service files cases; it stays active.", code=code
            )
        )
    found.name = body.name
    found.name_en = body.name_en
    found.position = body.position
    found.active = body.active
    await session.flush()
    unit = unit_of(session)
    unit.forget(_READ)
    kept: KeptVocabulary | None = unit.resources.get(KEPT_VOCABULARY)
    if kept is not None:
        unit.after_commit(_forgetting(kept))
    return CategoryRead.model_validate(found), created


def _forgetting(kept: KeptVocabulary) -> Callable[[], Awaitable[None]]:
    async def forget() -> None:
        kept.forget()

    return forget


async def get(session: AsyncSession, code: str) -> CategoryRead:
    """One class, or 404."""
    found = (await vocabulary(session)).classes.get(code)
    if found is None:
        found = (await vocabulary(session, fresh=True)).classes.get(code)
    if found is None:
        raise NotFound(Message("Category {code!r} does not exist.", code=code))
    return found
