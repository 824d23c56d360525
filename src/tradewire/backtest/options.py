"""Options in the backtest host (issue 24): the chains a strategy reads, and expiries.

- Chains: ``Strategy.option_chain()`` reads ``core.chains``; live, a snapshot fetcher fills
  it. In a backtest, :class:`DataChains` builds it (:func:`~tradewire.engine.chain.
  chain_from_quotes`) from the option contracts the data has held so far, priced at each
  one's last quote as the strategies' side of the host saw it. To keep those quotes, every
  contract is tracked by the engine's router the first time the venue side sees it (a
  tracked symbol keeps its last quote and mid, and reaches no strategy until one subscribes).
- Expiries: once the backtest's clock passes 4 PM ET on a listed contract's expiry date, the
  broker settles it with the simulator's sans-I/O code (:meth:`~tradewire.backtest.broker.
  BacktestBroker.settle_expiry`: in the money at the underlying's last mid in the data) and
  the engine books each of its activities as the live reconciler does, an
  :class:`~tradewire.engine.events.OptionSettled` through ``ledger.record`` (journaled,
  replayed): the option closes at no price (a lost premium is realized), delivered shares
  come in at the strike, and the core's hook moves the account's cash as the broker's did.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from tradewire.engine.chain import ChainBook, ChainEntry, Right, chain_from_quotes
from tradewire.engine.events import OptionSettled
from tradewire.engine.options import parse_occ

if TYPE_CHECKING:
    from tradewire.backtest.broker import BacktestBroker
    from tradewire.engine.account import Account
    from tradewire.engine.ledger import Ledger
    from tradewire.engine.routing import MarketRouter
    from tradewire.sim.broker.expiry import OptionActivity


class DataChains(ChainBook):
    """The chains of the contracts a backtest's data holds, rebuilt from the router's last
    quotes each time a strategy asks (a strategy asks at human cadence)."""

    def __init__(self, router: MarketRouter) -> None:
        super().__init__()
        self._router = router
        self._by_underlying: dict[str, list[str]] = {}
        self.contracts: set[str] = set()

    def saw(self, symbol: str) -> None:
        """A symbol of the data the venue side saw first: a contract is listed and tracked."""
        if symbol in self.contracts:
            return
        self.contracts.add(symbol)
        try:
            contract = parse_occ(symbol)
        except ValueError:
            return  # a long ticker that is no contract
        self._by_underlying.setdefault(contract.underlying, []).append(contract.symbol)
        self._router.track([contract.symbol])

    def query(
        self,
        underlying: str,
        *,
        expiry: date | str | None = None,
        right: Right | None = None,
        strikes_near: int | None = None,
        spot: float | None = None,
    ) -> list[ChainEntry]:
        key = underlying.strip().upper()
        symbols = self._by_underlying.get(key)
        if symbols:
            quotes = self._router.quotes
            touch = {s: (q.bid_price, q.ask_price) for s in symbols if (q := quotes.get(s))}
            for name, entries in chain_from_quotes(symbols, touch).items():
                self.put(name, entries)
        return super().query(key, expiry=expiry, right=right, strikes_near=strikes_near, spot=spot)


def settle_due(
    broker: BacktestBroker,
    ledger: Ledger,
    account: Account,
    ts: int,
    advance: Callable[[int], None],
) -> None:
    """Settle each listed expiry whose 4 PM ET close lies at or before ``ts`` (the backtest's
    next event), at that close: ``advance(close)`` first runs what the host scheduled before
    it and moves its clock there; then the broker settles and the engine books it."""
    while ts >= broker.next_expiry_ns:
        advance(int(broker.next_expiry_ns))
        book_expiry(ledger, account, broker.settle_expiry())


def book_expiry(ledger: Ledger, account: Account, activities: list[OptionActivity]) -> None:
    """Book what the broker's expiry did as the live reconciler does, one
    :class:`~tradewire.engine.events.OptionSettled` per activity through the ledger (the
    option closes at no price, delivered shares come in at the strike; the core's hook moves
    the account's cash by them, as the broker's ``net_amount`` did)."""
    for act in activities:
        ledger.record(
            OptionSettled(act.symbol, float(act.qty), float(act.price), act.activity_type, act.id)
        )
