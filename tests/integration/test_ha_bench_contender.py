"""The bench's tradewire-ha contender publishes every record its run journals to a real
nats-server's JetStream stream, and says so at the end (without running the bench)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tradewire.app import lifecycle, wiring
from tradewire.bench import ha_contender
from tradewire.engine.journal.store import Journal

pytestmark = pytest.mark.timeout(30)


async def test_a_run_publishes_what_it_journals(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = Journal(tmp_path / "bench.twj")

    def build_node(*_: Any, **__: Any) -> Any:
        return SimpleNamespace(journal=journal)

    async def run(*_: Any, **__: Any) -> int:  # the engine run, reduced to its journal
        node = lifecycle.build_node()
        for i in range(300):  # more than one batch (max_batch 256)
            node.journal.append("sent", f"c{i}")
        return 0

    monkeypatch.setattr(wiring, "build_node", build_node)
    monkeypatch.setattr(lifecycle, "build_node", build_node)
    monkeypatch.setattr(lifecycle, "_run", run)
    async with ha_contender.nats_server() as url:
        publisher = ha_contender.replicate(url)
        assert await lifecycle._run() == 0
    journal.close()
    counts = json.loads((tmp_path / "bench.ha.json").read_text())
    assert counts["journaled"] == counts["published"] == publisher.published == 300
    assert counts["pending"] == counts["failures"] == 0
    assert counts["flushed"]
    assert '"published": 300' in capsys.readouterr().out
