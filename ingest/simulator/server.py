"""A simulated exchange: one venue's WebSocket and REST API on one local port.

::

    market = SyntheticMarket(["BTC-USDT"], seed=1)
    sim = SimulatedExchange("binance", market)
    await sim.start()          # sim.ws_url, sim.rest_url
    ...
    await sim.stop()

WebSocket upgrades on the venue's path are served by the venue protocol;
any other request is REST (``process_request`` answers it before the
handshake), and ``/__sim/...`` is the control endpoint of
:class:`~ingest.simulator.faults.Faults`. Market events are rendered once
and fanned out to the subscribed connections.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Collection
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from ingest.simulator.events import MarketSource, RecordedFrame, SimEvent
from ingest.simulator.faults import Faults
from ingest.simulator.protocols import PROTOCOLS
from ingest.simulator.protocols.base import Connection, Frame, Subscription
from ingest.simulator.rest import RateLimiter, RequestError, RestAnswer, RestRequest
from ingest.simulator.session import Session
from ingest.simulator.stats import SimStats
from models.exceptions import ConfigError

logger = logging.getLogger(__name__)

#: Flow control: a source waits while a connection has more than this queued.
HIGH_WATER = 5_000


class SimulatedExchange:
    """One venue (``binance``, ``binance_futures``, ``okx``, ``deribit``) fed by ``market``.

    ``ping_interval``/``ping_timeout``: WebSocket keepalive pings (None: off).
    ``idle_timeout``: venues that close silent connections (OKX) do it after
    this long. ``rest_limit``: override the venue's REST limit (weight per
    window); ``ban_seconds``: Binance's 418 ban. ``clock``: epoch seconds for
    timestamps and REST rate windows.
    """

    def __init__(
        self,
        venue: str,
        market: MarketSource,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_connection_age: float | None = None,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        idle_timeout: float | None = 30.0,
        rest_limit: int | None = None,
        ban_seconds: float = 120.0,
        max_queue: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        protocol_class = PROTOCOLS.get(venue)
        if protocol_class is None:
            raise ConfigError(f"no simulator for venue {venue!r} (have {sorted(PROTOCOLS)})")
        self.venue = venue
        self.market = market
        self.host = host
        self.max_connection_age = max_connection_age
        self.max_queue = max_queue
        self.stats = SimStats()
        self.protocol = protocol_class(self, market)
        self.protocol.check_source()
        self.idle_timeout = idle_timeout if self.protocol.closes_idle else None
        self.limiter = RateLimiter(
            rest_limit or self.protocol.rest_limit,
            self.protocol.rest_window,
            ban_seconds=ban_seconds if self.protocol.bans else None,
            clock=clock,
        )
        self.faults = Faults(self)
        self._requested_port = port
        self._ping = (ping_interval, ping_timeout)
        self._clock = clock
        self._server: Server | None = None
        self._port: int | None = None
        self._sessions: set[Session] = set()
        self._subscribers: dict[str, set[Connection]] = {}

    # -- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        if self._server is not None:
            return
        self._server = await serve(
            self._serve,
            self.host,
            self._requested_port,
            process_request=self._process_request,
            ping_interval=self._ping[0],
            ping_timeout=self._ping[1],
            close_timeout=1.0,
            compression=None,
        )
        self._port = int(self._server.sockets[0].getsockname()[1])
        await self.market.attach(self)
        logger.info("simulated %s on %s", self.venue, self.ws_url)

    async def stop(self) -> None:
        """Stop the feed, close every connection and the listening socket; wait for all."""
        server, self._server = self._server, None
        if server is None:
            return
        await self.market.detach(self)
        server.close()
        await server.wait_closed()

    async def __aenter__(self) -> SimulatedExchange:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the simulator is not started")
        return self._port

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}{self.protocol.ws_path}"

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.port}{self.protocol.rest_base}"

    @property
    def control_url(self) -> str:
        """Base of the fault and market endpoints (``/fault``, ``/market``, ``/stats``)."""
        return f"http://{self.host}:{self.port}/__sim"

    @property
    def sessions(self) -> Collection[Session]:
        return self._sessions

    # -- the hub protocols and sources talk to ----------------------------------------

    def subscribe(self, connection: Connection, key: str, subscription: Subscription) -> None:
        connection.subscriptions[key] = subscription
        self._subscribers.setdefault(key, set()).add(connection)
        self.market.client_subscribed()

    def unsubscribe(self, connection: Connection, key: str) -> bool:
        found = connection.subscriptions.pop(key, None) is not None
        subscribers = self._subscribers.get(key)
        if subscribers is not None:
            subscribers.discard(connection)
            if not subscribers:
                del self._subscribers[key]
        return found

    def wanted(self, key: str) -> bool:
        return key in self._subscribers

    def now_ms(self) -> int:
        return math.floor(self._clock() * 1000)

    def on_event(self, event: SimEvent) -> None:
        if isinstance(event, RecordedFrame):
            frame = self.protocol.replay(event.message)
            frames = [] if frame is None else [frame]
        else:
            frames = self.protocol.render(event)
        for each in frames:
            self.publish(each)

    def publish(self, frame: Frame) -> None:
        """Send ``frame`` to every connection subscribed to its key (after armed faults)."""
        passed = self.faults.filter(frame)
        if passed is None:
            return
        wrap = self.protocol.wrap
        for connection in tuple(self._subscribers.get(passed.key, ())):
            subscription = connection.subscriptions[passed.key]
            connection.send(wrap(subscription, connection, passed), passed.channel)

    async def drained(self) -> None:
        for session in list(self._sessions):
            await session.wait_room(HIGH_WATER)

    # -- connections ------------------------------------------------------------------

    async def _serve(self, websocket: ServerConnection) -> None:
        url = urlsplit(websocket.request.path if websocket.request else "/")
        session = Session(websocket, self, path=url.path, query=dict(parse_qsl(url.query)))
        self._sessions.add(session)
        self.stats.connections_opened += 1
        try:
            await session.run(self.protocol)
        finally:
            for key in list(session.subscriptions):
                self.unsubscribe(session, key)
            self._sessions.discard(session)
            self.stats.connections_closed += 1

    def _process_request(self, websocket: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        if url.path.startswith("/__sim/"):
            answer = self.faults.control(request.method, url.path, query)
            return _response(websocket, answer)
        if request.headers.get("Upgrade", "").lower() == "websocket":
            if not self.protocol.accepts(url.path):
                return websocket.respond(404, "Not Found\n")
            if self.faults.refusing():
                self.stats.connections_refused += 1
                return websocket.respond(503, "Service Unavailable\n")
            return None
        answer = self._rest(request.method, url.path, query)
        self.stats.rest_requests[(url.path, answer.status)] += 1
        return _response(websocket, answer)

    def _rest(self, method: str, path: str, query: dict[str, str]) -> RestAnswer:
        protocol = self.protocol
        base = protocol.rest_base
        route = protocol.routes.get(path[len(base) :]) if path.startswith(base) else None
        if route is None or method != "GET":
            return protocol.rest_error(404, None)
        forced = self.faults.take_rest_error(path)
        if forced is not None:
            status, retry_after = forced
            return protocol.rest_error(status, None, retry_after)
        request = RestRequest(method, path[len(base) :], query)
        try:
            weight = route.cost(request)
        except RequestError:
            weight = 1
        verdict = self.limiter.admit(weight, route.bucket)
        if verdict.status != 200:
            answer = protocol.rest_error(verdict.status, None, verdict.retry_after)
        else:
            try:
                answer = route.handler(request)
            except RequestError as exc:
                answer = protocol.rest_error(exc.status, exc)
        answer.headers = protocol.rate_headers(verdict.used) | answer.headers
        return answer


def _response(websocket: ServerConnection, answer: RestAnswer) -> Response:
    response = websocket.respond(answer.status, answer.body.decode())
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json"
    for name, value in answer.headers.items():
        response.headers[name] = value
    return response
