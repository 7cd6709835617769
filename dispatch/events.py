"""Live updates of the schedule: an in-process publisher the board listens to (SSE).

Whoever changes the plan calls ``publish`` *after* its commit, from a handler
(``events: EventsDep``; handlers run in the thread pool) or from a run's worker
thread (``app.state.events``). Every open ``GET /board/events`` stream holds a
``Subscription`` bound to the event loop that serves it; ``publish`` hands the
event over with ``call_soon_threadsafe``, so it may be called from any thread.

An event names what changed and, when known, the local days it concerns
(``days``: ISO dates); the board reloads its data when its day is among them (or
none are named). Kinds in use: ``visits.changed`` (moves, status reports,
publishing), ``orders.changed`` (unassigning, status reports that change the order,
publishing), ``run.updated`` (a scheduling run's status or progress).

The last ``keep`` events are kept so that a client reconnecting with
``Last-Event-ID`` misses nothing (ids are the process's own).

With a Redis broker (several API processes, scheduling runs on Celery workers) the app holds
a :class:`RelayedEventHub`: what a process publishes reaches its own listeners at once and
the others' through a Redis pub/sub channel (``TECNICO_EVENTS_CHANNEL``); a worker sends its
runs' progress with an :class:`EventRelay` alone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Request

log = logging.getLogger("tecnico.events")

# A stream that falls this far behind is cut; the browser reconnects and reloads.
QUEUE_LIMIT = 1000
# Seconds the relay's listener waits for a message before looking whether it should stop,
# and longest pause before it reconnects to a Redis that went away.
RELAY_POLL_S = 0.5
RELAY_RETRY_MAX_S = 10.0


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
        day_list = _day_list(days)
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


def uses_redis(url: str) -> bool:
    """Whether a broker URL is a Redis one (whose pub/sub can relay events)."""
    return url.startswith(("redis://", "rediss://"))


def _day_list(days: Iterable[date | str]) -> list[str]:
    return sorted({d.isoformat() if isinstance(d, date) else str(d) for d in days})


class EventRelay:
    """Sends events to the other processes over a Redis pub/sub channel. Sending never
    fails the caller: a change is committed before it is told, so a Redis outage costs live
    updates only (logged; no new attempt for :data:`RELAY_RETRY_MAX_S`, so that requests do
    not each wait for a Redis that is gone)."""

    def __init__(self, url: str, channel: str) -> None:
        import redis

        self.channel = channel
        self.origin = uuid.uuid4().hex
        self.redis = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5,
                                          health_check_interval=30)
        self._down_until = 0.0

    def publish(self, kind: str, *, days: Iterable[date | str] = (), **data: Any) -> None:
        if time.monotonic() < self._down_until:
            return
        message = json.dumps({"origin": self.origin, "kind": kind, "days": _day_list(days),
                              "data": data}, default=str, separators=(",", ":"))
        try:
            self.redis.publish(self.channel, message)
        except Exception as exc:  # noqa: BLE001 - see the class docstring
            self._down_until = time.monotonic() + RELAY_RETRY_MAX_S
            log.warning("could not relay events to Redis channel %s for %.0f s: %s: %s",
                        self.channel, RELAY_RETRY_MAX_S, type(exc).__name__, exc)

    def close(self) -> None:
        self.redis.close()


class RelayedEventHub(EventHub):
    """An :class:`EventHub` shared by every process on one Redis channel: ``publish``
    delivers here at once and relays; between :meth:`start` and :meth:`close` a listener
    thread delivers what the other processes (API processes, Celery workers) publish."""

    def __init__(self, url: str, channel: str, *, keep: int = 500) -> None:
        super().__init__(keep=keep)
        self.relay = EventRelay(url, channel)
        self._stop = threading.Event()
        self._listener: threading.Thread | None = None

    def publish(self, kind: str, *, days: Iterable[date | str] = (), **data: Any) -> Event:
        event = super().publish(kind, days=days, **data)
        self.relay.publish(kind, days=days, **data)
        return event

    def start(self) -> None:
        if self._listener is None:
            self._listener = threading.Thread(target=self._listen, name="events-relay",
                                              daemon=True)
            self._listener.start()

    def close(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.join(timeout=5)
        self.relay.close()
        super().close()

    def _listen(self) -> None:
        pause = RELAY_POLL_S
        while not self._stop.is_set():
            pubsub = self.relay.redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.relay.channel)
                pause = RELAY_POLL_S
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=RELAY_POLL_S)
                    if message is not None:
                        self._deliver(message["data"])
            except Exception:  # noqa: BLE001 - Redis went away: retry, slower each time
                log.warning("events relay lost Redis; retrying in %.1f s", pause, exc_info=True)
                self._stop.wait(pause)
                pause = min(pause * 2, RELAY_RETRY_MAX_S)
            finally:
                pubsub.close()

    def _deliver(self, raw: bytes | str) -> None:
        try:
            message = json.loads(raw)
            if message["origin"] == self.relay.origin:
                return  # ours: delivered when published
            EventHub.publish(self, message["kind"], days=message["days"], **message["data"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring a malformed event on %s: %r", self.relay.channel, raw)


def get_events(request: Request) -> EventHub:
    return request.app.state.events


EventsDep = Annotated[EventHub, Depends(get_events)]
