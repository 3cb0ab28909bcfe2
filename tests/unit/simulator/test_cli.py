"""``marketprism simulate``'s arguments and its run until a signal."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal

import pytest

from ingest.simulator import Anomaly
from ingest.simulator.cli import add_arguments, run
from tests.unit.simulator.helpers import eventually, get, open_client


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_arguments() -> None:
    args = parse("--anomaly", "60:BTC-USDT:jump:5", "--speed", "max", "--rate", "10")
    assert args.anomaly == [Anomaly(60.0, "BTC-USDT", "jump", 5.0)]
    assert args.speed is None and args.rate == 10.0
    assert args.venues == "binance,binance_futures,okx,deribit"
    with pytest.raises(SystemExit):
        parse("--anomaly", "60:BTC-USDT:wobble:5")


@pytest.mark.asyncio
async def test_run_prints_the_urls_and_stops_on_sigterm(capsys: pytest.CaptureFixture[str]) -> None:
    args = parse("--venues", "binance,okx", "--symbols", "BTC-USDT", "--rate", "100")
    task = asyncio.create_task(run(args))
    lines: list[str] = []

    def printed() -> bool:
        lines.extend(capsys.readouterr().out.splitlines())
        return any(line.startswith("# inject") for line in lines)

    await eventually(printed)
    urls = dict(line.split("=", 1) for line in lines if line.startswith("MARKETPRISM_"))
    assert sorted(urls) == [
        "MARKETPRISM_EXCHANGES__BINANCE__REST_URL",
        "MARKETPRISM_EXCHANGES__BINANCE__WS_URL",
        "MARKETPRISM_EXCHANGES__OKX__REST_URL",
        "MARKETPRISM_EXCHANGES__OKX__WS_URL",
    ]
    status, _, _ = await get(urls["MARKETPRISM_EXCHANGES__BINANCE__REST_URL"] + "/api/v3/ping")
    assert status == 200
    async with open_client(urls["MARKETPRISM_EXCHANGES__OKX__WS_URL"], "okx") as client:
        await client.send("ping")
        assert await client.recv() == "pong"
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(task, 15) == 0


@pytest.mark.asyncio
async def test_bad_arguments_exit_with_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert await run(parse("--venues", "kraken")) == 2
    assert "kraken" in capsys.readouterr().out
