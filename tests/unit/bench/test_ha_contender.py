"""The tradewire-ha contender: the tradewire contender whose journal is replicated as an
active gateway's (a JournalPublisher on ``journal.on_frame``), and nothing else different."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tradewire.app import lifecycle, wiring
from tradewire.bench import ha_contender, tick_to_trade
from tradewire.engine.journal.store import Journal


def test_the_contender_is_known_and_configured_as_the_tradewire_one() -> None:
    assert ha_contender.NAME in tick_to_trade.EXTRA_CONTENDERS
    assert tick_to_trade.TUNINGS[ha_contender.NAME] == tick_to_trade.TUNINGS["tradewire"]
    assert ha_contender.NAME in tick_to_trade.LABELS


def test_it_is_skipped_without_a_nats_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tradewire.bus.nats_server.sysconfig.get_path", lambda _: None)
    monkeypatch.setattr("tradewire.bus.nats_server.shutil.which", lambda _: None)
    assert "nats-server" in (ha_contender.available() or "")


def test_the_nodes_journal_hands_every_record_to_a_publisher(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "bench.twj")
    node = SimpleNamespace(journal=journal)

    def build_node(*_: Any, **__: Any) -> Any:
        return node

    monkeypatch.setattr(wiring, "build_node", build_node)
    monkeypatch.setattr(lifecycle, "build_node", build_node)  # undone after the test
    monkeypatch.setattr(lifecycle, "_run", lifecycle._run)
    publisher = ha_contender.replicate("nats://127.0.0.1:1")
    assert lifecycle.build_node(None) is node
    assert journal.on_frame == publisher.on_frame
    journal.append("intent", "c1", {"symbol": "AAPL"})
    journal.append("sent", "c1")
    assert publisher.pending == 2  # queued for the background sender, nothing awaited
    journal.close()


def test_without_a_server_url_it_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ha_contender.ENV, raising=False)
    assert ha_contender.main(["run"]) == 2
