"""Load the demo county (`make demo`).

    python -m api.demo [--until YYYY-MM-DD] [--seed N]

Reads the settings like the API (`DATABASE_URL`, `REDIS_URL`, `ADMIN_PASSWORD`, the keys …)
and loads a county with a year of petition work up to `--until` (default today), through
the application itself. A database that has the county already is left as it is.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import date

from api.demo import plan
from api.demo.desk import DemoError
from api.demo.loader import load
from shared.settings import get_settings


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m api.demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--until", type=date.fromisoformat, default=None, help="last day loaded (YYYY-MM-DD)"
    )
    parser.add_argument("--seed", type=int, default=plan.SEED, help="another county's year")
    args = parser.parse_args(argv)
    settings = get_settings()
    try:
        loaded = asyncio.run(load(settings, until=args.until, seed=args.seed))
    except DemoError as exc:
        print(f"[demo] ERROR: {exc}", file=sys.stderr)
        return 1
    if loaded is None:
        print(f"[demo] {plan.COUNTY} is loaded already: nothing done.")
        return 0
    channels = "，".join(f"{k} {v}" for k, v in sorted(loaded.by_channel.items()))
    print(
        f"[demo] loaded {plan.COUNTY} in {loaded.seconds:.0f} s: {loaded.units} units, "
        f"{loaded.officials} officials, {loaded.cases} petitions ({channels}), "
        f"{loaded.steps} requests"
    )
    print("[demo] open /dashboard and log in as 'admin' with ADMIN_PASSWORD")
    return 0


if __name__ == "__main__":
    sys.exit(main())
