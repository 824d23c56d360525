"""``tradewire sim --replay`` of a recording with a crypto/ part (issue 23): its XQ/XT frames
go out beside the stock frames, in receive order."""

from __future__ import annotations

from pathlib import Path

from tradewire.record.writer import RecordingWriter
from tradewire.sim.venue import replay_sources

T0 = 1_735_830_000_000_000_000


def test_replay_sources_include_the_crypto_part_in_receive_order(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    with RecordingWriter(rec, feed_url="ws://h/stocks", symbols=["AAPL"]) as w:
        w.append(T0, b'[{"ev":"Q","sym":"AAPL","bp":1.0,"ap":1.1,"bs":2,"as":3,"t":1}]')
        w.append(T0 + 2, b'[{"ev":"T","sym":"AAPL","p":1.05,"s":100,"t":1}]')
    with RecordingWriter(
        rec / "crypto", feed_url="ws://h/crypto", symbols=["BTC/USD"], market="crypto"
    ) as w:
        w.append(T0 + 1, b'[{"ev":"XQ","pair":"BTC-USD","bp":1.0,"ap":2.0,"bs":1,"as":1,"t":1}]')
    frames = list(replay_sources([rec]))
    assert [(ns, [e["ev"] for e in evs]) for ns, evs in frames] == [
        (T0, ["Q"]),
        (T0 + 1, ["XQ"]),
        (T0 + 2, ["T"]),
    ]
