"""One supervisor for the service's long-running tasks (feeds + engine, delivery, confirmations,
the housekeeping scheduler).

A supervised task that dies — raises, or returns although it should run for the life of the
process — is logged with its traceback and sets ``failure``; the app then stops polling, shuts
everything down in order and exits with code 1, so the service manager (systemd
``Restart=on-failure``) starts a fresh process. Nothing is swallowed: every exception a task
ended with, also one surfacing while shutting down, is logged once.

Errors of one event inside the engine are NOT task deaths: ``Engine.process_many`` counts and
skips them (see engine/core.py). A failed housekeeping job is counted in ``job_errors`` and
logged by the scheduler; the next run of the job tries again.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Failure:
    task: str
    error: str  # "ValueError: ..." or "returned" for a task that must run forever


class Supervisor:
    def __init__(self) -> None:
        self.failure = asyncio.Event()
        self.failures: list[Failure] = []
        self.job_errors: dict[str, int] = {}
        self._tasks: dict[asyncio.Task[Any], bool] = {}  # task -> must run for the life of the process
        self._own: set[asyncio.Task[Any]] = set()  # spawned here: cancelled by ``stop``
        self._stopping = False

    @property
    def failed(self) -> bool:
        return bool(self.failures)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str, *, forever: bool = True) -> asyncio.Task[Any]:
        """Start ``coro`` as a supervised task. ``forever``: returning is a failure too (a loop
        that ends silently would leave the service half-alive)."""
        task = asyncio.create_task(coro, name=name)
        self.watch(task, forever=forever)
        self._own.add(task)
        return task

    def watch(self, task: asyncio.Task[Any], *, forever: bool = True) -> None:
        """Supervise a task someone else started and stops (delivery's router and sender:
        ``stop`` leaves them to their owner, which drains them in order)."""
        if task in self._tasks:
            return
        self._tasks[task] = forever
        task.add_done_callback(self._done)

    def tasks(self) -> list[asyncio.Task[Any]]:
        return list(self._tasks)

    def alive(self, name: str) -> bool:
        return any(t.get_name() == name and not t.done() for t in self._tasks)

    def _done(self, task: asyncio.Task[Any]) -> None:
        if self._stopping or task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            if not self._tasks.get(task, False):
                log.info("task %s finished", task.get_name())
                return
            error = "returned although it should run until shutdown"
            log.error("task %s %s: stopping the service (exit 1) so it is restarted", task.get_name(), error)
        else:
            error = f"{type(exc).__name__}: {exc}"
            log.error("task %s died: %s; stopping the service (exit 1) so it is restarted",
                      task.get_name(), error, exc_info=exc)
        self.failures.append(Failure(task.get_name(), error[:300]))
        self.failure.set()

    def on_job_error(self, event: Any) -> None:
        """APScheduler ``EVENT_JOB_ERROR`` listener (the scheduler logs the traceback itself)."""
        job = str(getattr(event, "job_id", "?"))
        self.job_errors[job] = self.job_errors.get(job, 0) + 1

    async def stop(self, grace_s: float = 10.0) -> None:
        """Cancel every supervised task still running and wait for them; log (never swallow)
        any exception one of them ended with while shutting down."""
        self._stopping = True
        tasks = [t for t in self._own if not t.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            done, pending = await asyncio.wait(tasks, timeout=grace_s)
            for t in pending:
                log.error("task %s did not stop within %.0f s", t.get_name(), grace_s)
        for t in tasks:
            if t.done() and not t.cancelled() and t.exception() is not None:
                exc = t.exception()
                log.error("task %s raised while stopping: %s: %s", t.get_name(), type(exc).__name__, exc,
                          exc_info=exc)
