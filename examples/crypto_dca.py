"""Dollar-cost averaging into a crypto pair: the example ``tradewire run --config
config/crypto.yaml`` trades against the simulator with no keys.

Every ``interval_s`` seconds (a timer, not a quote) :class:`CryptoDCA` buys ``notional`` dollars
of each of its pairs (``BTC/USD`` in the config) with a market order, as long as the pair's
position is below ``max_qty`` units of the asset and no order of its own in that pair is still
working. Its first buy waits for the pair's first quote (risk needs a reference price for a
notional order). It never sells.
"""

from __future__ import annotations

import msgspec

from tradewire import OrderUpdate, Strategy


class CryptoDCA(Strategy):
    """Buy ``notional`` dollars of each pair every ``interval_s`` seconds while its position is
    below ``max_qty`` units and no buy of the pair is working; never sell."""

    class Params(msgspec.Struct, forbid_unknown_fields=True):
        notional: float = 250.0  # dollars per buy
        interval_s: float = 2.0  # seconds between buys
        max_qty: float = 0.05  # units of the asset: no buy once the position reaches it

    def on_start(self) -> None:
        self.buys = 0
        self.call_every(self.params.interval_s, self.tick)

    def tick(self) -> None:
        working = {h.symbol for h in self.open_orders()}
        for symbol in self.symbols:
            if symbol in working or self.mid(symbol) is None:
                continue  # one buy at a time per pair; none before the first quote
            if self.position(symbol).qty >= self.params.max_qty:
                continue
            order = self.buy(symbol, notional=self.params.notional)
            if order.denied:  # pre-trade risk or the venue's rules said no; it never left
                self.log.info("denied: %s", order.denied)
            else:
                self.buys += 1

    def on_fill(self, update: OrderUpdate) -> None:
        self.log.info(
            "bought %g %s @ %g", update.fill_qty, update.order.symbol, update.fill_price or 0.0
        )
