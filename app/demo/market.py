"""The demo's synthetic market: a dozen symbols on four venues, scripted moves.

The moves are placed inside the run whatever its length, late enough that the
detector has a few dozen seconds of history to judge them against, and each
early enough to be seen before the run ends. A move the run is too short for
is left out (and the summary does not expect its alert).
"""

from __future__ import annotations

from dataclasses import dataclass

#: What ingest subscribes to on each simulated venue (12 symbols in all).
VENUE_SYMBOLS: dict[str, tuple[str, ...]] = {
    "binance": (
        "BTC-USDT",
        "ETH-USDT",
        "SOL-USDT",
        "XRP-USDT",
        "DOGE-USDT",
        "BNB-USDT",
        "ADA-USDT",
    ),
    "binance_futures": ("BTC-USDT-PERP", "ETH-USDT-PERP", "SOL-USDT-PERP"),
    "okx": ("BTC-USDT", "ETH-USDT", "SOL-USDT", "BTC-USDT-PERP"),
    "deribit": ("BTC-USD-PERP", "ETH-USD-PERP"),
}

#: Seconds of history before the first move, and of run left after a move's end.
WARM_UP_SECONDS = 25.0
OBSERVE_SECONDS = 12.0


@dataclass(frozen=True)
class ScriptedMove:
    """``at`` seconds after the market starts, ``symbol`` moves ``pct`` % over ``seconds``."""

    at: float
    symbol: str
    kind: str  # jump, pump or crash (the simulator's anomaly kinds)
    pct: float
    seconds: float = 0.0

    @property
    def end(self) -> float:
        """When the price stops moving (a pump falls back over as long as it rose)."""
        return self.at + (2 if self.kind == "pump" else 1) * self.seconds

    @property
    def argument(self) -> str:
        """The simulator's ``--anomaly`` value."""
        text = f"{self.at:g}:{self.symbol}:{self.kind}:{self.pct:g}"
        return f"{text}:{self.seconds:g}" if self.seconds else text


def all_symbols() -> list[str]:
    return sorted({symbol for symbols in VENUE_SYMBOLS.values() for symbol in symbols})


def scripted_moves(duration: float) -> list[ScriptedMove]:
    """The moves that fit a run of ``duration`` seconds (maybe none)."""
    candidates = [
        ScriptedMove(max(WARM_UP_SECONDS, 0.35 * duration), "BTC-USDT", "jump", 5.0),
        ScriptedMove(max(WARM_UP_SECONDS + 20, 0.6 * duration), "SOL-USDT", "crash", 8.0, 6.0),
        ScriptedMove(max(WARM_UP_SECONDS + 40, 0.75 * duration), "DOGE-USDT", "pump", 10.0, 8.0),
    ]
    return [m for m in candidates if m.end + OBSERVE_SECONDS <= duration]
