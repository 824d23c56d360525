"""Start-up recovery: rebuild from the journal, then take the broker's word for everything.

Start-up is reconciliation before trading. :func:`replay_journal` rebuilds the orders and
positions the journal holds; :func:`settle_with_broker` then settles every in-doubt order
by client_order_id (never resending one), reconciles every other open order, and reads the
broker's positions and account. Every fact goes through the ledger; the collaborators are
parameters (the node passes its own).
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

import msgspec

from tradewire.engine import orders as o
from tradewire.engine.account import Account
from tradewire.engine.events import OptionSettled
from tradewire.engine.ids import ClientOrderIds
from tradewire.engine.instruments import Instrument, InstrumentTable, asset_class_of
from tradewire.engine.journal.replay import ReplayResult, replay
from tradewire.engine.journal.store import read_journal
from tradewire.engine.ledger import Ledger
from tradewire.engine.reconcile import startup_corrections
from tradewire.engine.settlement import settle
from tradewire.engine.translate import events_from_fact
from tradewire.errors import ConfigError, NotFound
from tradewire.live.reconciler import Reconciler
from tradewire.live.retrying import retrying
from tradewire.venues.alpaca.client import AlpacaClient
from tradewire.venues.alpaca.reports import broker_positions, fact_from

log = logging.getLogger("tradewire.live.node")


def replay_journal(path: Path, ids: ClientOrderIds) -> ReplayResult:
    """What the journal at ``path`` holds; every client_order_id in it is taken."""
    result = replay(read_journal(path).records, source=str(path))
    for order in result.manager.orders.values():
        ids.observe(order.client_order_id)
    return result


async def settle_with_broker(
    result: ReplayResult,
    *,
    broker: AlpacaClient,
    ledger: Ledger,
    reconciler: Reconciler,
    corrections: dict[str, int],
    account: Account,
    deadline: float,
) -> None:
    """Take the broker's word, by ``deadline`` (monotonic), for what the journal left open.

    ``ledger`` already holds ``result.manager``; ``corrections`` counts the positions the
    journal believed otherwise.
    """
    # 1. In-doubt orders (intent, sent, unknown) by client_order_id; never resend.
    decided: dict[str, str] = {}
    for order in result.in_doubt:
        cid = order.client_order_id
        try:
            b = await retrying(
                partial(broker.get_order_by_client_id, cid),
                deadline=deadline,
                what=f"recover {cid}",
            )
        except NotFound:
            ledger.apply(cid, o.Abandoned())
            decided[cid] = "abandoned: not at the broker"
            continue
        ledger.apply_all(cid, events_from_fact(fact_from(b)))
        decided[cid] = f"adopted: {b.status}"
    if decided:
        log.warning("recovered %d in-doubt orders from the journal: %s", len(decided), decided)
    # 2. Every other open order (filled or cancelled while we were down), orders placed
    # outside the engine, then the broker's positions as they stand.
    await reconciler.run_once("start-up")
    for fee in reconciler.startup_fees:  # the journal's own fills' fees, read only now
        if isinstance(fee, OptionSettled):  # and its positions' settlements
            settle(result.book, fee)
        else:
            result.book.apply_fee(fee.symbol, fee.qty, fee.usd)
    positions = await retrying(broker.get_positions, deadline=deadline, what="list positions")
    held = broker_positions(positions)  # one key per asset (BTCUSD is BTC/USD)
    for event in startup_corrections(ledger.book, result.book, held):
        ledger.record(event)
        if abs(result.book.qty(event.symbol) - event.qty) > 1e-9:
            # The journal believed otherwise: a correction, not just the start-up's read.
            corrections["position"] = corrections.get("position", 0) + 1
            log.warning(
                "start-up: position %s corrected %s -> %s (the broker's)",
                event.symbol,
                result.book.qty(event.symbol),
                event.qty,
            )
    state = await retrying(broker.get_account, deadline=deadline, what="get account")
    account.read(float(state.cash), float(state.buying_power), state.options_trading_level)


async def load_instruments(
    broker: AlpacaClient, symbols: list[str], table: InstrumentTable, *, deadline: float
) -> None:
    """The increments of every crypto pair the strategies trade, from Alpaca's assets, and the
    multiplier of every option contract they name, from Alpaca's contract, into ``table``
    before the first order (a guessed increment sends orders Alpaca rejects; a guessed
    multiplier books the wrong money). An asset or contract the broker does not know is a
    config error naming it."""
    for symbol in symbols:
        if asset_class_of(symbol) == "us_option":  # its multiplier, from its contract
            try:
                record = await retrying(
                    partial(broker.get_option_contract, symbol),
                    deadline=deadline,
                    what=f"option contract {symbol}",
                )
            except NotFound:
                raise ConfigError(f"option contract {symbol} is not known to the broker") from None
            table.add(Instrument.from_alpaca_contract(msgspec.to_builtins(record)))
            continue
        if "/" not in symbol:
            continue  # stocks: the equity rules (cent ticks) need no asset
        try:
            asset = await retrying(
                partial(broker.get_asset, symbol), deadline=deadline, what=f"asset {symbol}"
            )
        except NotFound:
            raise ConfigError(f"crypto asset {symbol} is not known to the broker") from None
        table.add(Instrument.from_alpaca_asset(msgspec.to_builtins(asset)))
