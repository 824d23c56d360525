"""A call debit spread with a take-profit: the example ``tradewire run --config
config/options.yaml`` trades against the simulator with no keys.

:class:`CallVertical` reads the chain of its underlying (``SPY`` in the config) once a second
until it has one and the underlying has a price. It picks the first expiry at least
``min_days`` away, buys the call at the strike nearest the underlying's price and sells the
call ``width`` strikes above it, one ``mleg`` order of ``qty`` units at a limit of the
spread's mid plus ``slippage`` (a debit), and subscribes to both contracts' quotes. Once the
entry filled, it closes the spread with one opposite ``mleg`` order (sell to close the long
leg, buy to close the short one) at a credit limit of the spread's mid less ``slippage`` when
that mid has gained ``take_profit`` (0.5: half the debit paid). One spread, then done.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec

from tradewire import Leg, OrderHandle, OrderUpdate, Strategy

NEW_YORK = ZoneInfo("America/New_York")


class CallVertical(Strategy):
    """Buy one call vertical at the money; take profit at ``take_profit`` of the debit."""

    class Params(msgspec.Struct, forbid_unknown_fields=True):
        underlying: str = "SPY"
        min_days: int = 1  # the first expiry at least this many days away
        width: int = 1  # strikes between the long and the short call
        qty: int = 1  # spreads (units of the mleg order)
        slippage: float = 0.05  # dollars per share over/under the spread's mid
        take_profit: float = 0.5  # close when the spread's mid is up this fraction
        check_s: float = 1.0

    def on_start(self) -> None:
        self.legs: tuple[str, str] | None = None
        self.entry: OrderHandle | None = None
        self.exit: OrderHandle | None = None
        self.paid: float | None = None  # the debit per share the entry filled at
        self.call_every(self.params.check_s, self.check)

    def spread_mid(self) -> float | None:
        if self.legs is None:
            return None
        long_mid, short_mid = self.mid(self.legs[0]), self.mid(self.legs[1])
        if long_mid is None or short_mid is None:
            return None
        return long_mid - short_mid

    def pick(self) -> None:
        p = self.params
        spot = self.mid(p.underlying)
        calls = self.option_chain(p.underlying, type="call")
        if spot is None or not calls:
            return  # the chain or the underlying's price is not here yet
        today = datetime.fromtimestamp(self.now_ns() / 1e9, NEW_YORK).date()  # expiries' dates
        expiries = sorted({c.expiry for c in calls if c.expiry >= today + timedelta(p.min_days)})
        if not expiries:
            return
        strikes = sorted({c.strike for c in calls if c.expiry == expiries[0]})
        atm = min(range(len(strikes)), key=lambda i: abs(strikes[i] - spot))
        if atm + p.width >= len(strikes):
            return
        by_strike = {c.strike: c.symbol for c in calls if c.expiry == expiries[0]}
        self.legs = (by_strike[strikes[atm]], by_strike[strikes[atm + p.width]])
        self.subscribe(list(self.legs))
        self.log.info("picked %s / %s (spot %.2f)", *self.legs, spot)

    def check(self) -> None:
        p = self.params
        if self.legs is None:
            self.pick()
            return
        mid = self.spread_mid()
        if mid is None:
            return
        long_leg, short_leg = self.legs
        if self.entry is None:
            self.entry = self.submit_multileg(
                [Leg(long_leg, 1, "buy", "buy_to_open"), Leg(short_leg, 1, "sell", "sell_to_open")],
                p.qty,
                limit_price=round(mid + p.slippage, 2),
            )
            if self.entry.denied:
                self.log.info("entry denied: %s", self.entry.denied)
        elif self.paid is not None and self.exit is None and mid >= self.paid * (1 + p.take_profit):
            self.exit = self.submit_multileg(
                [
                    Leg(long_leg, 1, "sell", "sell_to_close"),
                    Leg(short_leg, 1, "buy", "buy_to_close"),
                ],
                p.qty,
                limit_price=-round(max(mid - p.slippage, 0.01), 2),  # a credit
            )

    def on_fill(self, update: OrderUpdate) -> None:
        order = update.order
        if self.entry is not None and order.client_order_id == self.entry.client_order_id:
            if not order.is_open:
                self.paid = order.filled_avg_price
                self.log.info("spread bought at %.2f", self.paid or 0.0)
        elif self.exit is not None and order.client_order_id == self.exit.client_order_id:
            self.log.info("spread sold at %.2f", -(order.filled_avg_price or 0.0))
