"""What the gateway keeps and tells of each worker: its link, the state it is welcomed
with (its open orders, its positions, the account), its order updates, numbered, and
their replay when it says it has not got them."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from tradewire.bus import protocol as p
from tradewire.bus.base import Bus
from tradewire.engine.account import Account
from tradewire.engine.core import EngineCore
from tradewire.engine.positions import PositionBook
from tradewire.engine.strategy import OrderUpdate, Strategy

# Order updates kept per worker to resend what a worker says it has not got (a NATS
# restart loses messages in flight); older than this, the worker gets a full resync.
UPDATE_MEMORY = 65_536
REPLAY_AFTER_S = 0.1  # younger updates may still be on their way: not resent yet


@dataclass
class WorkerLink:
    name: str
    instance: str
    symbols: list[str]
    bus: Bus
    proxy: Strategy  # the worker inside the node: the owner of its orders
    last_seen: float
    update_seq: int = 0
    alive: bool = True
    intents: int = 0
    acks: dict[str, p.Ack] = field(default_factory=dict)
    # (seq, encoded update, when sent): what a replay resends
    sent: deque[tuple[int, bytes, float]] = field(
        default_factory=lambda: deque(maxlen=UPDATE_MEMORY)
    )
    replayed: int = 0
    report: p.Hello | None = None  # its last hello: its own counters
    told_dropped: int = 0

    def send(self, message: p.Message) -> None:
        self.bus.publish(p.update_subject(self.name), p.encode(message))

    def forward(self, update: OrderUpdate) -> None:
        """One order update, numbered, kept for a replay."""
        self.update_seq += 1
        h = update.order
        message = p.Update(
            self.update_seq,
            h.client_order_id,
            update.event,
            h.status,
            h.filled_qty,
            h.filled_avg_price,
            update.fill_qty,
            update.fill_price,
            update.position_qty,
            h.broker_order_id,
            h.reject_reason,
        )
        payload = p.encode(message)
        self.sent.append((self.update_seq, payload, time.monotonic()))
        self.bus.publish(p.update_subject(self.name), payload)

    def replay(self, applied: int, now: float) -> bool:
        """Resend, in order, the updates after ``applied`` that should have arrived by now;
        False when some are older than the ones kept (the worker needs a resync)."""
        sent = self.sent
        if not sent or sent[0][0] > applied + 1:
            return False
        subject = p.update_subject(self.name)
        for seq, payload, at in sent:
            if seq > applied and now - at >= REPLAY_AFTER_S:
                self.bus.publish(subject, payload)
                self.replayed += 1
        return True

    def row(self, dropped: int) -> dict[str, Any]:
        """For the panel, the summary and the metrics; ``dropped``: by the transports."""
        r = self.report
        return {
            "alive": self.alive,
            "symbols": self.symbols,
            "frames": r.frames if r else 0,
            "events": r.events if r else 0,
            "gaps": r.gaps if r else 0,
            "dropped": max(r.dropped if r else 0, dropped),
            "intents": self.intents,
            "conflated": r.conflated if r else 0,
            "latency_p50_us": r.latency_p50_us if r else None,
        }


def welcome(
    link: WorkerLink,
    *,
    instance: str,
    md_seq: int,
    halted: str | None,
    core: EngineCore,
    book: PositionBook,
) -> p.Welcome:
    """A worker's state, as it (re)connects: its open orders, positions, the account."""
    orders = [
        p.OrderState(
            h.client_order_id,
            h.symbol,
            h.side,
            h.qty,
            h.order_type,
            h.limit_price,
            h.status,
            h.filled_qty,
        )
        for h in core.open_orders(link.proxy)
    ]
    return p.Welcome(
        instance,
        link.name,
        link.update_seq,
        md_seq,
        orders,
        positions(book, link.symbols),
        halted,
        account_state(core.account),
    )


def account_state(account: Account) -> p.AccountState:
    return p.AccountState(account.cash, account.buying_power)


def positions(book: PositionBook, symbols: list[str]) -> list[p.PositionState]:
    out = []
    for sym in symbols:
        pos = book.positions.get(sym)
        if pos is not None:
            out.append(p.PositionState(sym, pos.qty, pos.avg_price, pos.realized, pos.unrealized))
    return out
