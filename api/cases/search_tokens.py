"""What a case is found by: the tokens of `cases.search_tokens`, and of a query.

Which tokens (`api.kit.tokens` cuts the text):

- title: unigrams and bigrams (a one-character query finds a title), and each bigram again
  as `t:<bigram>`, so that a query's words found in the title rank above the same words
  found only in the body;
- content, demands, the case number and the higher office's reference number: bigrams and
  words (a one-character query is noise over the whole body of a county's cases; every word
  of two characters or more is found);
- each petitioner's name and address: unigrams and bigrams (Chinese names are often two
  characters, and a surname alone is a common search), stored only as keyed hashes
  (`Vault.blind_token`, HMAC-SHA256 under `PII_HASH_KEY`, the key of the numbers' blind
  index).

Why names as keyed hashes and the rest in clear: the title and content are the matter itself
and are stored in clear in the same row anyway; a petitioner's name, cut into characters and
kept in a second column, would be one more copy of personal data in clear (in the index,
backups, exports of the column). Its keyed tokens find the same names (a query's tokens are
hashed the same way) and tell nobody without the key which name they are; the clear name
stays where it was, in the petitioner's item. The cost of the choice: a query does not know
whether a word is a name, so each of its terms is looked for in clear *or* hashed, and a
rotated `PII_HASH_KEY` needs the tokens recomputed (`python -m api.search reindex`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from api.kit.tokens import all_tokens, run_tokens, runs, tokens
from api.models.case import Case
from api.privacy.crypto import Vault

TITLE_MARK = "t:"


def case_tokens(
    vault: Vault,
    *,
    title: str,
    content: str,
    demands: str | None,
    number: str,
    higher_reference: str | None,
    petitioners: Iterable[Mapping[str, Any]],
) -> list[str]:
    """The sorted tokens of a case for `cases.search_tokens` (see the module's docstring)."""
    found = tokens(title, unigrams=True)
    found |= {TITLE_MARK + t for t in tokens(title) if len(t) == 2 and not t.isascii()}
    found |= all_tokens((content, demands, number, higher_reference))
    personal: set[str] = set()
    for item in petitioners:
        personal |= tokens(str(item.get("name") or ""), unigrams=True)
        personal |= tokens(str(item.get("address") or ""), unigrams=True)
    found |= {vault.blind_token(t) for t in personal}
    return sorted(found)


def tokens_of(vault: Vault, case: Case) -> list[str]:
    """The tokens of a stored case, as `case_tokens` makes them at registration."""
    return case_tokens(
        vault,
        title=case.title,
        content=case.content,
        demands=case.demands,
        number=case.number,
        higher_reference=case.higher_reference,
        petitioners=case.petitioners,
    )


@dataclass(frozen=True)
class Term:
    """One term of a query (a CJK run or a word): the tokens a case must hold to match it,
    in clear and hashed (a term may be a name)."""

    text: str
    clear: list[str]
    blinded: list[str]


@dataclass(frozen=True)
class Query:
    """A query as the search runs it: its terms (each must match), and every token that
    counts towards a hit's rank."""

    terms: list[Term]
    ranked: list[str]


def query_of(vault: Vault, text: str, *, max_terms: int) -> Query:
    """The terms and rank tokens of a query; at most `max_terms` terms (the first ones)."""
    terms: list[Term] = []
    ranked: set[str] = set()
    for run in dict.fromkeys(runs(text)):
        if len(terms) == max_terms:
            break
        clear = run_tokens(run, unigrams=False)
        blinded = [vault.blind_token(t) for t in clear]
        terms.append(Term(run, clear, blinded))
        ranked |= set(clear) | set(blinded)
        ranked |= {TITLE_MARK + t for t in clear if len(t) == 2 and not t.isascii()}
    return Query(terms, sorted(ranked))


def similarity_tokens(title: str, content: str) -> list[str]:
    """The tokens two cases are compared by (likely repeats): the bigrams and words of their
    title and content, nothing personal."""
    return sorted(all_tokens((title, content)))
