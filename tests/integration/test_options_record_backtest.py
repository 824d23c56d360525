"""Record, replay and backtest on options (issue 24): ``tradewire record`` records the options
cluster beside the underlying into ``options/``, the simulator replays it on /options, and
``tradewire backtest`` runs a strategy on it that reads the chain the recording holds,
subscribes to two of its calls (not in ``--symbols``: the backtest reads every recorded
contract of the underlying) and buys the vertical with one mleg order, which the backtest
broker fills leg by leg against the recorded option quotes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tradewire.record import iter_frames
from tradewire.record.manifest import MANIFEST_NAME, decode_manifest
from tradewire.sim.venue import VenueConfig, VenueSimulator
from tradewire.venues.polygon.client import PolygonClient
from tradewire.venues.polygon.config import PolygonFeedConfig
from tradewire.venues.polygon.messages import Quote
from tradewire.venues.polygon.options import OPTIONS_FRAME_DECODER

pytestmark = [pytest.mark.timeout(120), pytest.mark.one_loop]

STRATEGY = '''
import json

from tradewire import Leg, Strategy


class BuysAVertical(Strategy):
    """Writes down what it heard of each symbol; buys one call vertical from its chain."""

    def on_start(self):
        self.heard = {}
        self.legs = []
        self.entry = None
        self.fills = []

    def _heard(self, kind, event):
        self.heard.setdefault(event.symbol, {}).setdefault(kind, 0)
        self.heard[event.symbol][kind] += 1

    def on_quote(self, quote):
        self._heard("quote", quote)
        if not self.legs:
            calls = self.option_chain("SPY", type="call")
            if len(calls) >= 2:
                self.legs = [calls[0].symbol, calls[1].symbol]
                self.subscribe(self.legs)
        elif self.entry is None and all(self.mid(s) for s in self.legs):
            net = self.mid(self.legs[0]) - self.mid(self.legs[1])
            self.entry = self.submit_multileg(
                [Leg(self.legs[0], 1, "buy"), Leg(self.legs[1], 1, "sell")],
                1,
                limit_price=round(net + 0.50, 2),
            )

    def on_fill(self, update):
        self.fills.append([update.order.symbol, update.fill_qty, update.fill_price])

    def on_trade(self, trade):
        self._heard("trade", trade)

    def on_bar(self, bar):
        self._heard("bar", bar)

    def on_stop(self):
        positions = {s: self.position(s).qty for s in self.legs}
        denied = self.entry.denied if self.entry is not None else None
        out = {"heard": self.heard, "legs": self.legs, "fills": self.fills,
               "positions": positions, "denied": denied}
        with open(self.params["out"], "w") as f:
            json.dump(out, f)
'''


def _env() -> dict[str, str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("POLYGON_", "MASSIVE_", "APCA_"))
    }
    return {**clean, "PYTHONUNBUFFERED": "1", "POLYGON_API_KEY": "test-key"}


def _frames(path: Path) -> int:
    try:
        return sum(1 for _ in iter_frames(path))
    except (FileNotFoundError, OSError):
        return 0


def _backtest(tmp_path: Path, rec: Path) -> tuple[Path, Path]:
    strategy = tmp_path / "buys_a_vertical.py"
    strategy.write_text(textwrap.dedent(STRATEGY))
    heard_file = tmp_path / "heard.json"
    out = tmp_path / "bt"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "tradewire", "backtest", "--data", str(rec)),
            *("--strategy", f"{strategy}:BuysAVertical", "--symbols", "SPY"),
            *("--params", json.dumps({"out": str(heard_file)})),
            *("--out", str(out), "--no-progress"),
        ],
        capture_output=True,
        text=True,
        timeout=100,
        env=_env(),
    )
    assert done.returncode == 0, done.stderr
    return heard_file, out


async def test_record_options_beside_the_underlying_replay_and_backtest(
    tmp_path: Path, until: Any
) -> None:
    rec = tmp_path / "rec"
    config = VenueConfig(symbols=("AAPL",), options=("SPY",), rate=500.0)
    async with VenueSimulator(config) as venue:
        venue.start_source()
        await until(lambda: len(venue.option_chains) > 0, timeout_s=10)
        # Two calls of the last listed expiry (weeks away: none expires during the test).
        last = max(c.expiry for c in venue.option_chains)
        calls = sorted(
            (c for c in venue.option_chains if c.expiry == last and c.right == "call"),
            key=lambda c: c.strike,
        )
        mid = len(calls) // 2
        contract, other = calls[mid].symbol, calls[mid + 1].symbol
        proc = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "tradewire", "record"),
            *("--symbols", f"SPY,{contract},{other}"),
            *("--feed-url", venue.feed_url, "--out", str(rec), "--flush-ms", "20"),
            env=_env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL,
        )
        try:
            await until(lambda: _frames(rec / "options") >= 40 and _frames(rec) >= 5, timeout_s=30)
        finally:
            proc.send_signal(signal.SIGINT)
            async with asyncio.timeout(20):
                _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err

    top = decode_manifest((rec / MANIFEST_NAME).read_bytes())
    part = decode_manifest((rec / "options" / MANIFEST_NAME).read_bytes())
    assert (top.market, top.symbols) == ("stocks", ["SPY"])
    assert (part.market, sorted(part.symbols)) == ("options", sorted([contract, other]))
    assert part.feed_url.endswith("/options")
    asks = {
        e.ask_price
        for _, frame in iter_frames(rec / "options")
        for e in OPTIONS_FRAME_DECODER.decode(frame)
        if isinstance(e, Quote)
    }
    assert asks

    # Replayed by the simulator, the options part goes out again on /options.
    got: list[Any] = []
    async with VenueSimulator(VenueConfig(replay_files=[rec], speed=0)) as venue:
        client = PolygonClient(
            "test-key",
            url=venue.feed_url,
            config=PolygonFeedConfig(stale_after_s=0),
            market="options",
        )
        client.on_events(lambda events, _ns: got.extend(events))
        await client.subscribe([f"Q.O:{contract}"])
        session = asyncio.ensure_future(client.run())
        try:
            await venue.feed.wait_for_subscribers(f"Q.O:{contract}", timeout_s=10)
            await venue.start_source()
            await until(lambda: len(got) >= 3, timeout_s=10)
        finally:
            session.cancel()
            await client.close()
        assert venue.market.nbbo(contract) is not None  # the broker's market has the contract
    assert {e.symbol for e in got} == {contract}  # the client subscribed to one of them
    assert {e.ask_price for e in got if isinstance(e, Quote)} <= asks

    heard_file, out = await asyncio.to_thread(_backtest, tmp_path, rec)
    seen = json.loads(heard_file.read_text())
    heard = seen["heard"]
    assert seen["legs"] == [contract, other]  # the chain the recording holds, by strike
    assert seen["denied"] is None
    assert heard[contract]["quote"] > 0  # the subscribed options' quotes, by Alpaca symbol
    assert heard["SPY"]["quote"] > 0  # and the underlying's, beside them
    combo = f"{contract}+{other}"
    assert [f[:2] for f in seen["fills"]] == [[combo, 1.0]]  # one unit of the vertical
    assert 0 < seen["fills"][0][2] < 10  # a debit: the net per share
    assert seen["positions"] == {contract: 1.0, other: -1.0}  # booked leg by leg
    report = json.loads((out / "report.json").read_text())
    assert report["fills"] == 1
    per_symbol = report["pnl"]["per_symbol"]
    assert (per_symbol[contract]["position"], per_symbol[other]["position"]) == (1, -1)
