"""The in-process publisher behind the board's live updates."""

import asyncio
import threading
from datetime import date

from dispatch.events import QUEUE_LIMIT, EventHub


def test_events_published_from_other_threads_reach_every_listener_in_order():
    hub = EventHub()

    async def main():
        with hub.subscribe() as a, hub.subscribe() as b:
            threads = [threading.Thread(target=hub.publish, args=("visits.changed",),
                                        kwargs={"days": [date(2026, 3, 3)], "n": i})
                       for i in range(5)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            got_a = [await a.next(1) for _ in range(5)]
            got_b = [await b.next(1) for _ in range(5)]
            return got_a, got_b

    got_a, got_b = asyncio.run(main())
    assert [e.id for e in got_a] == [1, 2, 3, 4, 5]
    assert got_a == got_b
    assert got_a[0].data["days"] == ["2026-03-03"]
    assert hub.listeners == 0


def test_an_event_names_the_days_it_concerns_and_reads_as_one_sse_message():
    hub = EventHub()
    event = hub.publish("run.updated", days=["2026-03-04", date(2026, 3, 3)], run_id=9)
    assert event.concerns(date(2026, 3, 3)) and not event.concerns(date(2026, 3, 5))
    assert hub.publish("orders.changed").concerns(date(2030, 1, 1))
    assert event.sse() == ('id: 1\nevent: run.updated\n'
                           'data: {"kind":"run.updated","run_id":9,'
                           '"days":["2026-03-03","2026-03-04"]}\n\n')


def test_a_listener_coming_back_gets_what_it_missed_and_nothing_twice():
    hub = EventHub(keep=3)
    for n in range(5):
        hub.publish("visits.changed", n=n)

    async def main():
        with hub.subscribe(after=3) as sub:
            first = [await sub.next(1) for _ in range(2)]
            return first, await sub.next(0.05)

    missed, nothing = asyncio.run(main())
    assert [e.data["n"] for e in missed] == [3, 4]
    assert nothing is None


def test_a_listener_that_falls_too_far_behind_is_cut_off():
    hub = EventHub()

    async def main():
        with hub.subscribe() as sub:
            for n in range(QUEUE_LIMIT + 1):
                hub.publish("visits.changed", n=n)
            await asyncio.sleep(0.05)  # let the loop deliver
            return sub.closed, hub.listeners

    closed, listeners = asyncio.run(main())
    assert closed and listeners == 0


def test_closing_the_hub_ends_every_stream():
    hub = EventHub()

    async def main():
        with hub.subscribe() as sub:
            hub.close()
            return await sub.next(1), sub.closed

    assert asyncio.run(main()) == (None, True)
