"""``tradewire run`` as a user runs it: sim mode, metrics, kill switch over HTTP, SIGINT stop."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import urllib.request
from pathlib import Path

import pytest

# Every async test here drives child processes (the CLI, the simulator); its own event loop
# only waits on them, so it runs on one loop (conftest: one_loop).
pytestmark = pytest.mark.one_loop

ROOT = Path(__file__).parents[2]


async def readline_matching(
    stream: asyncio.StreamReader, pattern: str, timeout_s: float = 30
) -> re.Match[str]:
    async with asyncio.timeout(timeout_s):
        while True:
            line = (await stream.readline()).decode()
            if not line:
                raise AssertionError(f"process ended before printing {pattern!r}")
            match = re.search(pattern, line)
            if match:
                return match


def http(url: str, *, data: bytes | None = None, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    req = urllib.request.Request(
        url, data=data, headers=headers, method="POST" if data is not None else "GET"
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


async def test_run_trades_sample_strategy_exposes_metrics_obeys_kill_switch_and_stops_on_sigint(
    tmp_path,
    keyless_env,
):
    # Arrange
    journal = tmp_path / "journal.twj"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tradewire.app.cli",
        "run",
        "--no-panel",
        "--journal",
        str(journal),
        "--metrics-port",
        "0",
        "--control-port",
        "0",
        "--duration",
        "60",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=dict(keyless_env),
    )
    assert proc.stdout is not None
    try:
        # The shipped config's tuning is reported setting by setting before trading starts.
        await readline_matching(proc.stdout, r"^tuning:$")
        await readline_matching(proc.stdout, r"cpu affinity simulator: (applied|denied|off)")
        await readline_matching(proc.stdout, r"gc freeze: applied")
        # socket options are reported for both kinds of connection
        await readline_matching(proc.stdout, r"^  feed socket TCP_NODELAY=1: applied")
        await readline_matching(proc.stdout, r"^  order socket TCP_NODELAY=1: applied")
        banner = await readline_matching(
            proc.stdout, r"metrics (http://\S+/metrics), kill switch (http://\S+/kill)"
        )
        metrics_url, kill_url = banner.group(1).rstrip(","), banner.group(2)
        await readline_matching(proc.stdout, r"sent=[1-9]")  # it trades

        # Act 1: Prometheus text shows the promised metrics
        status, text = await asyncio.to_thread(http, metrics_url)
        assert status == 200
        for name in (
            "trading_latency_microseconds_bucket",
            "market_data_rate_per_second",
            "order_success_rate",
        ):
            assert name in text

        # Act 2: the kill switch refuses a wrong token and obeys the right one
        token = (tmp_path / "control.token").read_text().strip()
        assert (await asyncio.to_thread(http, kill_url, data=b"{}", token="wrong"))[0] == 401
        kill = json.dumps({"reason": "test", "flatten": True}).encode()
        status, body = await asyncio.to_thread(http, kill_url, data=kill, token=token)
        assert status == 200
        assert json.loads(body)["state"] == "HALTED"
        await readline_matching(proc.stdout, r"\[sim HALTED\]")

        # The broker's closing fills arrive on the trade stream; wait for the book to be flat.
        async def exposure() -> float:
            text = (await asyncio.to_thread(http, metrics_url))[1]
            return float(re.search(r"^tradewire_gross_exposure_usd (\S+)$", text, re.M).group(1))

        async with asyncio.timeout(20):
            while await exposure() != 0.0:  # noqa: ASYNC110 - polling another process's metrics
                await asyncio.sleep(0.2)

        # Act 3: Ctrl-C
        proc.send_signal(signal.SIGINT)
        rest = (await asyncio.wait_for(proc.stdout.read(), 30)).decode()
        code = await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

    # Assert
    assert code == 0
    assert "tradewire run summary" in rest
    assert "end state: killed (kill switch: test)" in rest  # issue 22, item 9
    assert "stopped (Ctrl-C)" in rest
    # flattened by the kill switch: the broker's closing fills reached our position book too
    remaining = {
        sym: float(qty.replace(",", ""))
        for sym, qty in re.findall(r"position (\w+): (-?[\d,.]+) @", rest)
    }
    assert remaining
    assert all(qty == 0 for qty in remaining.values()), remaining
    fills = int(re.search(r"[;,] ([\d,]+) fills", rest).group(1).replace(",", ""))
    assert fills > 0


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(entry.name))
    return found


async def test_run_with_an_unusable_journal_says_so_and_leaves_no_simulator_behind(
    tmp_path, keyless_env
):
    # Arrange: the journal's folder is a file; a unique seed marks this run's simulator
    (tmp_path / "not-a-dir").write_text("")
    seed = str(900_000_000 + os.getpid())
    config = tmp_path / "c.yaml"
    config.write_text(
        f"mode: sim\nsimulator: {{seed: {seed}, symbols: [AAPL]}}\nmetrics: {{enabled: false}}\n"
        "control: {enabled: false}\nrun: {panel: false}\ntuning: {enabled: false}\n"
        f"strategies:\n  - path: {ROOT}/examples/mean_reversion.py:MeanReversion\n    symbols: [AAPL]\n"
    )

    # Act
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tradewire.app.cli",
        "run",
        "--no-panel",
        "--config",
        str(config),
        "--journal",
        str(tmp_path / "not-a-dir" / "j.twj"),
        "--duration",
        "5",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(keyless_env),
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)

    # Assert: one clear line, exit 2, and no orphaned simulator process
    assert proc.returncode == 2, err
    assert b"Traceback" not in err
    assert b"journal" in err
    assert _processes_with(f"--seed\x00{seed}") == []


async def test_run_against_a_silent_feed_stops_on_sigint_during_start_up(tmp_path, silent_ws):
    # Arrange: a feed that accepts the WebSocket and never says a word
    from tradewire.sim.broker.server import AlpacaBrokerServer

    config = tmp_path / "c.yaml"
    config.write_text(
        "mode: sim\nmetrics: {enabled: false}\ncontrol: {enabled: false}\nrun: {panel: false}\n"
        "tuning: {enabled: false}\n"
        f"strategies:\n  - path: {ROOT}/examples/mean_reversion.py:MeanReversion\n    symbols: [AAPL]\n"
    )
    async with silent_ws("/stocks") as (feed_url, _), AlpacaBrokerServer() as broker:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tradewire.app.cli",
            "run",
            "--no-panel",
            "--config",
            str(config),
            "--journal",
            str(tmp_path / "j.twj"),
            "--sim-feed-url",
            feed_url,
            "--sim-broker-url",
            broker.base_url,
            "--duration",
            "60",
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            # Act: wait until it is stuck in the feed handshake, then Ctrl-C
            await _until_connected(broker, proc)
            proc.send_signal(signal.SIGINT)
            _, err = await asyncio.wait_for(proc.communicate(), 10)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    # Assert: it stopped at once, said so in one line, and no traceback
    assert proc.returncode == 130, err
    assert b"Traceback" not in err
    assert b"stopped during start-up" in err


async def _until_connected(broker, proc) -> None:
    # The engine has finished its broker recovery (it asked for the account) and is now in
    # the feed handshake.
    async with asyncio.timeout(30):
        while ("GET", "/v2/account") not in broker.requests_seen:
            assert proc.returncode is None
            await asyncio.sleep(0.05)


def test_run_negative_duration_is_one_clear_error():
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "tradewire", "run", "--duration", "-1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "must be 0 or more" in done.stderr
    assert "Traceback" not in done.stderr


def test_run_writes_its_journal_in_the_configured_folder(tmp_path, keyless_env):
    # journal.path was accepted and never read: the journal always went to ./var/journal
    import subprocess

    folder = tmp_path / "journals"
    config = tmp_path / "c.yaml"
    config.write_text(
        f"mode: sim\njournal: {{path: {folder}, fsync: never}}\nmetrics: {{enabled: false}}\n"
        "control: {enabled: false}\nrun: {panel: false}\ntuning: {enabled: false}\n"
        f"simulator: {{symbols: [AAPL]}}\n"
        f"strategies:\n  - path: {ROOT}/examples/mean_reversion.py:MeanReversion\n    symbols: [AAPL]\n"
    )
    env = dict(keyless_env)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tradewire",
            "run",
            "--no-panel",
            "--config",
            str(config),
            "--duration",
            "2",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert list(folder.glob("sim-*.twj")), list(tmp_path.rglob("*"))


def _malformed_journal(path: Path) -> None:
    from tradewire.engine.journal.store import Journal

    journal = Journal(path, fsync="never")
    journal.append("intent", "c-1", {"symbol": "AAPL", "side": "buy"})  # no qty
    journal.close()


@pytest.mark.parametrize(
    ("write", "says"),
    [
        (lambda p: p.write_bytes(b"not a journal at all\n"), "bad header"),
        (_malformed_journal, "record 1 is malformed"),
    ],
    ids=["bad-header", "malformed-record"],
)
def test_run_on_a_damaged_journal_is_one_line_and_exit_2(tmp_path, keyless_env, write, says):
    import subprocess

    journal = tmp_path / "j.twj"
    write(journal)
    before = journal.read_bytes()
    config = tmp_path / "c.yaml"
    config.write_text(
        "mode: sim\nmetrics: {enabled: false}\ncontrol: {enabled: false}\nrun: {panel: false}\n"
        "tuning: {enabled: false}\nsimulator: {symbols: [AAPL]}\n"
        f"strategies:\n  - path: {ROOT}/examples/mean_reversion.py:MeanReversion\n    symbols: [AAPL]\n"
    )
    done = subprocess.run(
        [
            *(sys.executable, "-m", "tradewire", "run", "--no-panel", "--config", str(config)),
            *("--journal", str(journal), "--duration", "5"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(keyless_env),
    )

    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr  # one line
    assert says in done.stderr
    assert "Traceback" not in done.stderr
    assert "summary" not in done.stdout  # nothing traded: no summary to read
    assert journal.read_bytes() == before  # nothing lost


async def test_run_with_the_trade_stream_down_at_start_is_one_line(tmp_path, keyless_env):
    # Before: a raw TimeoutError traceback after ~29 s.
    import urllib.request as request

    from tradewire.sim.venue import VenueConfig, VenueSimulator

    config = tmp_path / "c.yaml"
    config.write_text(
        "mode: sim\nmetrics: {enabled: false}\ncontrol: {enabled: false}\nrun: {panel: false}\n"
        "tuning: {enabled: false}\nbroker: {stream_start_timeout_s: 2}\n"
        f"strategies:\n  - path: {ROOT}/examples/mean_reversion.py:MeanReversion\n    symbols: [AAPL]\n"
    )
    async with VenueSimulator(VenueConfig(symbols=("AAPL",))) as venue:
        block = request.Request(
            venue.broker_url + "/_sim/stream",
            data=json.dumps({"block_s": 120}).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "APCA-API-KEY-ID": "test-key",
                "APCA-API-SECRET-KEY": "test-secret",
            },
        )
        await asyncio.to_thread(lambda: request.urlopen(block, timeout=10).read())
        proc = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "tradewire", "run", "--no-panel", "--config", str(config)),
            *("--journal", str(tmp_path / "j.twj"), "--duration", "60"),
            *("--sim-feed-url", venue.feed_url, "--sim-broker-url", venue.broker_url),
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(keyless_env),
        )
        try:
            _, err = await asyncio.wait_for(proc.communicate(), 40)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    text = err.decode()
    assert proc.returncode == 1, text
    assert "Traceback" not in text
    # The reconnect attempts are logged as they happen; the outcome is one line, last.
    last = text.rstrip("\n").split("\n")[-1]
    assert last.startswith("tradewire run: StreamNotListening: trade_updates stream"), text
    assert "not listening after 2s" in last  # broker.stream_start_timeout_s (default 10)
    assert "not listening after" in last
    assert text.count("tradewire run:") == 1


def test_run_refused_at_start_prints_one_line_and_no_summary(tmp_path, keyless_env):
    # A control token file others can read is refused: that came after the node had
    # started, so a run that never traded printed "tradewire run summary ... final state
    # ACTIVE" below its error.
    import subprocess

    folder = tmp_path / "journal"
    folder.mkdir()
    token = folder / "control.token"
    token.write_text("not-private\n")
    token.chmod(0o644)
    config = tmp_path / "c.yaml"
    config.write_text(
        "mode: sim\nmetrics: {enabled: false}\ncontrol: {enabled: true, port: 0}\n"
        "run: {panel: false}\ntuning: {enabled: false}\nsimulator: {symbols: [AAPL]}\n"
        f"strategies:\n  - path: {ROOT}/examples/mean_reversion.py:MeanReversion\n    symbols: [AAPL]\n"
    )
    done = subprocess.run(
        [
            *(sys.executable, "-m", "tradewire", "run", "--no-panel", "--config", str(config)),
            *("--journal", str(folder / "j.twj"), "--duration", "5"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(keyless_env),
    )

    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr  # one line
    assert "control token file is readable by others" in done.stderr
    assert "summary" not in done.stdout, done.stdout
    assert "final state" not in done.stdout


def test_run_trades_the_crypto_example_against_the_simulator_with_no_keys(tmp_path, keyless_env):
    # issue 23, "done means": `tradewire run` with no keys trades the crypto example; the
    # simulator is started with the config's pairs (its /crypto feed and crypto broker)
    import subprocess

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tradewire",
            "run",
            "--config",
            "config/crypto.yaml",
            "--duration",
            "6",
            "--no-panel",
            "--journal",
            str(tmp_path / "crypto.twj"),
            "--metrics-port",
            "0",
            "--control-port",
            "0",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(keyless_env),
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    out = done.stdout
    fills = re.search(r"[;,] ([\d,]+) fills", out)
    assert fills is not None, out[-3000:]
    assert int(fills.group(1).replace(",", "")) >= 2, out[-3000:]
    assert " 0 denied by risk" in out, out[-3000:]
    assert re.search(r"position BTC/USD: 0\.\d+ @", out), out[-3000:]  # the pair was bought
    assert "crypto_dca: bought 0.0041 BTC/USD @" in done.stdout + done.stderr


def test_run_trades_the_options_example_against_the_simulator_with_no_keys(tmp_path, keyless_env):
    # issue 24, "done means": `tradewire run` with no keys trades the call vertical example;
    # the simulator is started with the config's underlyings (`--options SPY`: the /options
    # feed, the option broker and Massive REST's chain snapshot). The entry is one mleg order
    # whose legs become two positions: the long call (1) and the short call (-1). The run is
    # shorter than the example's take-profit usually needs, and the stop keeps positions.
    import subprocess

    done = subprocess.run(
        [
            *(sys.executable, "-m", "tradewire", "run", "--config", "config/options.yaml"),
            *("--duration", "8", "--no-panel", "--journal", str(tmp_path / "options.twj")),
            *("--metrics-port", "0", "--control-port", "0"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(keyless_env),
    )
    both = done.stdout + done.stderr
    assert done.returncode == 0, both[-3000:]
    out = done.stdout
    assert "end state: stopped cleanly" in out, out[-3000:]
    assert "call_vertical: spread bought at" in both, both[-3000:]
    assert " 0 denied by risk" in out, out[-3000:]
    held = dict(re.findall(r"position (SPY\d{6}C\d{8}): (-?\d+) @", out))
    assert sorted(held.values()) == ["-1", "1"], out[-3000:]
    long_leg, short_leg = sorted(held, key=lambda s: -int(held[s]))
    assert long_leg[:9] == short_leg[:9], out[-3000:]  # one expiry: a vertical
    assert int(long_leg[-8:]) < int(short_leg[-8:]), out[-3000:]  # long the lower strike
