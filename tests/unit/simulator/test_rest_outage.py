"""A REST endpoint that stays down until told otherwise (``rest_outage``)."""

from __future__ import annotations

import pytest

from ingest.simulator import SimulatedExchange, SyntheticMarket
from tests.unit.simulator.helpers import get, post


@pytest.mark.asyncio
async def test_an_outage_fails_one_endpoint_until_it_ends() -> None:
    market = SyntheticMarket(("BTC-USDT-PERP",), seed=5, paused=True)
    async with SimulatedExchange("binance_futures", market) as sim:
        interest = sim.rest_url + "/fapi/v1/openInterest"
        clock = sim.rest_url + "/fapi/v1/time"
        sim.faults.rest_outage(600.0, status=400, path="/fapi/v1/openInterest")
        for _ in range(3):
            status, _, body = await get(interest, symbol="BTCUSDT")
            assert (status, body["code"]) == (400, -1000)
        assert (await get(clock))[0] == 200, "other endpoints answer"

        sim.faults.rest_outage(0)
        assert (await get(interest, symbol="BTCUSDT"))[0] == 200

        status, body = await post(sim.control_url + "/fault", fault="rest_outage", seconds=600)
        assert status == 200 and body["arguments"] == {"seconds": 600.0}
        assert (await get(clock))[0] == 503, "no path: every endpoint, 503 by default"
