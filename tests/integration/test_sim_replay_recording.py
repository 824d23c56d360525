"""``tradewire sim --replay`` with a ``tradewire record`` recording: its frames go out again."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradewire import PolygonClient
from tradewire.record.writer import RecordingWriter
from tradewire.sim.process import SimProcess
from tradewire.sim.sources import TRADE_COLUMNS
from tradewire.sim.venue import VenueConfig, VenueSimulator, replay_sources
from tradewire.venues.polygon.config import PolygonFeedConfig
from tradewire.venues.polygon.messages import Quote, Trade

pytestmark = pytest.mark.timeout(60)

T0 = 1_735_830_000_000_000_000
FRAMES = [
    b'[{"ev":"status","status":"auth_success","message":"authenticated"}]',
    b'[{"ev":"Q","sym":"AAPL","bp":1.0,"ap":1.1,"bs":2,"as":3,"t":1735830000000,"q":1},'
    b'{"ev":"T","sym":"AAPL","p":1.05,"s":100,"c":[12,37],"i":"9","t":1735830000000,"q":2}]',
    b'[{"ev":"Q","sym":"MSFT","bp":2.0,"ap":2.2,"bs":1,"as":1,"t":1735830000001,"q":3}]',
]


def record(directory: Path) -> Path:
    with RecordingWriter(directory, feed_url="wss://x", symbols=["AAPL", "MSFT"]) as writer:
        for i, frame in enumerate(FRAMES):
            writer.append(T0 + i * 1_000_000, frame)
    return directory


def test_replay_sources_merges_recording_frames_and_flat_files_in_time_order(tmp_path):
    rec = record(tmp_path / "rec")
    trades = tmp_path / "t.csv"
    trades.write_text(",".join(TRADE_COLUMNS) + f"\nAAPL,,0,4,1,0,1.06,5,{T0 + 1_500_000},10,3,,\n")

    frames = list(replay_sources([rec, trades]))

    assert [(ns, [e["ev"] for e in evs]) for ns, evs in frames] == [
        (T0 + 1_000_000, ["Q", "T"]),  # the status frame is the recorder's session: dropped
        (T0 + 1_500_000, ["T"]),
        (T0 + 2_000_000, ["Q"]),
    ]


async def test_simulator_replays_a_recording_to_a_subscribed_client(tmp_path, until):
    rec = record(tmp_path / "rec")
    got: list[object] = []
    async with VenueSimulator(VenueConfig(replay_files=[rec], speed=0)) as venue:
        client = PolygonClient(
            "test-key", url=venue.feed_url, config=PolygonFeedConfig(stale_after_s=0)
        )
        try:
            await client.subscribe(["Q.*", "T.*"], got.append)
            await venue.feed.wait_for_subscribers("T.*", timeout_s=10)

            sent = await venue.start_source()
            await until(lambda: len(got) == 3, timeout_s=10)
        finally:
            await client.close()

    assert sent == 3
    assert got == [
        Quote("AAPL", 1.0, 1.1, 2, 3, timestamp=1735830000000, sequence=1),
        Trade("AAPL", 1.05, 100, conditions=[12, 37], id="9", timestamp=1735830000000, sequence=2),
        Quote("MSFT", 2.0, 2.2, 1, 1, timestamp=1735830000001, sequence=3),
    ]


async def test_sim_process_accepts_a_recording_folder(tmp_path, until):
    rec = record(tmp_path / "rec")
    got: list[object] = []
    # At 1/2000 speed the MSFT frame leaves 2 s after the first: time enough to subscribe.
    async with SimProcess(["--replay", str(rec), "--speed", "0.0005"]) as sim:
        client = PolygonClient(
            "test-key", url=sim.feed_url, config=PolygonFeedConfig(stale_after_s=0)
        )
        await client.subscribe(["Q.*"], got.append)
        await until(lambda: any(getattr(e, "symbol", "") == "MSFT" for e in got), timeout_s=15)
        await client.close()
    # No exit code check: the simulator ends by itself when the replay does, racing a stop.
