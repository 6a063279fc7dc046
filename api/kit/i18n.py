"""The language of what the API says to people: its errors, in Chinese or English.

There is one message catalogue (gettext, read with Babel): English message ids in the code,
their Chinese in `api/locales/zh_Hans/LC_MESSAGES/messages.po` (`make messages` extracts the
ids into `api/locales/messages.pot` and updates the `.po`). A refusal carries a `Message`: the
English template and its named parameters, not a formatted sentence, so the problem is put into
the caller's language only when it is rendered (`kit.errors`), from `Accept-Language`.
Successful answers never pay for any of it: the catalogue is read once, at start (or on the
first error), and the header is only read to render an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache, lru_cache
from pathlib import Path
from typing import Final

from babel.messages.pofile import read_po

LOCALES: Final = Path(__file__).resolve().parent.parent / "locales"
DOMAIN: Final = "messages"

ZH: Final = "zh"
EN: Final = "en"
LANGUAGES: Final = (ZH, EN)
"""The languages the API answers in: `zh` (Simplified Chinese) and `en`, the code's own."""

CONTENT_LANGUAGE: Final = {ZH: "zh-Hans", EN: "en"}
"""The `Content-Language` of an answer in each language (BCP 47)."""

_FOLDER: Final = {ZH: "zh_Hans"}


def N_(text: str) -> str:  # noqa: N802 — gettext's name for "mark for extraction, translate later"
    """Mark a constant text (a problem type's title, a table of texts) for the catalogue; it is
    translated where it is rendered (`translate`)."""
    return text


class Message:
    """A text for people: its English template (the catalogue's message id, `str.format`
    placeholders by name) and the values of its placeholders, put into a language only when
    rendered. `str()` gives the English, for logs and exceptions' messages."""

    __slots__ = ("params", "template")

    def __init__(self, template: str, /, **params: object) -> None:
        self.template = template
        self.params = params

    def render(self, language: str) -> str:
        """The text in `language` (the English where the catalogue has no translation); a
        parameter that is itself a `Message` is rendered in the same language."""
        params = {
            name: value.render(language) if isinstance(value, Message) else value
            for name, value in self.params.items()
        }
        translated = catalogue(language).get(self.template)
        if translated is not None:
            try:
                return translated.format(**params)
            except (KeyError, IndexError, ValueError):
                pass  # a broken translation: English beats no answer (tests catch it)
        return self.template.format(**params)

    def __str__(self) -> str:
        return self.render(EN)

    def __repr__(self) -> str:
        return f"Message({self.template!r}, **{self.params!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return (self.template, self.params) == (other.template, other.params)

    def __hash__(self) -> int:
        return hash(self.template)


def po_path(language: str) -> Path:
    """The catalogue file of a language other than English."""
    return LOCALES / _FOLDER[language] / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def catalogue(language: str) -> Mapping[str, str]:
    """The translations of `language` by English message id (empty for English): the `.po`
    read once per process; fuzzy and empty entries are left out (they show in English)."""
    if language not in _FOLDER:
        return {}
    with po_path(language).open("rb") as po:
        read = read_po(po, locale=_FOLDER[language], domain=DOMAIN)
    return {
        str(m.id): str(m.string)
        for m in read
        if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
    }


def load_catalogues() -> None:
    """Read every catalogue now (at start), so the first error answered does not wait."""
    for language in LANGUAGES:
        catalogue(language)


def translate(text: str, language: str) -> str:
    """A constant text (marked with `N_`) in `language`; itself if the catalogue lacks it."""
    return catalogue(language).get(text, text)


def _language_of(tag: str) -> str | None:
    primary = tag.split("-", 1)[0].split("_", 1)[0]
    return primary if primary in LANGUAGES else None


@lru_cache(maxsize=256)
def negotiate(accept_language: str | None, default: str) -> str:
    """The language to answer in: the one `Accept-Language` prefers among ours (any `zh-*`
    is Chinese, any `en-*` English; q-values honoured, the first listed wins a tie, `q=0`
    refuses one), `*` or nothing ours: `default`."""
    if not accept_language:
        return default
    best: tuple[float, int, str] | None = None
    refused: set[str] = set()
    wildcard: tuple[float, int] | None = None
    for index, item in enumerate(accept_language.split(",")):
        tag, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        tag = tag.lower()
        if tag == "*":
            if quality > 0 and wildcard is None:
                wildcard = (quality, index)
            continue
        language = _language_of(tag)
        if language is None:
            continue
        if quality <= 0:
            refused.add(language)
            continue
        if best is None or quality > best[0]:
            best = (quality, index, language)
    if wildcard is not None and (best is None or wildcard[0] > best[0]):
        # "anything": ours by preference, the default first, a language refused never
        for language in (default, *LANGUAGES):
            if language not in refused:
                return language
    if best is not None:
        return best[2]
    return default
