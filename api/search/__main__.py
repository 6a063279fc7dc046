"""The cases' search tokens.

    python -m api.search reindex [--batch 1000]   # recompute every case's search tokens

`reindex` reads `DATABASE_URL`, `PII_KEYS` and `PII_HASH_KEY` like the API. Run it once after
migration 0030 (cases registered before it have no tokens yet) and after `PII_HASH_KEY`
changes (names are tokenised under it). It walks the cases by id in batches, each locked and
committed on its own, so the API keeps working meanwhile; running it again changes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import async_sessionmaker

from api.kit.db import create_engine
from api.privacy.crypto import PrivacyConfigError, Vault
from api.search.reindex import reindex_batch
from shared.settings import get_settings

DEFAULT_BATCH = 1000


async def reindex(database_url: str, vault: Vault, batch: int) -> tuple[int, int]:
    """Recompute the tokens of every case, one committed batch at a time; (cases, changed)."""
    engine = create_engine(database_url, pool_size=1)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    seen = changed = 0
    after: uuid.UUID | None = None
    try:
        while True:
            async with sessions() as session:
                last, cases, fresh = await reindex_batch(session, vault, after=after, size=batch)
                await session.commit()
            seen += cases
            changed += fresh
            if last is None or cases < batch:
                return seen, changed
            after = last
    finally:
        await engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m api.search", description="The cases' search tokens."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    running = commands.add_parser("reindex", help="recompute every case's search tokens")
    running.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="cases per transaction")
    args = parser.parse_args(argv)
    if args.batch < 1:
        parser.error("--batch must be at least 1")
    settings = get_settings()
    try:
        vault = Vault.from_settings(settings)
    except PrivacyConfigError as exc:
        print(f"reindex: {exc}", file=sys.stderr)
        return 1
    seen, changed = asyncio.run(reindex(settings.database_url, vault, args.batch))
    print(f"reindex: {changed} of {seen} cases given fresh search tokens")
    return 0


if __name__ == "__main__":
    sys.exit(main())
