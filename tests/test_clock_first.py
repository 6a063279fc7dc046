"""While the clock flags a burst of misses, heavy batch work waits its turn (issue 22: the
flags of a burst are what the next leader up waits for), never longer than its bound."""

from __future__ import annotations

import asyncio
import time

from api.kit.boundary import ClockFirst


async def test_batch_work_waits_while_the_clock_flags_and_for_its_tail() -> None:
    clock = ClockFirst(longest=5.0)
    started = time.monotonic()
    waited: list[float] = []

    async def batch() -> None:
        await asyncio.sleep(0.01)  # arrives while the flag request runs
        await clock.wait_turn()
        waited.append(time.monotonic() - started)

    async def flag() -> None:
        with clock.flagging():
            await asyncio.sleep(0.3)

    await asyncio.gather(flag(), batch())
    # the flag request's 0.3 s, then its tail (the worker's next call may be on its way)
    assert waited[0] >= 0.3 + ClockFirst.TAIL - 0.02
    assert not clock.busy()
    idle = time.monotonic()
    await clock.wait_turn()
    assert time.monotonic() - idle < 0.05


async def test_batch_work_never_waits_longer_than_its_bound() -> None:
    clock = ClockFirst(longest=0.2)
    with clock.flagging():  # a flag request that never ends
        began = time.monotonic()
        await clock.wait_turn()
        assert 0.18 <= time.monotonic() - began < 0.5
