"""Sample strategy: fade short-term moves away from a moving average, with limit orders.

It keeps an exponential moving average of each symbol's mid price. When the ask drops
``entry_bps`` below the average it bids for ``order_qty`` shares at the ask (a marketable
limit, so it fills at the NBBO but never worse); when long and the bid rises ``exit_bps``
above the entry it sells at the bid. Position per symbol is capped at ``max_position``, one
order per symbol is in flight at a time, and unfilled orders are cancelled after
``order_ttl_s``. Pre-trade risk still checks every order: the strategy's own caps are
only its intent, the risk engine is what enforces limits.
"""

from __future__ import annotations

from tradewire import OrderHandle, OrderUpdate, Quote, Strategy


class MeanReversion(Strategy):
    def on_start(self) -> None:
        p = self.params
        self.alpha = 2.0 / (float(p.get("ema_ticks", 50)) + 1.0)
        self.entry = float(p.get("entry_bps", 5.0)) / 10_000
        self.exit = float(p.get("exit_bps", 5.0)) / 10_000
        self.qty = float(p.get("order_qty", 10))
        self.max_position = float(p.get("max_position", 100))
        self.ttl = float(p.get("order_ttl_s", 2.0))
        self.ema: dict[str, float] = {}
        self.working: dict[str, OrderHandle] = {}
        self.cooldown_ns = int(float(p.get("cooldown_s", 1.0)) * 1e9)
        self.quiet_until: dict[str, int] = {}
        self.log.info("started on %s", ",".join(self.symbols))

    def on_quote(self, quote: Quote) -> None:
        mid = quote.price
        if mid <= 0 or quote.ask_price <= quote.bid_price:
            return  # one-sided or crossed quote: no fair value
        symbol = quote.symbol
        ema = self.ema.get(symbol, mid)
        ema += self.alpha * (mid - ema)
        self.ema[symbol] = ema
        order = self.working.get(symbol)
        if order is not None and order.is_open:
            return
        if self.quiet_until.get(symbol, 0) > self.now_ns():
            return  # risk said no recently: do not hammer it
        position = self.position(symbol)
        if (
            quote.ask_price < ema * (1 - self.entry)
            and position.qty + self.qty <= self.max_position
        ):
            self._track(self.buy(symbol, self.qty, limit_price=quote.ask_price))
        elif position.qty > 0 and quote.bid_price > position.avg_entry_price * (1 + self.exit):
            self._track(self.sell(symbol, min(self.qty, position.qty), limit_price=quote.bid_price))

    def on_order_update(self, update: OrderUpdate) -> None:
        if update.event == "denied":
            # In a worker the gateway's risk decides: the denial arrives here, later. Without
            # this pause a worker re-sent on every quote (559 of 830 orders denied, 29 of 656
            # inline).
            self._pause(update.order)
        elif update.event in ("fill", "partial_fill"):
            self.log.info(
                "%s %g %s @ %g (position %g)",
                update.order.side,
                update.fill_qty,
                update.order.symbol,
                update.fill_price,
                update.position_qty,
            )

    def _track(self, order: OrderHandle) -> None:
        if order.denied is not None:  # inline, risk answers at once
            self._pause(order)
            return
        self.working[order.symbol] = order
        self.call_later(self.ttl, lambda: self._expire(order))

    def _pause(self, order: OrderHandle) -> None:
        self.quiet_until[order.symbol] = self.now_ns() + self.cooldown_ns
        self.log.info("order denied by risk (%s); pausing %s", order.denied, order.symbol)

    def _expire(self, order: OrderHandle) -> None:
        if order.is_open:
            self.cancel(order)
