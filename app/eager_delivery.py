"""Faust's Kafka consumer without four asyncio tasks per consumed record.

Faust's fetcher hands every record to the conductor with
``await self.wait_first(callback(message), self.suspend_flow.wait())``, so that a
delivery blocked on a full stream queue is abandoned when a rebalance suspends
the flow. :meth:`mode.Service.wait_first` wraps each argument, and the service's
``stopped`` and ``crashed`` events, in a task and runs ``asyncio.wait`` over them:
about 20 us of CPU per record, a large share of a busy worker's time.

Nearly every delivery never blocks: the conductor decodes the record and puts it
on a stream queue that has room. :class:`EagerDeliveryConsumer` therefore runs
the delivery's first step at once, in the fetcher's task. When it finishes
there, nothing could have happened meanwhile (no ``await`` gave up control), and
the result is the one ``wait_first`` would have returned. When it blocks, the
rest of the delivery goes through Faust's own ``wait_first`` unchanged, so a
blocked delivery is still abandoned at a suspension. Anything else (a suspended
flow, a stopping or crashed consumer, other waits) takes Faust's path too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any, cast

from faust.transport.drivers import aiokafka as aiokafka_driver
from mode.services import WaitArgT, WaitResults
from mode.utils.locks import Event as ModeEvent

#: ``Event.wait`` of asyncio (Faust's ``suspend_flow``) and of mode.
_EVENT_WAITS = frozenset((asyncio.Event.wait.__code__, ModeEvent.wait.__code__))


class ResumedDelivery:
    """The rest of a coroutine whose first step already ran and yielded ``pending``.

    Awaiting it hands every value the coroutine yields to the awaiting task and
    every value or exception the task sends back to the coroutine, exactly as if
    the task had run the coroutine from the start.
    """

    def __init__(self, coro: Coroutine[Any, Any, Any], pending: Any) -> None:
        self._coro = coro
        self._pending = pending

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, value = self._coro, self._pending
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # the awaiting task was cancelled or thrown into
                try:
                    value = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    value = coro.send(sent)
                except StopIteration as stop:
                    return stop.value


def is_wait_of(coro: object, event: object) -> bool:
    """True when ``coro`` is ``event.wait()``, not yet started."""
    code = getattr(coro, "cr_code", None)
    if code not in _EVENT_WAITS:
        return False
    frame = getattr(coro, "cr_frame", None)
    return frame is not None and frame.f_locals.get("self") is event


class EagerDeliveryConsumer(aiokafka_driver.Consumer):
    """Faust's aiokafka consumer whose record deliveries start eagerly (see the module)."""

    async def wait_first(
        self,
        *coros: WaitArgT,
        timeout: Any = None,  # noqa: ASYNC109 (mode's signature)
    ) -> WaitResults:
        if timeout is None and len(coros) == 2:
            delivery, suspended = coros
            if (
                asyncio.iscoroutine(delivery)
                and is_wait_of(suspended, self.suspend_flow)
                and not (
                    self.suspend_flow.is_set() or self._stopped.is_set() or self._crashed.is_set()
                )
            ):
                return await self._deliver(delivery, cast(Coroutine[Any, Any, Any], suspended))
        return await super().wait_first(*coros, timeout=timeout)

    async def _deliver(
        self, delivery: Coroutine[Any, Any, Any], suspended: Coroutine[Any, Any, Any]
    ) -> WaitResults:
        try:
            pending = delivery.send(None)
        except StopIteration as done:
            suspended.close()
            return WaitResults([delivery], [done.value], False)
        except BaseException:
            suspended.close()
            raise
        return await super().wait_first(ResumedDelivery(delivery, pending), suspended)


class EagerDeliveryTransport(aiokafka_driver.Transport):
    """Faust's aiokafka transport with :class:`EagerDeliveryConsumer`."""

    Consumer = EagerDeliveryConsumer
