"""Record, replay and backtest on crypto (issue 23): ``tradewire record`` records the crypto
cluster beside stocks, and ``tradewire backtest`` fills a crypto strategy on that recording
and on Massive crypto flat files (global_crypto trades_v1 / minute_aggs_v1)."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tradewire.backtest.crypto_data import CRYPTO_TRADE_COLUMNS
from tradewire.engine.journal.store import read_journal
from tradewire.record import iter_frames
from tradewire.record.manifest import MANIFEST_NAME, decode_manifest
from tradewire.sim.venue import VenueConfig, VenueSimulator
from tradewire.venues.polygon.client import PolygonClient
from tradewire.venues.polygon.config import PolygonFeedConfig
from tradewire.venues.polygon.crypto import CRYPTO_FRAME_DECODER, CryptoQuote

pytestmark = [pytest.mark.timeout(120), pytest.mark.one_loop]

STRATEGY = '''
from tradewire import Strategy


class BuysBitcoin(Strategy):
    """Buys 0.001 BTC/USD once: at market on its first crypto quote, or with a limit above
    the first print when the data has only trades (flat files)."""

    def on_start(self):
        self.ordered = False

    def on_quote(self, quote):
        if quote.symbol == "BTC/USD" and not self.ordered:
            self.ordered = True
            self.buy("BTC/USD", 0.001)

    def on_trade(self, trade):
        if trade.symbol == "BTC/USD" and not self.ordered:
            self.ordered = True
            self.buy("BTC/USD", 0.001, limit_price=round(trade.price) + 10)
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


def _backtest(
    tmp_path: Path, data: Path, *extra: str, source: str = STRATEGY, name: str = "BuysBitcoin"
) -> tuple[dict[str, Any], Path]:
    strategy = tmp_path / "buys_bitcoin.py"
    strategy.write_text(textwrap.dedent(source))
    out = tmp_path / "bt"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "tradewire", "backtest", "--data", str(data)),
            *("--strategy", f"{strategy}:{name}", "--symbols", "BTC/USD,AAPL"),
            *("--out", str(out), "--no-progress", *extra),
        ],
        capture_output=True,
        text=True,
        timeout=100,
        env=_env(),
    )
    assert done.returncode == 0, done.stderr
    return json.loads((out / "report.json").read_text()), out


def _fills(out: Path) -> list[Any]:
    records = read_journal(out / "journal.twj").records
    return [r for r in records if r.kind in ("fill", "partial_fill")]


async def test_record_crypto_beside_stocks_then_backtest_fills_at_the_recorded_ask(
    tmp_path: Path, until: Any
) -> None:
    rec = tmp_path / "rec"
    async with VenueSimulator(VenueConfig(symbols=("AAPL",), crypto=("BTC/USD",))) as venue:
        venue.start_source()
        proc = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "tradewire", "record", "--symbols", "BTC/USD,AAPL"),
            *("--feed-url", venue.feed_url, "--out", str(rec), "--flush-ms", "20"),
            env=_env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL,
        )
        try:
            await until(lambda: _frames(rec / "crypto") >= 20 and _frames(rec) >= 20, timeout_s=30)
        finally:
            proc.send_signal(signal.SIGINT)
            async with asyncio.timeout(20):
                _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err

    top = decode_manifest((rec / MANIFEST_NAME).read_bytes())
    part = decode_manifest((rec / "crypto" / MANIFEST_NAME).read_bytes())
    assert (top.market, top.symbols) == ("stocks", ["AAPL"])
    assert (part.market, part.symbols) == ("crypto", ["BTC/USD"])
    assert part.feed_url.endswith("/crypto")
    asks = {
        e.ask_price
        for _, frame in iter_frames(rec / "crypto")
        for e in CRYPTO_FRAME_DECODER.decode(frame)
        if isinstance(e, CryptoQuote)
    }
    assert asks

    # Replayed by the simulator, the crypto part goes out again on /crypto.
    got: list[Any] = []
    async with VenueSimulator(VenueConfig(replay_files=[rec], speed=0)) as venue:
        client = PolygonClient(
            "test-key",
            url=venue.feed_url,
            config=PolygonFeedConfig(stale_after_s=0),
            market="crypto",
        )
        client.on_events(lambda events, _ns: got.extend(events))
        await client.subscribe(["XQ.BTC-USD"])
        session = asyncio.ensure_future(client.run())
        try:
            await venue.feed.wait_for_subscribers("XQ.BTC-USD", timeout_s=10)
            await venue.start_source()
            await until(lambda: len(got) >= 10, timeout_s=10)
        finally:
            session.cancel()
            await client.close()
    assert {e.ask_price for e in got if isinstance(e, CryptoQuote)} <= asks

    report, bt = _backtest(tmp_path, rec)
    assert report["fills"] == 1
    assert "BTC/USD" in report["pnl"]["per_symbol"]
    [fill] = _fills(bt)
    assert fill.data["qty"] == 0.001
    assert fill.data["price"] in asks  # a market buy fills at the ask the recording holds
    assert report["events"] > 40  # stock and crypto events both delivered


def test_backtest_on_crypto_flat_files_fills_a_crypto_order(tmp_path: Path) -> None:
    ns = 1_767_268_800_000_000_000
    data = tmp_path / "flat"
    data.mkdir()
    trades = [",".join(CRYPTO_TRADE_COLUMNS)]
    price = 65_000.0
    for i in range(20):
        price += 5 if i % 2 else -3
        trades.append(f"X:BTCUSD,{1 + i % 2},1,{i},{ns + i * 1_000_000_000},{price},0.01")
        trades.append(f"X:ETHUSD,1,1,e{i},{ns + i * 1_000_000_000 + 1},3100.5,0.2")
    (data / "trades_2026-01-01.csv.gz").write_bytes(
        gzip.compress(("\n".join(trades) + "\n").encode(), mtime=0)
    )
    (data / "minute_aggs_2026-01-01.csv.gz").write_bytes(
        gzip.compress(
            b"ticker,volume,open,close,high,low,window_start,transactions\n"
            + f"X:BTCUSD,0.2,64997,65040,65045,64990,{ns},20\n".encode(),
            mtime=0,
        )
    )
    report, bt = _backtest(tmp_path, data, "--fill-model", "queue")
    assert report["events"] == 21  # 20 BTC/USD trades and one bar; ETH/USD not selected
    assert report["end"] == "2026-01-01T12:01:00Z"  # the bar arrives when its minute ends
    # The strategy saw the first print and ordered; by default trades and bars set no
    # reference price (the engine's risk takes it from quotes, for stocks as for crypto), so
    # the order is denied, not filled; with risk.reference_price: quote_or_last_trade it
    # fills at the prints (the test below).
    [denied] = [r for r in read_journal(bt / "journal.twj").records if r.kind == "denied"]
    assert denied.data["symbol"] == "BTC/USD"
    assert denied.data["rule"] == "no_reference_price"
    assert report["fills"] == 0


ON_PRINTS = """
from tradewire import Strategy


