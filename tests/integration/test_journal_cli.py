"""``tradewire journal verify|show|export|repair`` as an operator runs them: exit codes, one
line per problem, never a traceback; and ``tradewire run`` refusing a corrupt journal."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tradewire.engine.journal.store import MAGIC, Journal, read_journal

ROOT = Path(__file__).parents[2]
HEAD = struct.Struct("<II")
INTENT = {"symbol": "A", "side": "buy", "qty": 10, "type": "limit", "limit": 10.0, "strategy": "s"}


def tw(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradewire.app.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def record_offsets(data: bytes) -> list[int]:
    offsets, off = [], len(MAGIC)
    while off < len(data):
        offsets.append(off)
        off += HEAD.size + HEAD.unpack_from(data, off)[0]
    return offsets


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    path = tmp_path / "j.twj"
    j = Journal(path)
    for i in range(200):
        j.append("intent", f"c{i}", INTENT, ts_ns=1_700_000_000_000_000_000 + i * 1000)
    j.close()
    return path


@pytest.fixture
def flipped(journal: Path) -> tuple[Path, int]:
    """The journal with one bit flipped inside record 100; returns it and that record's offset."""
    data = bytearray(journal.read_bytes())
    victim = record_offsets(bytes(data))[100]
    data[victim + HEAD.size + 5] ^= 0x04
    journal.write_bytes(bytes(data))
    return journal, victim


def test_verify_an_intact_journal_exits_0_with_a_one_line_summary(journal):
    run = tw("journal", "verify", str(journal))
    assert run.returncode == 0, run.stderr
    assert len(run.stdout.strip().splitlines()) == 1
    assert "200 records" in run.stdout
    assert "intact" in run.stdout


def test_verify_a_flipped_bit_exits_2_naming_the_offset_and_leaves_the_file(flipped):
    path, victim = flipped
    before = path.read_bytes()
    run = tw("journal", "verify", str(path))
    assert run.returncode == 2
    out = (run.stdout + run.stderr).strip()
    assert len(out.splitlines()) == 1
    assert f"byte {victim}" in out
    assert "CRC mismatch" in out
    assert "Traceback" not in run.stderr
    assert path.read_bytes() == before


def test_verify_a_torn_tail_exits_2_and_does_not_cut_it(journal):
    data = journal.read_bytes()
    journal.write_bytes(data[:-4])
    run = tw("journal", "verify", str(journal))
    assert run.returncode == 2
    assert "torn" in run.stdout + run.stderr
    assert journal.read_bytes() == data[:-4]


def test_show_prints_one_line_per_record_with_time_kind_cid_and_data(journal):
    run = tw("journal", "show", str(journal))
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 200
    assert "2023-11-14T22:13:20" in lines[0]  # 1_700_000_000 s, in UTC
    assert "intent" in lines[0]
    assert "c0" in lines[0]
    assert '"symbol":"A"' in lines[0].replace(" ", "")
    assert "c199" in lines[-1]


def test_show_a_corrupt_journal_prints_what_precedes_the_damage_then_fails(flipped):
    path, victim = flipped
    run = tw("journal", "show", str(path))
    assert run.returncode == 2
    assert len(run.stdout.splitlines()) == 100
    assert f"byte {victim}" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert "Traceback" not in run.stderr


def test_export_json_writes_one_object_per_record(journal):
    run = tw("journal", "export", "--json", str(journal))
    assert run.returncode == 0, run.stderr
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(rows) == 200
    assert rows[0]["kind"] == "intent"
    assert rows[0]["cid"] == "c0"
    assert rows[0]["ts_ns"] == 1_700_000_000_000_000_000
    assert rows[0]["data"] == INTENT
    assert [r["cid"] for r in rows] == [f"c{i}" for i in range(200)]


def test_repair_keeps_the_original_and_salvages_the_records_after_the_flip(flipped):
    path, victim = flipped
    before = path.read_bytes()
    run = tw("journal", "repair", str(path))
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    copies = list(path.parent.glob("j.twj.corrupt-*"))
    assert len(copies) == 1
    assert copies[0].read_bytes() == before
    assert str(copies[0]) in run.stdout
    assert "kept 199 records" in run.stdout
    assert f"byte {victim}" in run.stdout
    assert [r.cid for r in read_journal(path).records] == [f"c{i}" for i in range(200) if i != 100]
    assert tw("journal", "verify", str(path)).returncode == 0


@pytest.mark.parametrize("action", ["verify", "show", "export", "repair"])
def test_a_missing_file_is_one_line_on_stderr_exit_2(tmp_path, action):
    run = tw("journal", action, str(tmp_path / "nope.twj"))
    assert run.returncode == 2
    assert len(run.stderr.strip().splitlines()) == 1
    assert "nope.twj" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("action", ["verify", "show", "export", "repair"])
def test_a_file_that_is_not_a_journal_is_one_line_on_stderr_exit_2(tmp_path, action):
    path = tmp_path / "notes.txt"
    path.write_text("hello, this is not a journal\n")
    run = tw("journal", action, str(path))
    assert run.returncode == 2
    assert len(run.stderr.strip().splitlines()) == 1
    assert "not a tradewire journal" in run.stderr
    assert "Traceback" not in run.stderr
    assert path.read_text() == "hello, this is not a journal\n"
    assert list(tmp_path.iterdir()) == [path]


def test_run_refuses_a_corrupt_journal_in_one_line_and_leaves_it_untouched(flipped, keyless_env):
    path, victim = flipped
    before = path.read_bytes()
    env = dict(keyless_env)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "tradewire.app.cli",
            "run",
            "--no-panel",
            "--journal",
            str(path),
            "--metrics-port",
            "0",
            "--control-port",
            "0",
            "--duration",
            "20",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
    )
    assert run.returncode == 2  # bad input found at start: nothing traded
    lines = run.stderr.splitlines()
    assert len(lines) == 1
    assert f"byte {victim}" in lines[0]
    assert "tradewire journal repair" in lines[0]
    assert "Traceback" not in run.stderr
    assert path.read_bytes() == before


def test_verify_replays_the_records_and_names_a_malformed_one(tmp_path):
    # The checksums are right; the contents are not an order the engine can rebuild.
    from tradewire.engine.journal.store import Journal

    path = tmp_path / "j.twj"
    journal = Journal(path, fsync="never")
    journal.append("intent", "c-1", {"symbol": "AAPL", "side": "buy", "qty": 1, "limit": 10.0})
    journal.append("intent", "c-2", {"symbol": "AAPL", "side": "buy"})  # no qty
    journal.close()

    done = subprocess.run(
        [sys.executable, "-m", "tradewire", "journal", "verify", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2, done.stdout + done.stderr
    assert "record 2 is malformed" in done.stdout
    assert "Traceback" not in done.stderr
