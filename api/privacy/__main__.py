"""Keys of the petitioners' personal numbers.

    python -m api.privacy new-key                 # print a fresh Fernet key for PII_KEYS
    python -m api.privacy rotate [--batch 500]    # re-encrypt everything under the newest key

`rotate` reads `DATABASE_URL`, `PII_KEYS` and `PII_HASH_KEY` like the API. It walks the cases
by id in batches, each batch locked (FOR NO KEY UPDATE) and committed on its own, so the API keeps
working meanwhile; it re-encrypts every number not yet under the first key of `PII_KEYS`,
recomputes the keyed hashes under the current `PII_HASH_KEY`, and seals any number still in
clear. Running it again changes nothing. Afterwards the keys after the first can be dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import async_sessionmaker

from api.kit.db import create_engine
from api.privacy.crypto import PrivacyConfigError, UnreadableValueError, Vault, new_key
from api.privacy.service import rotate_batch
from shared.settings import get_settings

DEFAULT_BATCH = 500


async def rotate(database_url: str, vault: Vault, batch: int) -> tuple[int, int]:
    """Re-seal every case's petitioners, one committed batch at a time; (cases, changed)."""
    engine = create_engine(database_url, pool_size=1)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    seen = changed = 0
    after: uuid.UUID | None = None
    try:
        while True:
            async with sessions() as session:
                done = await rotate_batch(session, vault, after=after, size=batch)
                await session.commit()
            seen += done.cases
            changed += done.changed
            if done.last_id is None or done.cases < batch:
                return seen, changed
            after = done.last_id
    finally:
        await engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m api.privacy", description="Keys of the petitioners' personal numbers."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("new-key", help="print a fresh Fernet key for PII_KEYS")
    rotating = commands.add_parser("rotate", help="re-encrypt every number under the newest key")
    rotating.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="cases per transaction")
    args = parser.parse_args(argv)
    if args.command == "new-key":
        print(new_key())
        return 0
    if args.batch < 1:
        parser.error("--batch must be at least 1")
    settings = get_settings()
    try:
        vault = Vault.from_settings(settings)
        seen, changed = asyncio.run(rotate(settings.database_url, vault, args.batch))
    except (PrivacyConfigError, UnreadableValueError) as exc:
        print(f"rotate: {exc}", file=sys.stderr)
        return 1
    print(f"rotate: {changed} of {seen} cases re-sealed under the newest keys")
    return 0


if __name__ == "__main__":
    sys.exit(main())
