"""`tradewire doctor` on this very host: complete JSON, readable text, exit 0."""

from __future__ import annotations

import json
import subprocess
import sys

FIELDS = {"id", "title", "status", "observed", "why", "fix"}


def _doctor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradewire.app.cli", "doctor", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_doctor_json_is_complete_and_consistent():
    run = _doctor("--json")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["host"]["cpus"] >= 1
    ids = [f["id"] for f in doc["findings"]]
    assert len(ids) == len(set(ids)) == 13
    for f in doc["findings"]:
        assert set(f) == FIELDS
        assert f["status"] in {"ok", "warn", "info", "unknown"}
        if f["status"] == "warn":
            assert f["fix"], f  # every warning says how to fix it
    counts = {s: sum(f["status"] == s for f in doc["findings"]) for s in doc["summary"]}
    assert counts == doc["summary"]


def test_doctor_text_lists_each_finding_and_a_summary():
    run = _doctor()
    assert run.returncode == 0
    assert "Clock source" in run.stdout
    assert run.stdout.strip().splitlines()[-1].startswith("summary: ")


def test_doctor_rejects_a_bad_cpu_list():
    run = _doctor("--engine-cpus", "x-y")
    assert run.returncode == 2
    assert "bad --engine-cpus" in run.stderr
