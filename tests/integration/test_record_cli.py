"""``tradewire record`` as an operator runs it: against the simulator over loopback, then
the recording read back; and bad arguments as one line with exit code 2."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tradewire.record import ReadReport, iter_frames
from tradewire.sim.process import SimProcess, interrupt

# Every async test here drives child processes (the CLI, the simulator); its own event loop
# only waits on them, so it runs on one loop (conftest: one_loop).
pytestmark = pytest.mark.one_loop

ROOT = Path(__file__).parents[2]
KEY = "test-key"


def env(**extra: str) -> dict[str, str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("POLYGON_", "MASSIVE_", "APCA_"))
    }
    return {**clean, "PYTHONUNBUFFERED": "1", **extra}


async def record(cwd: Path, *args: str, timeout_s: float = 30) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tradewire.app.cli",
        "record",
        *args,
        cwd=cwd,
        env=env(POLYGON_API_KEY=KEY),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
    )
    try:
        async with asyncio.timeout(timeout_s):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.timeout(60)
async def test_record_the_simulator_for_two_seconds_and_read_it_back(tmp_path):
    out = tmp_path / "rec"
    async with SimProcess(["--symbols", "AAPL,MSFT,GOOGL", "--rate", "500"]) as sim:
        code, stdout, stderr = await record(
            tmp_path,
            "--feed-url",
            sim.feed_url,
            "--symbols",
            "AAPL,MSFT",
            "--duration",
            "2",
            "--out",
            str(out),
        )
    assert code == 0, stderr
    assert "Traceback" not in stderr

    report = ReadReport()
    records = list(iter_frames(out, report=report))
    assert len(records) > 50
    assert report.torn == []
    stamps = [ns for ns, _ in records]
    assert all(a < b for a, b in itertools.pairwise(stamps))
    seen = set()
    for _, raw in records:
        events = json.loads(raw)
        assert isinstance(events, list)
        assert events
        for event in events:
            assert event["ev"] in {"Q", "T"}
            assert event["sym"] in {"AAPL", "MSFT"}
            seen.add((event["ev"], event["sym"]))
    assert {sym for _, sym in seen} == {"AAPL", "MSFT"}

    manifest_text = (out / "manifest.json").read_text()
    manifest = json.loads(manifest_text)
    assert manifest["feed_url"] == sim.feed_url
    assert manifest["symbols"] == ["AAPL", "MSFT"]
    assert sum(s["frames"] for s in manifest["segments"]) == len(records)
    assert manifest["segments"][0]["first_recv_ns"] == stamps[0]
    assert manifest["segments"][-1]["last_recv_ns"] == stamps[-1]
    assert KEY not in manifest_text
    assert KEY not in stdout
    assert KEY not in stderr
    assert f"{len(records)} frames" in stdout


@pytest.mark.timeout(60)
async def test_record_every_symbol_rotates_and_stays_under_max_bytes(tmp_path):
    out = tmp_path / "rec"
    async with SimProcess(["--symbols", "AAPL,MSFT", "--rate", "3000"]) as sim:
        code, _, stderr = await record(
            tmp_path,
            "--feed-url",
            sim.feed_url,
            "--symbols",
            "*",
            "--duration",
            "2",
            "--rotate-bytes",
            "4k",
            "--max-bytes",
            "12k",
            "--flush-ms",
            "20",
            "--out",
            str(out),
        )
    assert code == 0, stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["evicted_total"] > 0
    segments = sorted(out.glob("feed-*.twr"))
    assert sum(f.stat().st_size for f in segments) <= 12 * 1024
    assert [s["file"] for s in manifest["segments"]] == [f.name for f in segments]
    records = list(iter_frames(out))
    assert records
    assert {e["sym"] for _, raw in records for e in json.loads(raw)} <= {"AAPL", "MSFT"}


def run_cli(cwd: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradewire.app.cli", "record", *args],
        cwd=cwd,
        env=env(**extra_env),
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--symbols", "", "--out", "{tmp}/r"], "--symbols"),
        (["--symbols", " , ", "--out", "{tmp}/r"], "--symbols"),
        (["--symbols", "AAPL,$$", "--out", "{tmp}/r"], "not a ticker"),
        (["--symbols", "AAPL", "--out", "{tmp}/a-file/r"], "--out"),
        (["--symbols", "AAPL"], "--out"),
        (["--symbols", "AAPL", "--out", "{tmp}/r", "--duration", "-1"], "--duration"),
        (["--symbols", "AAPL", "--out", "{tmp}/r", "--duration", "nan"], "--duration"),
        (["--symbols", "AAPL", "--out", "{tmp}/r", "--max-bytes", "1k"], "--max-bytes"),
        (["--symbols", "AAPL", "--out", "{tmp}/r", "--rotate-bytes", "0"], "--rotate-bytes"),
        (["--symbols", "AAPL", "--out", "{tmp}/r", "--feed-url", "http://x"], "--feed-url"),
    ],
)
def test_bad_arguments_exit_2_with_one_line_and_no_traceback(tmp_path, args, says):
    (tmp_path / "a-file").write_text("not a folder")  # unwritable as a parent, even for root
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    run = run_cli(tmp_path, *argv, POLYGON_API_KEY=KEY)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("tradewire record: error: ")
    assert says in lines[0]
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.timeout(60)
def test_no_api_key_exits_2_naming_the_variable(tmp_path):
    run = run_cli(tmp_path, "--symbols", "AAPL", "--out", str(tmp_path / "r"))
    assert run.returncode == 2
    assert "POLYGON_API_KEY" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


@pytest.mark.timeout(60)
async def test_sigint_ends_a_recording_cleanly_with_exit_0(tmp_path):
    out = tmp_path / "rec"
    async with SimProcess(["--symbols", "AAPL", "--rate", "500"]) as sim:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tradewire.app.cli",
            "record",
            "--feed-url",
            sim.feed_url,
            "--symbols",
            "AAPL",
            "--out",
            str(out),
            cwd=tmp_path,
            env=env(POLYGON_API_KEY=KEY),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL,
        )
        assert proc.stdout is not None
        try:
            async with asyncio.timeout(30):
                ready = await proc.stdout.readline()  # printed once subscribed
                assert b"recording AAPL" in ready
                await interrupt(proc, 20)
                rest, err = await proc.communicate()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert proc.returncode == 0, err.decode()
    assert b"frames in" in rest
    manifest = json.loads((out / "manifest.json").read_text())
    assert sum(s["frames"] for s in manifest["segments"]) == len(list(iter_frames(out)))