class BuysOnPrints(Strategy):
    \"\"\"On its first print (or bar): 0.001 BTC/USD at market and 0.002 with a limit 20 below.\"\"\"

    def on_start(self):
        self.ordered = False

    def on_trade(self, trade):
        self._order(trade.price)

    def on_bar(self, bar):
        self._order(bar.close)

    def _order(self, price):
        if not self.ordered:
            self.ordered = True
            self.buy("BTC/USD", 0.001)
            self.buy("BTC/USD", 0.002, limit_price=price - 20)
"""

# BTC/USD prints (or minute closes): the limit at 64,980 rests through 64,985 and fills at
# the 64,980 print; ETH/USD is not selected.
PRINTS = (65_000.0, 65_010.0, 64_995.0, 64_985.0, 64_980.0, 65_000.0)


def _flat_trades(data: Path, ns: int) -> None:
    rows = [",".join(CRYPTO_TRADE_COLUMNS)]
    for i, price in enumerate(PRINTS):
        rows.append(f"X:BTCUSD,{1 + i % 2},1,{i},{ns + i * 1_000_000_000},{price},0.01")
        rows.append(f"X:ETHUSD,1,1,e{i},{ns + i * 1_000_000_000 + 1},3100.5,0.2")
    (data / "trades_2026-01-01.csv.gz").write_bytes(
        gzip.compress(("\n".join(rows) + "\n").encode(), mtime=0)
    )


def _flat_minute_aggs(data: Path, ns: int) -> None:
    rows = ["ticker,volume,open,close,high,low,window_start,transactions"]
    for i, close in enumerate(PRINTS):
        start = ns + i * 60_000_000_000
        rows.append(f"X:BTCUSD,0.2,{close},{close},{close + 5},{close - 5},{start},20")
        rows.append(f"X:ETHUSD,1.5,3100,3100,3101,3099,{start},9")
    (data / "minute_aggs_2026-01-01.csv.gz").write_bytes(
        gzip.compress(("\n".join(rows) + "\n").encode(), mtime=0)
    )


@pytest.mark.parametrize("files", ["trades", "minute_aggs"])
def test_backtest_on_crypto_trades_or_minute_aggs_alone_fills_at_the_prints(
    tmp_path: Path, files: str
) -> None:
    """No quotes in the data: the last print (for minute aggregates, the bar's close) is
    the touch the orders fill at, and, with ``risk.reference_price: quote_or_last_trade``,
    the reference risk prices them at."""
    ns = 1_767_268_800_000_000_000
    data = tmp_path / "flat"
    data.mkdir()
    (_flat_trades if files == "trades" else _flat_minute_aggs)(data, ns)
    config = tmp_path / "risk.yaml"
    config.write_text("risk:\n  reference_price: quote_or_last_trade\n")
    report, bt = _backtest(
        tmp_path, data, "--config", str(config), source=ON_PRINTS, name="BuysOnPrints"
    )
    assert report["events"] == len(PRINTS)
    assert report["orders"] == 2
    assert report["fills"] == 2
    got = [(f.data["qty"], f.data["price"]) for f in _fills(bt)]
    assert got == [(0.001, 65_000.0), (0.002, 64_980.0)]
    records = read_journal(bt / "journal.twj").records
    assert not [r for r in records if r.kind == "denied"]
    assert report["pnl"]["per_symbol"]["BTC/USD"]["position"] == pytest.approx(0.003)
