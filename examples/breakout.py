"""README example: buy a breakout of the session high, take profit at +0.5%."""

from __future__ import annotations

from tradewire import OrderUpdate, Quote, Strategy


class Breakout(Strategy):
    """Buy 10 shares when the ask breaks the session high; sell at +0.5%."""

    def on_start(self) -> None:
        self.high: dict[str, float] = {}

    def on_quote(self, quote: Quote) -> None:
        high = self.high.get(quote.symbol)
        self.high[quote.symbol] = max(high or 0.0, quote.ask_price)
        position = self.position(quote.symbol)
        if (
            high is not None
            and quote.ask_price > high
            and position.qty == 0
            and not self.open_orders()
        ):
            order = self.buy(quote.symbol, 10, limit_price=quote.ask_price)
            if order.denied:  # pre-trade risk said no; it never left
                self.log.info("denied: %s", order.denied)
        elif (
            position.qty > 0
            and not self.open_orders()  # the sell of the last quote may not have filled yet
            and quote.bid_price >= position.avg_entry_price * 1.005
        ):
            self.sell(quote.symbol, position.qty, limit_price=quote.bid_price)

    def on_order_update(self, update: OrderUpdate) -> None:
        if update.event == "fill":
            self.log.info(
                "filled %s %g @ %g", update.order.side, update.fill_qty, update.fill_price
            )
