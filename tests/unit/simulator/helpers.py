"""Test clients for the simulator: a WebSocket client, REST calls and condition waits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
from websockets.asyncio.client import ClientConnection, connect

from ingest.registry import VENUES
from ingest.venue import Venue
from models import DeadLetter, Record
from tests.waiting import eventually as wait_until

TIMEOUT = 15.0

#: A request each venue answers after everything queued before it.
PROBES: dict[str, Any] = {
    "binance": {"method": "LIST_SUBSCRIPTIONS", "id": 999},
    "binance_futures": {"method": "LIST_SUBSCRIPTIONS", "id": 999},
    "okx": "ping",
    "deribit": {"jsonrpc": "2.0", "id": 999, "method": "public/test", "params": {}},
}


def is_probe_answer(venue: str, frame: str | bytes) -> bool:
    text = frame if isinstance(frame, str) else frame.decode()
    if venue == "okx":
        return text == "pong"
    if venue == "deribit":
        return '"id":999,"result"' in text
    return text.startswith('{"result"') and text.endswith('"id":999}')


async def eventually(condition: Callable[[], bool]) -> None:
    """Wait until ``condition()`` holds; fail after :data:`TIMEOUT`."""
    await wait_until(condition, within=TIMEOUT)


def parser(venue: str) -> Venue:
    return VENUES[venue](max_clock_skew=None)


def parse_all(venue: str, frames: list[str]) -> list[Record]:
    parse = parser(venue).parse
    now = datetime.now(UTC)
    return [record for frame in frames for record in parse(frame, now)]


def dead_letters(records: list[Record]) -> list[DeadLetter]:
    return [r for r in records if isinstance(r, DeadLetter)]


class Client:
    """A WebSocket client with the reads the tests need."""

    def __init__(self, websocket: ClientConnection, venue: str) -> None:
        self.websocket = websocket
        self.venue = venue

    async def send(self, message: Any) -> None:
        await self.websocket.send(
            message if isinstance(message, str) else orjson.dumps(message).decode()
        )

    async def recv(self) -> str:
        frame = await asyncio.wait_for(self.websocket.recv(), TIMEOUT)
        return frame if isinstance(frame, str) else frame.decode()

    async def read(self, count: int) -> list[str]:
        return [await self.recv() for _ in range(count)]

    async def until(self, predicate: Callable[[str], bool]) -> list[str]:
        """Frames up to, not including, the first one matching ``predicate``."""
        frames = []
        while not predicate(frame := await self.recv()):
            frames.append(frame)
        return frames

    async def drain(self) -> list[str]:
        """Everything the server queued before now (ends with a probe round trip)."""
        await self.send(PROBES[self.venue])
        return await self.until(lambda frame: is_probe_answer(self.venue, frame))

    async def subscribe(self, messages: list[Any]) -> list[str]:
        """Send subscriptions and wait for their answers (returned, with anything else)."""
        for message in messages:
            await self.send(message)
        return await self.drain()


@asynccontextmanager
async def open_client(url: str, venue: str, **options: Any) -> AsyncIterator[Client]:
    async with connect(url, open_timeout=TIMEOUT, close_timeout=2, **options) as websocket:
        yield Client(websocket, venue)


async def get(url: str, **params: Any) -> tuple[int, dict[str, str], Any]:
    """GET ``url`` -> (status, headers, decoded JSON body)."""
    query = {key: str(value) for key, value in params.items()}
    async with aiohttp.ClientSession() as http, http.get(url, params=query) as response:
        body = await response.read()
        return response.status, dict(response.headers), orjson.loads(body) if body else None


async def post(url: str, **params: Any) -> tuple[int, Any]:
    query = {key: str(value) for key, value in params.items()}
    async with aiohttp.ClientSession() as http, http.post(url, params=query) as response:
        return response.status, orjson.loads(await response.read())
