"""Finding a case (issue 21 §3): how many hits a search answers, and what counts as a likely
repeat of the same matter (the same place, a recent case, words enough in common)."""

from __future__ import annotations

from pydantic import Field, StrictFloat

from api.policies.base import StrictModel
from shared.jsontypes import JsonInt


class SearchPolicy(StrictModel):
    """Limits of the case search and of the likely-repeat read."""

    max_hits: JsonInt = Field(
        default=50,
        ge=1,
        le=200,
        description="Most hits of one page of a search: a desk reads a screen of them, and "
        "refines the query rather than paging far (ranking every page costs the same).",
    )
    max_offset: JsonInt = Field(
        default=500,
        ge=0,
        le=10000,
        description="Deepest page a search goes to: past a few hundred hits the query is too "
        "broad to be read through, and deep offsets make PostgreSQL rank and skip all of them.",
    )
    max_ranked: JsonInt = Field(
        default=1000,
        ge=50,
        le=20000,
        description="Most matches ranked, the newest: a name or a rare word matches a few "
        "cases and all are ranked; a common word matches a tenth of a county's cases, which "
        "ranking all would make slower as the county grows (about 15 µs a case: 1,000 cost "
        "15 ms), while the newest thousand are what the desk reads. Pages go no deeper.",
    )
    max_terms: JsonInt = Field(
        default=8,
        ge=1,
        le=32,
        description="Most terms (words or runs of Chinese characters) of a query that count: "
        "each must match, so more add nothing but cost; names, a place and a matter are "
        "rarely more than eight.",
    )
    similar_window_days: JsonInt = Field(
        default=180,
        ge=1,
        le=3650,
        description="A likely repeat was received this many days before or after: the "
        "repeat window of a petition (条例 art. 35, 36: review and re-review within 30 days "
        "each, after up to 90 days of handling) is about half a year.",
    )
    similar_min_score: StrictFloat = Field(
        default=0.3,
        gt=0,
        le=1,
        description="Least similarity (shared tokens of title and content over the geometric "
        "mean of the two cases' tokens, 0…1) of a likely repeat: two accounts of the same "
        "matter told again in other words share about a third of their bigrams; two matters "
        "of the same kind in the same town (two wage disputes) share less than a fifth.",
    )
    similar_max_hits: JsonInt = Field(
        default=10,
        ge=1,
        le=50,
        description="Most likely repeats offered: the desk checks them by eye before registering.",
    )
