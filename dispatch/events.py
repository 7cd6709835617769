"""Live updates of the schedule: an in-process publisher the board listens to (SSE).

Whoever changes the plan calls ``publish`` *after* its commit, from a handler
(``events: EventsDep``; handlers run in the thread pool) or from a run's worker
thread (``app.state.events``). Every open ``GET /board/events`` stream holds a
``Subscription`` bound to the event loop that serves it; ``publish`` hands the
event over with ``call_soon_threadsafe``, so it may be called from any thread.

An event names what changed and, when known, the local days it concerns
(``days``: ISO dates); the board reloads its data when its day is among them (or
none are named). Kinds in use: ``visits.changed`` (moves, status reports,
publishing), ``run.updated`` (a scheduling run's status or progress).

The last ``keep`` events are kept so that a client reconnecting with
``Last-Event-ID`` misses nothing. One process only: with several app processes
the same interface would fan out through Redis pub/sub.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Request

# A stream that falls this far behind is cut; the browser reconnects and reloads.
QUEUE_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    def concerns(self, day: date) -> bool:
        days = self.data.get("days")
        return not days or day.isoformat() in days

    def sse(self) -> str:
        """The event as one ``text/event-stream`` message."""
        payload = json.dumps({"kind": self.kind, **self.data}, default=str, separators=(",", ":"))
        return f"id: {self.id}\nevent: {self.kind}\ndata: {payload}\n\n"


class Subscription:
    """One listener's queue; use as a context manager so it is always removed."""

    def __init__(self, hub: EventHub, loop: asyncio.AbstractEventLoop) -> None:
        self._hub = hub
        self._loop = loop
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(QUEUE_LIMIT)
        self.closed = False

    def _deliver(self, event: Event | None) -> None:
        # Runs on the subscriber's loop.
        if self.closed:
            return
        if event is None:
            self.closed = True
            self._queue.put_nowait(None)
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.closed = True
            self._hub.unsubscribe(self)

    def offer(self, event: Event | None) -> None:
        """Hand ``event`` (None: end of stream) over from any thread."""
        try:
            self._loop.call_soon_threadsafe(self._deliver, event)
        except RuntimeError:  # the loop is gone: its stream ended long ago
            self.closed = True

    async def next(self, timeout: float) -> Event | None:
        """The next event, or None after ``timeout`` seconds or once the hub is closed."""
        if self.closed and self._queue.empty():
            return None
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed = True
        self._hub.unsubscribe(self)


class EventHub:
    """Publish/subscribe within one process; thread-safe."""

    def __init__(self, *, keep: int = 500) -> None:
        self._lock = threading.Lock()
        self._last_id = 0
        self._recent: deque[Event] = deque(maxlen=keep)
        self._subscribers: set[Subscription] = set()
        self._closed = False

    @property
    def last_id(self) -> int:
        return self._last_id

    def publish(self, kind: str, *, days: Iterable[date | str] = (), **data: Any) -> Event:
        """Send ``kind`` with JSON-able ``data`` to every listener; ``days`` the local dates
        the change concerns (empty: possibly any)."""
        day_list = sorted({d.isoformat() if isinstance(d, date) else str(d) for d in days})
        payload = {**data, "days": day_list} if day_list else dict(data)
        with self._lock:
            self._last_id += 1
            event = Event(self._last_id, kind, payload)
            self._recent.append(event)
            self._subscribers = {sub for sub in self._subscribers if not sub.closed}
            # Handed over under the lock (it only schedules a call), so every listener
            # sees the events in the order of their ids.
            for sub in self._subscribers:
                sub.offer(event)
        return event

    def subscribe(self, *, after: int | None = None) -> Subscription:
        """A subscription on the running event loop; with ``after`` (a Last-Event-ID) the
        kept events newer than it are queued first."""
        sub = Subscription(self, asyncio.get_running_loop())
        with self._lock:
            if self._closed:
                sub.closed = True
                return sub
            backlog = [e for e in self._recent if after is not None and e.id > after]
            self._subscribers.add(sub)
        for event in backlog:
            sub._deliver(event)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subscribers.discard(sub)

    @property
    def listeners(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def close(self) -> None:
        """End every stream (application shutdown)."""
        with self._lock:
            self._closed = True
            listeners = list(self._subscribers)
            self._subscribers.clear()
        for sub in listeners:
            sub.offer(None)


def get_events(request: Request) -> EventHub:
    return request.app.state.events


EventsDep = Annotated[EventHub, Depends(get_events)]
