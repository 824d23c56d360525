"""Crypto in the backtest's data (issue 23): a recording's crypto sub-recording and Massive's
global_crypto flat files (trades_v1, minute_aggs_v1) as the live crypto client's events."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tradewire.backtest.crypto_data import CRYPTO_TRADE_COLUMNS
from tradewire.backtest.data import describe, iter_batches
from tradewire.record.writer import RecordingWriter
from tradewire.venues.polygon.crypto import CryptoMinuteAggregate, CryptoQuote, CryptoTrade
from tradewire.venues.polygon.messages import Quote

NS = 1_767_268_800_000_000_000  # 2026-01-01 12:00 UTC
MS = NS // 1_000_000

TRADES = (
    ",".join(CRYPTO_TRADE_COLUMNS) + "\n"
    f'X:BTCUSD,"2",1,t1,{NS + 1_000_000},65000.5,0.015\n'
    f"X:ETHUSD,1,1,t2,{NS + 2_000_000},3100.25,1.5\n"
    f"X:BTCUSD,,4,t3,{NS + 90_000_000_000},65010,0.002\n"
)
MINUTES = (
    "ticker,volume,open,close,high,low,window_start,transactions\n"
    f"X:BTCUSD,1.25,65000,65010,65020,64990,{NS},12\n"
    f"X:ETHUSD,10,3100,3101,3102,3099,{NS},4\n"
)


def gz(path: Path, text: str) -> Path:
    path.write_bytes(gzip.compress(text.encode(), mtime=0))
    return path


def test_crypto_flat_files_are_crypto_events_in_time_order(tmp_path: Path) -> None:
    gz(tmp_path / "trades_2026-01-01.csv.gz", TRADES)
    gz(tmp_path / "minute_aggs_2026-01-01.csv.gz", MINUTES)
    batches = list(iter_batches(tmp_path, symbols=frozenset({"BTC/USD"})))
    events = [e for _, evs in batches for e in evs]
    assert [type(e) for e in events] == [CryptoTrade, CryptoMinuteAggregate, CryptoTrade]
    first, bar, _last = events
    assert isinstance(first, CryptoTrade)
    assert (first.symbol, first.pair, first.price, first.size) == (
        "BTC/USD",
        "BTC-USD",
        65000.5,
        0.015,
    )
    assert (first.timestamp, first.conditions, first.exchange, first.id) == (MS + 1, [2], 1, "t1")
    assert isinstance(bar, CryptoMinuteAggregate)
    assert (bar.open, bar.close, bar.high, bar.low, bar.volume) == (
        65000,
        65010,
        65020,
        64990,
        1.25,
    )
    assert (bar.start, bar.end) == (MS, MS + 60_000)
    clocks = [c for c, _ in batches]
    assert clocks == sorted(clocks)
    assert clocks[1] == NS + 60_000_000_000  # a bar is delivered when its minute ends


def test_crypto_flat_files_sit_beside_stock_files(tmp_path: Path) -> None:
    gz(tmp_path / "trades.csv.gz", TRADES)
    (tmp_path / "quotes.csv").write_text(
        "ticker,ask_exchange,ask_price,ask_size,bid_exchange,bid_price,bid_size,conditions,"
        "indicators,participant_timestamp,sequence_number,sip_timestamp,tape,trf_timestamp\n"
        f"AAPL,11,100.01,1,12,99.99,2,1,,{NS},1,{NS + 1_500_000},3,\n"
    )
    summary = describe(tmp_path)
    assert summary.events == {"XT": 3, "Q": 1}
    assert summary.symbols == {"BTC/USD", "ETH/USD", "AAPL"}
    kinds = [type(e).__name__ for _, evs in iter_batches(tmp_path) for e in evs]
    assert kinds == ["CryptoTrade", "Quote", "CryptoTrade", "CryptoTrade"]


def _frame(items: list[dict[str, object]]) -> bytes:
    return json.dumps(items).encode()


def test_a_recording_with_a_crypto_part_gives_both_markets_in_receive_order(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    with RecordingWriter(rec, feed_url="ws://h/stocks", symbols=["AAPL"]) as w:
        w.append(NS + 10, _frame([{"ev": "Q", "sym": "AAPL", "bp": 99.0, "ap": 99.5, "t": MS}]))
        w.append(NS + 30, _frame([{"ev": "Q", "sym": "AAPL", "bp": 99.1, "ap": 99.6, "t": MS}]))
    with RecordingWriter(
        rec / "crypto", feed_url="ws://h/crypto", symbols=["BTC/USD"], market="crypto"
    ) as w:
        w.append(
            NS + 20,
            _frame(
                [
                    {
                        "ev": "XQ",
                        "pair": "BTC-USD",
                        "bp": 64999.5,
                        "bs": 0.5,
                        "ap": 65001,
                        "as": 0.25,
                        "t": MS,
                        "x": 1,
                        "r": MS,
                    }
                ]
            ),
        )
        w.append(NS + 25, _frame([{"ev": "status", "status": "success", "message": "x"}]))
        w.append(
            NS + 40,
            _frame(
                [
                    {
                        "ev": "XT",
                        "pair": "BTC-USD",
                        "p": 65000,
                        "s": 0.01,
                        "t": MS,
                        "c": [1],
                        "i": 7,
                        "x": 1,
                    },
                    {"ev": "NEW", "pair": "BTC-USD"},
                ]
            ),
        )
    batches = list(iter_batches(rec))
    assert [c for c, _ in batches] == [NS + 10, NS + 20, NS + 30, NS + 40]
    kinds = [type(evs[0]) for _, evs in batches]
    assert kinds == [Quote, CryptoQuote, Quote, CryptoTrade]
    quote = batches[1][1][0]
    assert isinstance(quote, CryptoQuote)
    assert (quote.symbol, quote.ask_price, quote.ask_size) == ("BTC/USD", 65001, 0.25)
    only = list(iter_batches(rec, symbols=frozenset({"BTC/USD"})))
    assert [c for c, _ in only] == [NS + 20, NS + 40]


def test_a_crypto_sub_recording_reads_alone(tmp_path: Path) -> None:
    rec = tmp_path / "crypto"
    with RecordingWriter(rec, feed_url="ws://h/crypto", symbols=["BTC/USD"], market="crypto") as w:
        w.append(
            NS,
            _frame(
                [
                    {
                        "ev": "XA",
                        "pair": "BTC-USD",
                        "o": 1,
                        "c": 2,
                        "h": 3,
                        "l": 1,
                        "v": 4,
                        "s": MS,
                        "e": MS + 60_000,
                    }
                ]
            ),
        )
    [(_clock, [bar])] = list(iter_batches(rec))
    assert isinstance(bar, CryptoMinuteAggregate)
    assert bar.symbol == "BTC/USD"


def test_a_bad_crypto_row_names_the_file_and_line(tmp_path: Path) -> None:
    gz(tmp_path / "t.csv.gz", TRADES.replace("65000.5", "abc"))
    with pytest.raises(Exception, match=r"t\.csv\.gz:2: bad row"):
        list(iter_batches(tmp_path))


def test_a_crypto_only_recording_reads_from_its_crypto_part(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    RecordingWriter(rec, feed_url="ws://h/stocks", symbols=[]).close()  # no stock frames
    with RecordingWriter(
        rec / "crypto", feed_url="ws://h/crypto", symbols=["BTC/USD"], market="crypto"
    ) as w:
        w.append(NS, _frame([{"ev": "XT", "pair": "BTC-USD", "p": 1.5, "s": 2, "t": MS}]))
    [(clock, [trade])] = list(iter_batches(rec))
    assert clock == NS
    assert isinstance(trade, CryptoTrade)
    assert trade.symbol == "BTC/USD"


def test_a_crypto_flat_file_sorted_by_ticker_is_read_in_time_order(tmp_path: Path) -> None:
    # Massive's day files list one ticker after another; a backtest needs them in time order.
    rows = TRADES.splitlines()
    by_ticker = "\n".join([rows[0], rows[2], rows[1], rows[3]]) + "\n"  # ETH first, then BTC
    gz(tmp_path / "trades.csv.gz", by_ticker)
    events = [e for _, evs in iter_batches(tmp_path) for e in evs]
    assert [(e.symbol, e.timestamp) for e in events] == [
        ("BTC/USD", MS + 1),
        ("ETH/USD", MS + 2),
        ("BTC/USD", MS + 90_000),
    ]
