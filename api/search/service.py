"""Finding a case (issue 21 §3): full-text search in Chinese, and likely repeats of a matter.

Search: the query is cut like the cases' text (`api.cases.search_tokens`); each of its terms
must be found in the case, in clear (title, content, demands, numbers) or as a keyed hash
(petitioners' names and addresses); hits are ranked by how many of the query's tokens the case
holds (title words count twice), then newest first. Only cases in the caller's territory and
not about them (`readable_by`) are searched.

A confidential case (保密) is found only by those who may read its content
(`Disclosure.reads_content`): a hit without content would still tell anybody who searches a
name, a place or a matter that a confidential case about it exists, which is what
confidentiality hides; such a reader finds the case by its number in the case list, as before.

Likely repeats (重复信访 by the matter, not by the number): cases of the same origin unit
received within the policy's window whose title and content share enough bigrams with the
matter (`search.similar_*`). Read by the desk before registering (`POST /v1/search/similar`)
and on a case (`GET /v1/cases/{id}/similar`); never computed while registering, which stays
one INSERT of the case.
"""

from __future__ import annotations

import math
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from api.cases.search_tokens import query_of, similarity_tokens
from api.cases.service import readable_in_full
from api.kit.db import utcnow
from api.kit.tokens import runs
from api.models.case import Case
from api.policies.search import SearchPolicy
from api.policies.service import current_policy
from api.privacy.service import CONFIDENTIAL_ROLES, vault_of
from api.search.repository import SearchRepository
from api.search.schemas import SearchHit, SearchPage, SearchQuery, SimilarCase, SimilarDraft

# Candidates ranked by shared tokens in SQL, per likely repeat offered, before the exact score
# in Python: the SQL count favours long texts, the score does not.
_CANDIDATES_PER_HIT = 5


def _matched(case: Case, terms: list[str]) -> list[str]:
    """Where the terms are found in the case, by field (for the desk: why it is a hit)."""
    fields: dict[str, list[str]] = {
        "title": [case.title],
        "content": [case.content],
        "demands": [case.demands or ""],
        "number": [case.number],
        "higher_reference": [case.higher_reference or ""],
        "petitioner_name": [str(p.get("name") or "") for p in case.petitioners],
        "petitioner_address": [str(p.get("address") or "") for p in case.petitioners],
    }
    found = []
    for field, texts in fields.items():
        folded = " ".join(" ".join(runs(text)) for text in texts)
        if any(term in folded for term in terms):
            found.append(field)
    return found


async def search(session: AsyncSession, query: SearchQuery, principal: Principal) -> SearchPage:
    """A page of the cases the caller may read that hold every term of `query.q`, best first."""
    policy = (await current_policy(session)).policy.search
    limit = min(query.limit, policy.max_hits)
    offset = min(query.offset, policy.max_offset)
    parsed = query_of(vault_of(session), query.q, max_terms=policy.max_terms)
    repo = SearchRepository(session)
    staff = principal.role in CONFIDENTIAL_ROLES
    rows = await repo.search(
        parsed, principal, staff=staff, limit=limit, offset=offset, max_ranked=policy.max_ranked
    )
    cases = await repo.texts([row.id for row in rows])
    terms = [term.text for term in parsed.terms]
    return SearchPage(
        items=[
            SearchHit(
                id=row.id,
                number=row.number,
                title=row.title,
                status=row.status,
                received_at=row.received_at,
                confidential=row.confidential,
                rank=row.rank,
                matched=_matched(cases[row.id], terms),
            )
            for row in rows
        ],
        terms=terms,
        limit=limit,
        offset=offset,
    )


def _score(ours: set[str], theirs: set[str]) -> float:
    """Shared tokens over the geometric mean of the two sets' sizes (cosine of sets)."""
    if not ours or not theirs:
        return 0.0
    return len(ours & theirs) / math.sqrt(len(ours) * len(theirs))


async def _similar(
    session: AsyncSession,
    principal: Principal,
    policy: SearchPolicy,
    *,
    title: str,
    content: str,
    origin_unit_id: uuid.UUID,
    around: timedelta | None,
    exclude: uuid.UUID | None,
) -> list[SimilarCase]:
    at = utcnow() + (around or timedelta())
    window = timedelta(days=policy.similar_window_days)
    ours = set(similarity_tokens(title, content))
    candidates = await SearchRepository(session).sharing(
        sorted(ours),
        principal,
        staff=principal.role in CONFIDENTIAL_ROLES,
        origin_unit_id=origin_unit_id,
        received_from=at - window,
        received_to=at + window,
        exclude=exclude,
        limit=policy.similar_max_hits * _CANDIDATES_PER_HIT,
    )
    found = []
    for case in candidates:
        theirs = set(similarity_tokens(case.title, case.content))
        score = _score(ours, theirs)
        if score >= policy.similar_min_score:
            found.append(
                SimilarCase(
                    id=case.id,
                    number=case.number,
                    title=case.title,
                    status=case.status,
                    received_at=case.received_at,
                    score=round(score, 3),
                    shared=len(ours & theirs),
                )
            )
    found.sort(key=lambda s: (-s.score, -s.received_at.timestamp()))
    return found[: policy.similar_max_hits]


async def similar_to_draft(
    session: AsyncSession, draft: SimilarDraft, principal: Principal
) -> list[SimilarCase]:
    """Likely repeats of a matter about to be registered, most similar first."""
    policy = (await current_policy(session)).policy.search
    return await _similar(
        session,
        principal,
        policy,
        title=draft.title,
        content=draft.content,
        origin_unit_id=draft.origin_unit_id,
        around=None,
        exclude=None,
    )


async def similar_to_case(
    session: AsyncSession, case_id: uuid.UUID, principal: Principal
) -> list[SimilarCase]:
    """Likely repeats of a registered case's matter: 404 out of reach, 403 for a confidential
    case whose content the caller may not read (its likely repeats would tell its matter)."""
    case = await readable_in_full(session, case_id, principal)
    policy = (await current_policy(session)).policy.search
    return await _similar(
        session,
        principal,
        policy,
        title=case.title,
        content=case.content,
        origin_unit_id=case.origin_unit_id,
        around=case.received_at - utcnow(),
        exclude=case.id,
    )
