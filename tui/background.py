"""Store calls off the event loop, owned by whoever asked.

A screen's work is a Textual thread worker on that screen, so it is cancelled with the screen. A
thread can't be interrupted, though: its result is handed over only if the worker was not cancelled
(closed screen, superseded by newer exclusive work) and the screen is still open. A change the rep
made is the app's work, so its outcome is told even after the screen that asked has closed. Every
failure goes to one place, `background_failed`; the store's connection is released after each call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from textual.worker import Worker, get_current_worker

from frontdesk.storage.database import describe, is_unavailable
from frontdesk.storage.store import Store, StoreError

T = TypeVar("T")
V = TypeVar("V")


def failure_text(error: Exception, store: Store | None) -> str:
    """What the rep reads when a store call fails: the store's own refusal, or what went wrong."""
    if isinstance(error, StoreError):
        return str(error)
    if is_unavailable(error) and store is not None:
        where = describe(store.target)
        return f"The database {where} is unavailable; nothing was changed. frontdesk reconnects by itself: try again shortly."
    return f"Something went wrong: {type(error).__name__}: {error}"


class Background:
    """Mixed into the app and its screens (before Screen or App, like TicketActions)."""

    def in_background(
        self,
        work: Callable[[], T],
        done: Callable[[T], None] | None = None,
        group: str = "store",
        exclusive: bool = False,
    ) -> Worker[T | None]:
        """Run `work` (store calls) in a thread worker of this screen or app; hand its result to
        `done` on the event loop while the asker is still here. The worker's result is the work's
        (None when it failed)."""

        app, released = self.app, self._released(work)  # taken now: a closed screen has no app

        def deliver(worker: Worker, callback: Callable[[V], None], value: V) -> None:
            # On the event loop, like the screen's removal and the worker's cancelling: no race.
            here = self is app or self in app.screen_stack
            if here and app.is_running and not worker.is_cancelled:
                callback(value)

        def run() -> T | None:
            worker = get_current_worker()
            try:
                result = released()
            except Exception as error:  # keep the rep's screen; say what failed instead of crashing
                if not isinstance(error, StoreError):
                    app.log.error(repr(error))
                app.call_from_thread(deliver, worker, self.background_failed, error)
                return None
            if done is not None:
                app.call_from_thread(deliver, worker, done, result)
            return result

        return self.run_worker(run, thread=True, group=group, exclusive=exclusive)

    def must_finish(self, work: Callable[[], object], name: str) -> None:
        """Work that must be done even as its screen closes and the app quits (a draft written on
        the way out): a plain thread, which the interpreter waits for, since a worker is cancelled
        with its screen and with the app. Nothing is told: nobody may be left to hear it."""
        threading.Thread(target=self._released(work), name=name).start()

    def background_failed(self, error: Exception) -> None:
        """Where every failed call of this screen is told; a screen may tell it its own way."""
        self.notify(failure_text(error, self._store()), severity="error", markup=False)

    def _released(self, work: Callable[[], T]) -> Callable[[], T]:
        """`work`, then the thread's store connection released (closed, or back to the pool)."""
        store = self._store()

        def run() -> T:
            try:
                return work()
            finally:
                if store is not None:
                    store.release()

        return run

    def _store(self) -> Store | None:
        return getattr(self.app, "store", None)  # a bare App hosting one screen in tests has none

