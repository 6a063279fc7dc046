"""Keep searched numbers out of the access log.

A search by number (`GET /v1/cases?id_number=…`) carries the number in the URL, and uvicorn
writes every URL to its access log. The filter masks those query values before the line is
written, as the audit trail does.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote

from api.privacy.crypto import MASKS, Kind

_SEARCHED = re.compile(r"([?&])(id_number|phone)=([^&#\s]*)")
ACCESS_LOGGER = "uvicorn.access"


def mask_searched_numbers(text: str) -> str:
    """`text` with the values of `id_number=` and `phone=` query parameters masked."""

    def masked(match: re.Match[str]) -> str:
        sep, name, value = match.groups()
        return f"{sep}{name}={MASKS[Kind(name)](unquote(value))}"

    return _SEARCHED.sub(masked, text)


class MaskSearchedNumbers(logging.Filter):
    """Masks ID-card and phone numbers in the URLs of access-log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's string arguments (uvicorn passes the path as one); keep it."""
        if isinstance(record.args, tuple):
            record.args = tuple(
                mask_searched_numbers(a) if isinstance(a, str) else a for a in record.args
            )
        elif isinstance(record.msg, str):
            record.msg = mask_searched_numbers(record.msg)
        return True


def install() -> None:
    """Put the filter on uvicorn's access logger (once, however often the app starts)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, MaskSearchedNumbers) for f in logger.filters):
        logger.addFilter(MaskSearchedNumbers())
