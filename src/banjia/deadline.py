"""A time bound on one await: ``asyncio.timeout``'s job with one timer and no context manager, at
about a third of its cost. It bounds every upstream call and every request's total time, twice per
request on the hot path."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

__all__ = ["Deadline"]

T = TypeVar("T")


class Deadline:
    """``await Deadline().run(seconds, work)``: ``work``, or ``TimeoutError`` once it has taken
    ``seconds``. Afterwards :attr:`fired` says whether the bound ran out (as
    ``asyncio.Timeout.expired()``), also when ``work`` turned the cancellation into another error.
    As with ``asyncio.timeout``, a cancellation of the task from elsewhere stays a cancellation."""

    __slots__ = ("fired",)

    def __init__(self) -> None:
        self.fired = False

    async def run(self, seconds: float, work: Awaitable[T]) -> T:
        task = asyncio.current_task()
        assert task is not None
        cancelling = task.cancelling()

        def expire() -> None:
            self.fired = True
            task.cancel()

        handle = asyncio.get_running_loop().call_later(seconds, expire)
        try:
            result = await work
        except asyncio.CancelledError:
            if self.fired and task.uncancel() <= cancelling:
                raise TimeoutError from None
            raise
        except BaseException:
            if self.fired:
                task.uncancel()  # the work turned the cancellation into its own error
            raise
        finally:
            handle.cancel()
        if self.fired:
            task.uncancel()  # the work swallowed the cancellation
        return result
