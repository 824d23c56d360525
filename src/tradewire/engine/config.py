"""Configuration of the engine's risk limits and journal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, Strict

from tradewire.configbase import NonNegativeFloat, PositiveFloat, PositiveInt, StrictModel

UtcHour = Annotated[int, Strict(), Field(ge=0, le=23)]


class CryptoRiskConfig(StrictModel):
    """The limits of an order in a crypto pair (a symbol with ``/``, e.g. ``BTC/USD``).

    Quantities are in units of the asset (1 = one bitcoin, one ether), money in USD. The
    defaults are conservative and sized for BTC and ETH; a pair whose unit is cheap (DOGE,
    SHIB) needs larger ``max_order_qty`` and ``max_position_qty`` — the USD notional limit
    still bounds every order. Gross exposure, open orders, the throttle and the price band
    are the account's (the top-level keys), shared with stocks.

    The daily loss of a 24/7 market is counted over the crypto day, which starts at
    ``day_starts_utc_hour`` (UTC midnight by default), not at the US equity session.
    """

    max_order_qty: PositiveFloat = 1.0
    max_order_notional: PositiveFloat = 25_000
    max_position_qty: PositiveFloat = 2.0
    max_daily_loss: PositiveFloat = 2_500
    day_starts_utc_hour: UtcHour = 0


class OptionsRiskConfig(StrictModel):
    """The limits of an order with an option leg (issue 24), single-leg or ``mleg``.

    Contracts are counted per leg (order quantity x the leg's ratio); money is USD through
    the contract multiplier (100 shares a standard contract). The premium is the debit paid;
    the per-day cap counts the premium filled over the US equity session day. The worst
    case is what the order can lose: the debit, a credit spread's strike width less its
    credit, a cash-secured put's strike. A short call must be covered (long calls or shares)
    unless ``allow_naked``. See :mod:`tradewire.engine.options_risk`.
    """

    max_contracts_per_order: PositiveInt = 10
    max_contracts_per_position: PositiveInt = 20
    max_premium_per_order: PositiveFloat = 5_000
    max_premium_per_day: PositiveFloat = 20_000
    max_order_notional: PositiveFloat = 50_000
    allow_naked: bool = False


class RiskConfig(StrictModel):
    """Pre-trade limits. Quantities in shares, money in USD, rates per second.

    Defaults suit the sample strategy on the simulator's $100k paper account. A crypto pair's
    order takes its size, notional and daily-loss limits from :attr:`crypto` instead; an order
    with an option leg is also checked against :attr:`options`.
    """

    max_order_qty: PositiveFloat = 1_000
    max_order_notional: PositiveFloat = 50_000
    max_position_qty: PositiveFloat = 2_000
    max_gross_exposure: PositiveFloat = 250_000
    max_open_orders: PositiveInt = 50
    max_orders_per_second: PositiveFloat = 20
    price_band_pct: PositiveFloat = 5.0
    max_daily_loss: PositiveFloat = 5_000
    max_rejects_in_window: PositiveInt = 10
    reject_window_s: PositiveFloat = 60
    halt_on_stale_feed: bool = True
    # What an order is priced against when checking notional, exposure and the price band.
    # "quote": the NBBO mid only; "quote_or_last_trade": the last trade print when no quote
    # has arrived yet. With neither, priced orders are denied (no_reference_price).
    reference_price: Literal["quote", "quote_or_last_trade"] = "quote"
    crypto: CryptoRiskConfig = CryptoRiskConfig()
    options: OptionsRiskConfig = OptionsRiskConfig()


class JournalConfig(StrictModel):
    """Append-only order journal. ``fsync``: when records are made durable against power loss.

    Every record is written to the OS before the order leaves (it survives a process crash
    at once); ``fsync`` decides when it also survives a machine crash: ``batch`` = after the
    order write, off the hot path, at most every ``fsync_interval_ms``.
    """

    # The folder of the journals: ``tradewire run`` writes ``sim-<date>-<time>.twj``,
    # ``sim-external.twj``, ``paper.twj`` or ``live.twj`` in it (``--journal`` overrides),
    # and the kill switch's token file beside them.
    path: Path = Path("var/journal")
    fsync: Literal["batch", "always", "never"] = "batch"
    fsync_interval_ms: NonNegativeFloat = 5.0
    abandon_intents_older_than_s: PositiveFloat = 30.0
    # A new segment, headed by a snapshot of the open orders, starts past this size, so a
    # restart replays one bounded segment; old segments stay beside it for audit.
    segment_mb: PositiveFloat = 64.0
    # Ended orders kept in memory for late events; older ones are forgotten.
    keep_ended_orders: PositiveInt = 10_000
