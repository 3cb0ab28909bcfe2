"""The eager record delivery of the worker's consumer, on the consumer Faust builds
(no broker needed: ``wait_first`` is what the fetcher calls per record)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from faust.transport.drivers import aiokafka as aiokafka_driver

from app.eager_delivery import EagerDeliveryConsumer, ResumedDelivery, is_wait_of
from app.faust_app import create_app
from app.settings import Settings


@pytest_asyncio.fixture
async def consumer(tmp_path: Path) -> AsyncIterator[EagerDeliveryConsumer]:
    app = create_app(Settings(store={"data_dir": tmp_path / "worker"}))
    made = app.consumer
    assert isinstance(made, EagerDeliveryConsumer)
    yield made
    close_thread_loop(made)


def close_thread_loop(consumer: Any) -> None:
    """The consumer's (never started) thread made an event loop of its own."""
    consumer._thread.thread_loop.close()


class TaskCounter:
    """Counts the tasks the running loop creates (its task factory)."""

    def __init__(self) -> None:
        self.created = 0

    def __enter__(self) -> TaskCounter:
        loop = asyncio.get_running_loop()

        def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
            self.created += 1
            return asyncio.Task(coro, loop=loop, **kwargs)

        loop.set_task_factory(factory)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.get_running_loop().set_task_factory(None)


async def delivered(value: int) -> int:
    return value * 2


@pytest.mark.asyncio
async def test_a_delivery_that_does_not_block_completes_without_tasks(
    consumer: EagerDeliveryConsumer,
) -> None:
    with TaskCounter() as tasks:
        results = [
            await consumer.wait_first(delivered(n), consumer.suspend_flow.wait()) for n in range(50)
        ]
    assert tasks.created == 0
    assert [r.results for r in results] == [[n * 2] for n in range(50)]
    assert not any(r.stopped for r in results)


@pytest.mark.asyncio
async def test_the_stock_consumer_makes_tasks_for_every_delivery(tmp_path: Path) -> None:
    app = create_app(
        Settings(store={"data_dir": tmp_path / "worker"}, kafka={"eager_delivery": False})
    )
    stock = app.consumer
    assert type(stock) is aiokafka_driver.Consumer
    with TaskCounter() as tasks:
        result = await stock.wait_first(delivered(1), stock.suspend_flow.wait())
    close_thread_loop(stock)
    assert result.results == [2]
    assert tasks.created == 4  # the delivery, suspend_flow, stopped and crashed


@pytest.mark.asyncio
async def test_a_blocked_delivery_finishes_when_it_can(consumer: EagerDeliveryConsumer) -> None:
    queue: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
    queue.put_nowait(0)

    async def put(value: int) -> str:
        await queue.put(value)
        return "put"

    waiting = asyncio.ensure_future(consumer.wait_first(put(7), consumer.suspend_flow.wait()))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    assert queue.get_nowait() == 0  # room: the delivery resumes
    result = await asyncio.wait_for(waiting, 10)
    assert result.results == ["put"] and not result.stopped
    assert queue.get_nowait() == 7


@pytest.mark.asyncio
async def test_a_blocked_delivery_is_abandoned_when_the_flow_is_suspended(
    consumer: EagerDeliveryConsumer,
) -> None:
    queue: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
    queue.put_nowait(0)
    cancelled = asyncio.Event()

    async def put(value: int) -> None:
        try:
            await queue.put(value)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    waiting = asyncio.ensure_future(consumer.wait_first(put(7), consumer.suspend_flow.wait()))
    await asyncio.sleep(0.01)
    consumer.suspend_flow.set()
    result = await asyncio.wait_for(waiting, 10)
    assert not result.stopped
    assert len(result.done) == 1 and is_wait_of_done(result.done[0])
    await asyncio.wait_for(cancelled.wait(), 10)
    assert queue.qsize() == 1 and queue.get_nowait() == 0  # the record was not put


def is_wait_of_done(winner: Any) -> bool:
    return not isinstance(winner, ResumedDelivery)


@pytest.mark.asyncio
async def test_errors_propagate_from_the_first_and_a_later_step(
    consumer: EagerDeliveryConsumer,
) -> None:
    async def fails_at_once() -> None:
        raise ValueError("undecodable")

    with pytest.raises(ValueError, match="undecodable"):
        await consumer.wait_first(fails_at_once(), consumer.suspend_flow.wait())

    async def fails_later() -> None:
        await asyncio.sleep(0)
        raise KeyError("later")

    with pytest.raises(KeyError, match="later"):
        await consumer.wait_first(fails_later(), consumer.suspend_flow.wait())


@pytest.mark.asyncio
async def test_a_suspended_flow_takes_fausts_path(consumer: EagerDeliveryConsumer) -> None:
    consumer.suspend_flow.set()
    with TaskCounter() as tasks:
        result = await consumer.wait_first(delivered(1), consumer.suspend_flow.wait())
    assert tasks.created == 4
    assert not result.stopped


@pytest.mark.asyncio
async def test_other_waits_take_fausts_path(consumer: EagerDeliveryConsumer) -> None:
    other = asyncio.Event()
    other.set()
    with TaskCounter() as tasks:
        result = await consumer.wait_first(delivered(3), other.wait())
    assert tasks.created == 4
    assert 6 in result.results


def test_is_wait_of_names_the_event() -> None:
    first, second = asyncio.Event(), asyncio.Event()
    waiting = first.wait()
    try:
        assert is_wait_of(waiting, first)
        assert not is_wait_of(waiting, second)
        assert not is_wait_of(delivered_coro := delivered(1), first)
        delivered_coro.close()
    finally:
        waiting.close()


@pytest.mark.asyncio
async def test_resumed_delivery_passes_values_and_results_through() -> None:
    """A coroutine resumed after its first step sees every awaited result, as in a task."""
    loop = asyncio.get_running_loop()
    futures = [loop.create_future() for _ in range(3)]

    async def steps() -> list[Any]:
        seen = [await futures[0]]
        await asyncio.sleep(0)
        seen.append(await futures[1])
        try:
            await futures[2]
        except LookupError as exc:
            seen.append(str(exc))
        return seen

    coro: Coroutine[Any, Any, list[Any]] = steps()
    pending = coro.send(None)
    assert pending is futures[0]
    task = asyncio.ensure_future(ResumedDelivery(coro, pending))
    futures[0].set_result("a")
    await asyncio.sleep(0.01)
    futures[1].set_result("b")
    await asyncio.sleep(0.01)
    futures[2].set_exception(LookupError("c"))
    assert await asyncio.wait_for(task, 10) == ["a", "b", "c"]


@pytest.mark.asyncio
async def test_cancelling_a_resumed_delivery_cancels_the_coroutine() -> None:
    loop = asyncio.get_running_loop()
    blocker = loop.create_future()
    cleaned = []

    async def blocked() -> None:
        try:
            await blocker
        finally:
            cleaned.append(True)

    coro = blocked()
    task = asyncio.ensure_future(ResumedDelivery(coro, coro.send(None)))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == [True]
    assert blocker.cancelled()
