"""A fixed number of model workers behind a bounded queue: the server's compute never piles up.

At most ``workers`` jobs run (threads; PyTorch releases the GIL, so the event loop keeps answering ``/healthz``)
and at most ``queue`` wait. A job beyond that is refused at once with 503 and a Retry-After estimate, never queued
without bound. A job that takes longer than ``timeout`` seconds (its wait included) answers 503: a job still
waiting is dropped, a running one finishes in its thread (the core readers stop decoding at the same budget) and
only then frees its slot, so the bound holds for the threads too.
"""
from __future__ import annotations

import asyncio
import contextvars
import math
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, TypeVar

from lrcn.serve.errors import ApiError

T = TypeVar("T")


class Busy(ApiError):
    def __init__(self, message: str, retry_after: int):
        super().__init__(503, message, {"Retry-After": str(retry_after)})


class TimedOut(Busy):
    pass


class WorkQueue:
    def __init__(self, workers: int, queue: int, timeout: float):
        self.workers, self.capacity, self.timeout = workers, workers + queue, timeout
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="lrcn-model")
        self.lock = threading.Lock()
        self.pending = 0  # running + waiting
        self.running = 0
        self.seconds = 1.0  # running mean of a job's duration, for Retry-After

    async def run(self, fn: Callable[..., T], *args) -> T:
        """``fn(*args)`` on a model worker (with the caller's context variables, e.g. the readers' budget)."""
        with self.lock:
            if self.pending >= self.capacity:
                raise Busy(f"busy: {self.pending} requests running or waiting (the most this server takes); "
                           "retry later", self.retry_after())
            self.pending += 1
        future = self.pool.submit(self._timed, contextvars.copy_context().run, fn, *args)
        future.add_done_callback(self._release)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except asyncio.TimeoutError:
            future.cancel()
            raise TimedOut(f"timed out after {self.timeout:g} s (the server's --timeout); retry later",
                           self.retry_after()) from None

    def _timed(self, run: Callable, fn: Callable, *args):
        with self.lock:
            self.running += 1
        start = time.monotonic()
        try:
            return run(fn, *args)
        finally:
            with self.lock:
                self.running -= 1
                self.seconds = 0.8 * self.seconds + 0.2 * (time.monotonic() - start)

    def _release(self, future: Future) -> None:
        with self.lock:
            self.pending -= 1

    def retry_after(self) -> int:
        """Seconds until a slot is likely free: the waiting work over the workers, at the mean job duration."""
        return max(1, math.ceil(self.seconds * self.pending / self.workers))

    def status(self) -> dict:
        with self.lock:
            return {"workers": self.workers, "running": self.running, "waiting": self.pending - self.running,
                    "capacity": self.capacity}

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
