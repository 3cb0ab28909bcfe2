"""``marketprism simulate``: local simulated exchanges for the pipeline to connect to.

Starts one simulator per venue on consecutive ports (``--port``; 0: any
free ports), all fed by one synthetic market (or a replayed recording),
prints the variables that point the pipeline at them, and runs until
SIGINT or SIGTERM::

    marketprism simulate --venues binance,okx --symbols BTC-USDT,BTC-USDT-PERP \\
        --rate 200 --seed 7 --anomaly 60:BTC-USDT:jump:5
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from ingest.simulator.events import MarketSource
from ingest.simulator.market import SyntheticMarket
from ingest.simulator.price_path import Anomaly
from ingest.simulator.protocols import PROTOCOLS
from ingest.simulator.replay import ReplaySource
from ingest.simulator.server import SimulatedExchange
from models.exceptions import ConfigError

#: Every venue's default symbols in the pipeline's settings, so it finds them all.
DEFAULT_SYMBOLS = "BTC-USDT,ETH-USDT,BTC-USDT-PERP,ETH-USDT-PERP,BTC-USD-PERP,ETH-USD-PERP"


def _anomaly(text: str) -> Anomaly:
    try:
        return Anomaly.parse(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("speed must be positive, or 'max'")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--venues", default=",".join(PROTOCOLS), help="comma-separated (default: all)"
    )
    parser.add_argument("--symbols", default=DEFAULT_SYMBOLS, help="canonical, comma-separated")
    parser.add_argument("--rate", type=float, default=50.0, help="market steps a second")
    parser.add_argument("--seed", type=int, default=0, help="the synthetic market's seed")
    parser.add_argument("--volatility", type=float, default=0.8, help="annualized (0.8 = 80%%)")
    parser.add_argument(
        "--anomaly",
        type=_anomaly,
        action="append",
        default=[],
        metavar="AT:SYMBOL:KIND:PCT[:DURATION]",
        help="scripted move, e.g. 60:BTC-USDT:jump:5 (kinds: jump, pump, crash); repeatable",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=0, help="port of the first venue, the next ones follow"
    )
    parser.add_argument("--replay", type=Path, help="play this recording instead")
    parser.add_argument("--speed", type=_speed, default=1.0, help="replay speed factor, or 'max'")
    parser.add_argument(
        "--rebase",
        action="store_true",
        help="move the replay's event times so it starts now, like a live market (Binance)",
    )
    parser.add_argument(
        "--max-connection-age", type=float, help="close connections after this many seconds"
    )


def _source(args: argparse.Namespace) -> MarketSource:
    if args.replay is not None:
        return ReplaySource(args.replay, speed=args.speed, rebase=args.rebase)
    symbols = [s.strip() for s in args.symbols.split(",") if s.strip()]
    return SyntheticMarket(
        symbols, rate=args.rate, seed=args.seed, anomalies=args.anomaly, volatility=args.volatility
    )


def env_lines(sim: SimulatedExchange) -> list[str]:
    """The variables that point the pipeline at ``sim``."""
    prefix = f"MARKETPRISM_EXCHANGES__{sim.venue.upper()}__"
    return [f"{prefix}WS_URL={sim.ws_url}", f"{prefix}REST_URL={sim.rest_url}"]


async def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; 0 on a clean stop, 2 on bad arguments."""
    try:
        source = _source(args)
        venues = [v.strip() for v in args.venues.split(",") if v.strip()]
        if source.venue() is not None:
            venues = [v for v in venues if v == source.venue()] or [str(source.venue())]
        sims = [
            SimulatedExchange(
                venue,
                source,
                host=args.host,
                port=args.port + n if args.port else 0,
                max_connection_age=args.max_connection_age,
            )
            for n, venue in enumerate(venues)
        ]
    except ConfigError as exc:
        print(f"marketprism simulate: {exc}")
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        for sim in sims:
            await sim.start()
        for sim in sims:
            print("\n".join(env_lines(sim)))
        control = f"http://{args.host}:{sims[0].port}/__sim/fault?fault=stall&seconds=5"
        print(f"# inject a fault: curl -X POST '{control}'", flush=True)
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        for sim in sims:
            await sim.stop()
    return 0
