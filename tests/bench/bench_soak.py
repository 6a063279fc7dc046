"""Soak (issue 7): the API, the worker and the local SMS receiver under a steady open-loop load
at about half the API's intake capacity for ten minutes; errors and the resident memory of the
API and the worker over time.

    python -m tests.bench.bench_soak [--minutes 10] [--rate 12] [--warmup 30]

The mix (`tests.bench.loadgen`): 80 % registrations (70 % letters, 30 % visits from a village
to the town), 10 % `GET /v1/cases?limit=20`, 10 % `GET /v1/stats/summary`. Arrival deadlines
are 5 seconds and the second escalation step comes after a minute, so the worker summons,
flags misses, escalates and sends SMS to the receiver all along. RSS (VmRSS) of the API's
uvicorn process and of the worker is sampled after the warm-up, every 30 s and at the end.

The default rate, 12/s, is about half the capacity for this mix on the 2-core machine this was
written on: `bench_intake` found 34–39 registrations/s at best there, but every visit here also
costs the API the worker's flag, escalation and delivery calls, and 18/s overloaded it. Pass
`--rate` elsewhere.

Targets: zero errors; API ≤ 150 MB and worker ≤ 120 MB; no growth, taken as RSS at the end ≤
RSS half-way through the measured period + 5 MB, for each.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.bench.common import (
    LOGS,
    cpu_plan,
    cpu_seconds,
    lift_alert_limits,
    log_problems,
    make_territory,
    ms,
    rss_mb,
    running_stack,
    set_policy,
)
from tests.bench.loadgen import config, read_result, run_generator

API_LIMIT_MB, WORKER_LIMIT_MB, GROWTH_MB = 150.0, 120.0, 5.0
MIX = {"case": 0.8, "list": 0.1, "summary": 0.1}


def short_deadlines(policy: dict[str, Any]) -> None:
    """Arrivals due in seconds, the second escalation step a minute later, one SMS per alert."""
    lift_alert_limits(policy)
    for role in ("chief", "staff", "leader"):
        policy["arrival"][role] = "PT5S"
    chain = policy["escalation"]["arrival"]
    for step in chain[1:]:
        step["after"] = "PT1M"


async def outcome(database_url: str) -> dict[str, list[tuple[str, str, int]]]:
    """Alerts by channel and status, deadlines by kind and status, escalations by status."""
    engine = create_async_engine(database_url)
    queries = {
        "alerts": "SELECT channel::text, status::text, count(*) FROM alerts GROUP BY 1, 2",
        "deadlines": "SELECT kind::text, status::text, count(*) FROM deadlines GROUP BY 1, 2",
        "escalations": "SELECT 'step ' || step, status::text, count(*) FROM escalations "
        "GROUP BY 1, 2",
    }
    out: dict[str, list[tuple[str, str, int]]] = {}
    async with engine.connect() as conn:
        for name, sql in queries.items():
            rows = (await conn.execute(text(sql))).all()
            out[name] = sorted((str(r[0]), str(r[1]), int(r[2])) for r in rows)
    await engine.dispose()
    return out


def main() -> None:
    """Run the soak and print its figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0, help="measured period")
    parser.add_argument("--rate", type=float, default=12.0, help="requests per second")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds before the first RSS")
    parser.add_argument("--no-pin", action="store_true", help="leave every process unpinned")
    args = parser.parse_args()
    server_cpus, load_cpus = cpu_plan(not args.no_pin)
    measured = args.minutes * 60

    with running_stack("soak", api_cpus=server_cpus) as stack:
        assert stack.worker is not None and stack.receiver_url is not None
        territory = make_territory(stack.base)
        set_policy(stack.base, territory.admin_token, short_deadlines)
        pids = {"API": stack.api.pid, "worker": stack.worker.pid}
        cfg = config(stack.base, args.rate, args.warmup + measured, territory, MIX)
        gen, out = run_generator("soak", cfg, load_cpus)
        started = time.monotonic()
        time.sleep(args.warmup)
        cpu_start = {k: cpu_seconds(p) for k, p in pids.items()}
        samples: list[tuple[float, dict[str, float]]] = []
        while True:
            at = time.monotonic() - started - args.warmup
            samples.append((at, {k: rss_mb(p) for k, p in pids.items()}))
            print(
                f"  {at:5.0f} s: RSS API {samples[-1][1]['API']:.1f} MB, "
                f"worker {samples[-1][1]['worker']:.1f} MB",
                flush=True,
            )
            if gen.poll() is not None:
                break
            nxt = started + args.warmup + (len(samples)) * 30
            while gen.poll() is None and time.monotonic() < nxt:
                time.sleep(0.2)
        cpu = {k: cpu_seconds(p) - cpu_start[k] for k, p in pids.items()}
        result = read_result(gen, out)
        # Let the last arrivals fall due and their escalations go out before counting.
        time.sleep(15)
        accepted = httpx.get(stack.receiver_url + "/received", timeout=30).json()
        received, distinct = len(accepted), len({message_id for message_id, _ in accepted})
        counts = asyncio.run(outcome(stack.database_url))
        api_log_problems = log_problems(LOGS / "soak-api.log")
        worker_log_problems = log_problems(LOGS / "soak-worker.log")

    errors = [s for s in result.samples if not 200 <= s[2] < 300]
    statuses: dict[int, int] = {}
    for s in errors:
        statuses[s[2]] = statuses.get(s[2], 0) + 1
    done = len(result.samples)
    print()
    if server_cpus:
        print(
            f"pinned: the API to CPU {min(server_cpus)}, the load generator to CPU "
            f"{min(load_cpus or {0})}; PostgreSQL, Redis, the worker and the receiver unpinned. "
            "2 cores shared by all, and by whatever else runs on the machine."
        )
    mix = ", ".join(f"{k} {v:.0%}" for k, v in MIX.items())
    print(
        f"load: {args.rate:.1f} req/s open loop ({mix}), {args.warmup:.0f} s warm-up + "
        f"{args.minutes:g} min; {done} requests "
        f"({done / (args.warmup + measured):.1f}/s), generator at most "
        f"{result.late_max * 1000:.0f} ms behind schedule"
    )
    print()
    print("kind    | requests | p50 ms | p99 ms | max ms")
    for kind in MIX:
        lat = [s[3] for s in result.of(kind)]
        print(
            f"{kind:<7} | {len(lat):>8} | {ms(lat, 50):>6} | {ms(lat, 99):>6} | {ms(lat, 100):>6}"
        )
    # Spikes that line up with other jobs on the machine show here, not in the totals.
    minutes = []
    for m in range(int((args.warmup + measured) // 60) + 1):
        window = [s[3] for s in result.samples if m * 60 <= s[0] < (m + 1) * 60]
        if window:
            minutes.append(f"{ms(window, 50)}/{ms(window, 99)}")
    print(f"p50/p99 ms per minute (warm-up first): {' '.join(minutes)}")
    print()
    half_at = measured / 2
    mid = min(samples, key=lambda s: abs(s[0] - half_at))
    print("process | RSS start MB | half-way MB | end MB | max MB | last-half growth MB | CPU s")
    growth: dict[str, float] = {}
    for name in pids:
        first, last = samples[0][1][name], samples[-1][1][name]
        growth[name] = last - mid[1][name]
        top = max(s[1][name] for s in samples)
        print(
            f"{name:<7} | {first:>12.1f} | {mid[1][name]:>11.1f} | {last:>6.1f} | {top:>6.1f} | "
            f"{growth[name]:>+19.1f} | {cpu[name]:>5.0f}"
        )
    print()
    print(
        f"errors: {len(errors)} (non-2xx and connection errors, status 0 = connection/timeout: "
        f"{statuses}); log lines with ERROR/Traceback: API {api_log_problems}, "
        f"worker {worker_log_problems}"
    )
    for name in ("alerts", "deadlines", "escalations"):
        print(f"{name}: " + ", ".join(f"{a}/{b} {n}" for a, b, n in counts[name]))
    sms = sum(n for channel, status, n in counts["alerts"] if channel == "sms")
    print(
        f"SMS alerts: {sms}; received by the gateway: {received} ({distinct} distinct message "
        "ids; a repeat is a retry after a slow answer, which the gateway dedupes by id)"
    )
    targets = [
        (f"zero errors ({len(errors)})", not errors),
        (
            f"API RSS <= {API_LIMIT_MB:.0f} MB (max {max(s[1]['API'] for s in samples):.1f})",
            max(s[1]["API"] for s in samples) <= API_LIMIT_MB,
        ),
        (
            f"worker RSS <= {WORKER_LIMIT_MB:.0f} MB "
            f"(max {max(s[1]['worker'] for s in samples):.1f})",
            max(s[1]["worker"] for s in samples) <= WORKER_LIMIT_MB,
        ),
        (
            f"no growth: end <= half-way + {GROWTH_MB:.0f} MB (API {growth['API']:+.1f}, "
            f"worker {growth['worker']:+.1f})",
            all(g <= GROWTH_MB for g in growth.values()),
        ),
    ]
    for name, ok in targets:
        print(f"target {'met' if ok else 'NOT met'}: {name}")


if __name__ == "__main__":
    main()
