"""banjia.deadline.Deadline: the bound on every upstream call and on each request's total time."""

from __future__ import annotations

import asyncio

import pytest

from banjia.deadline import Deadline


async def test_work_done_in_time_returns_its_result_and_leaves_no_timer() -> None:
    d = Deadline()
    assert await d.run(1.0, asyncio.sleep(0, "ok")) == "ok"
    assert not d.fired
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0


async def test_work_too_slow_is_a_timeout_and_the_task_is_not_left_cancelling() -> None:
    d = Deadline()
    with pytest.raises(TimeoutError):
        await d.run(0.01, asyncio.sleep(5))
    assert d.fired
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
    await asyncio.sleep(0)  # the task goes on normally


async def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    started = asyncio.Event()

    async def bounded() -> None:
        started.set()
        await Deadline().run(5.0, asyncio.sleep(5))

    task = asyncio.create_task(bounded())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_work_that_swallows_the_cancellation_still_leaves_the_task_uncancelled() -> None:
    async def stubborn() -> str:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            return "kept going"
        return "slept"

    d = Deadline()
    assert await d.run(0.01, stubborn()) == "kept going"
    assert d.fired
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0


async def test_work_that_turns_the_cancellation_into_its_own_error_says_the_bound_fired() -> None:
    async def converts() -> None:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            raise RuntimeError("cut") from None

    d = Deadline()
    with pytest.raises(RuntimeError):
        await d.run(0.01, converts())
    assert d.fired
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
