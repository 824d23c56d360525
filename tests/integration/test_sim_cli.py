"""``tradewire sim`` as a separate process: ready line, real data, clean SIGINT stop."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import urllib.request

import pytest

from tradewire import PolygonClient, Quote
from tradewire.sim.process import SimProcess
from tradewire.venues.polygon.config import PolygonFeedConfig


async def test_sim_process_serves_synthetic_quotes_and_stops_cleanly_on_sigint(until):
    # Arrange
    got: list[Quote] = []
    async with SimProcess(["--symbols", "AAPL,MSFT", "--rate", "2000", "--seed", "3"]) as sim:
        assert sim.feed_url.startswith("ws://127.0.0.1:")
        client = PolygonClient(
            "test-key", url=sim.feed_url, config=PolygonFeedConfig(stale_after_s=0)
        )

        # Act
        await client.subscribe_quotes(["AAPL"], got.append)
        await until(lambda: len(got) >= 20, timeout_s=10)
        await client.close()
        code = await sim.stop()

    # Assert
    assert code == 0
    assert {q.symbol for q in got} == {"AAPL"}
    assert all(0 < q.bid_price < q.ask_price for q in got)
    assert any("tradewire sim stopped" in line for line in sim.output)


async def test_sim_process_replays_flat_files(until):
    from pathlib import Path

    flat = Path(__file__).parents[1] / "fixtures" / "polygon" / "flatfiles"
    got: list[object] = []
    args = [
        "--replay",
        str(flat / "2025-01-02-quotes.csv"),
        "--replay",
        str(flat / "2025-01-02-trades.csv"),
        "--speed",
        "0.001",
    ]
    async with SimProcess(args) as sim:
        client = PolygonClient(
            "test-key", url=sim.feed_url, config=PolygonFeedConfig(stale_after_s=0)
        )
        await client.subscribe(["Q.*", "T.*"], got.append)
        # At 1/1000 speed the 2 ms of recorded data take ~2 s, long enough to subscribe first;
        # the first event may go out before the subscription lands, so expect at least the rest.
        await until(lambda: len(got) >= 3, timeout_s=15)
        await client.close()


@pytest.mark.one_loop  # the simulator is a child process; this loop only waits on it
async def test_the_broker_outlives_a_replay_that_ended(until):
    # Before: the process ended with its replay, so an engine still trading against it lost
    # its broker mid-run (10 s of reconciliation retries at its stop, orders unreachable).
    from pathlib import Path

    flat = Path(__file__).parents[1] / "fixtures" / "polygon" / "flatfiles"
    args = ["--replay", str(flat / "2025-01-02-quotes.csv"), "--speed", "0"]
    async with SimProcess(args) as sim:
        await until(lambda: any("replay finished" in x for x in sim.output), timeout_s=15)
        account = await asyncio.to_thread(_get, f"{sim.broker_url}/v2/account")
        assert account["status"] == "ACTIVE"
        code = await sim.stop()
    assert code == 0
    assert any("tradewire sim stopped" in line for line in sim.output)


def _get(url: str) -> dict[str, object]:
    req = urllib.request.Request(
        url, headers={"APCA-API-KEY-ID": "test-key", "APCA-API-SECRET-KEY": "test-secret"}
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        data: dict[str, object] = json.loads(resp.read())
    return data


BAD_ARGS = [
    ["--symbols", ",,,"],
    ["--symbols", "0"],
    ["--symbols", "-5"],
    ["--symbols", "AAPL,MS FT"],
    ["--feed-port", "99999"],
    ["--broker-port", "-1"],
    ["--rate", "-10"],
    ["--duration", "-1"],
    ["--partial-fills", "2"],
    ["--replay", "/nonexistent/quotes.csv.gz"],
]


@pytest.mark.parametrize("bad", BAD_ARGS, ids=[" ".join(b) for b in BAD_ARGS])
def test_sim_bad_argument_is_one_clear_error_and_exit_2(bad):
    done = subprocess.run(
        [sys.executable, "-m", "tradewire", "sim", *bad], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "error:" in done.stderr


def test_sim_port_in_use_is_one_clear_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "tradewire", "sim", "--feed-port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert str(port) in done.stderr


async def test_sim_process_announces_massive_rest_and_serves_the_option_chain(until):
    # Before: the ready line had no rest= and the simulator served no Massive REST at all.
    from tradewire.errors import MarketDataError
    from tradewire.venues.polygon.rest import MassiveRestClient

    args = ["--symbols", "SPY", "--options", "SPY", "--rate", "500"]
    async with SimProcess(args) as sim:
        assert sim.rest_url.startswith("http://127.0.0.1:")
        ready = next(line for line in sim.output if "tradewire sim ready" in line)
        assert ready.rstrip().endswith(f" rest={sim.rest_url}")
        chain: list[object] = []
        async with MassiveRestClient("test-key", base_url=sim.rest_url) as rest:

            async def listed() -> bool:
                chain[:] = await rest.option_chain("SPY")
                return bool(chain)

            for _ in range(50):  # listed once the first SPY quote gave it a price
                if await listed():
                    break
                await asyncio.sleep(0.1)
        async with MassiveRestClient("wrong", base_url=sim.rest_url) as wrong:
            with pytest.raises(MarketDataError, match="Unknown API Key"):
                await wrong.option_chain("SPY")
        code = await sim.stop()

    assert code == 0
    assert len(chain) == 66
