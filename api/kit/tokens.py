"""Search tokens of Chinese (and alphanumeric) text, computed in Python.

The embedded PostgreSQL has neither `pg_trgm` nor a Chinese text-search parser, so the
application cuts text into tokens itself and PostgreSQL only keeps them (a `text[]` column
under a GIN index) and matches them (`@>`, `&&`).

- A run of CJK characters gives its character bigrams (`拆迁补偿` → 拆迁, 迁补, 补偿), and, when
  asked, its unigrams too. Bigrams rather than a dictionary segmenter: a segmenter cuts a
  village's or a person's name as its dictionary happens to know it (张三丰 → 张三 / 丰, or
  not), and a query cut differently from the stored text misses; overlapping bigrams find
  every substring of two characters or more whatever a dictionary says, need no dictionary
  kept up to date, and cost a few microseconds per case at registration.
- Anything else of letters and digits is a lower-cased word (`信访-2026-000123` → 信访,
  2026, 000123; `ABC12` → abc12).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# CJK Unified Ideographs with extension A and the compatibility block: what Chinese text is
# written in. Punctuation (，。、《》) splits runs like a space does.
_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[0-9A-Za-z]+")
_CJK_FIRST = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def runs(text: str) -> list[str]:
    """The CJK runs and alphanumeric words of `text`, words lower-cased, in order."""
    return [r if _CJK_FIRST.match(r) else r.lower() for r in _RUN.findall(text)]


def run_tokens(run: str, *, unigrams: bool) -> list[str]:
    """The tokens of one run: a word is itself; a CJK run its bigrams (a lone character is
    itself), and its unigrams too when `unigrams`."""
    if not _CJK_FIRST.match(run) or len(run) == 1:
        return [run]
    grams = [run[i : i + 2] for i in range(len(run) - 1)]
    return [*run, *grams] if unigrams else grams


def tokens(text: str | None, *, unigrams: bool = False) -> set[str]:
    """Every token of `text` (see the module's docstring)."""
    if not text:
        return set()
    found: set[str] = set()
    for run in runs(text):
        found.update(run_tokens(run, unigrams=unigrams))
    return found


def all_tokens(texts: Iterable[str | None], *, unigrams: bool = False) -> set[str]:
    """The tokens of several texts together."""
    found: set[str] = set()
    for text in texts:
        found |= tokens(text, unigrams=unigrams)
    return found
