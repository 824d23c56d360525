"""Baseline for ``tradewire backtest``: NautilusTrader's BacktestEngine on the same quotes.

Standalone: it runs in its own venv with nautilus_trader installed and imports nothing
from tradewire (stdlib + nautilus_trader only)::

    python3 -m venv /tmp/ntvenv && /tmp/ntvenv/bin/pip install nautilus-trader
    /tmp/ntvenv/bin/python src/tradewire/bench/contenders/backtest_nautilus.py \\
        --make-data /tmp/bt/quotes.csv.gz --rows 300000 --seed 1
    /tmp/ntvenv/bin/python src/tradewire/bench/contenders/backtest_nautilus.py \\
        --data /tmp/bt/quotes.csv.gz --strategy ema --json /tmp/bt/ema.json

Input is a Polygon stocks ``quotes_v1`` flat file (gzip CSV with a header; columns
ticker, ask_exchange, ask_price, ask_size, bid_exchange, bid_price, bid_size, conditions,
indicators, participant_timestamp, sequence_number, sip_timestamp, tape, trf_timestamp;
timestamps in ns). Each ticker becomes an ``Equity`` on venue XNAS (price precision 2,
size precision 0, lot size 1); one-sided quotes (bid or ask 0) are skipped; ts_event =
ts_init = sip_timestamp. The venue is a NETTING cash account with 1,000,000 USD.

Strategies:

* ``noop``: subscribes to every instrument's quotes, does nothing in ``on_quote_tick``.
* ``ema``: the logic of ``examples/mean_reversion.py``: per symbol an EMA of the mid
  (alpha = 2/(ema_ticks+1)); ask < ema*(1-entry) and position+qty <= max_position and no
  order in flight -> LIMIT BUY qty at the ask; long and bid > avg entry*(1+exit) ->
  LIMIT SELL min(qty, position) at the bid; one order per symbol in flight; an unfilled
  order is cancelled after ``order_ttl_s`` of simulated time (a clock time alert by
  default, or ``--ttl-mode quote`` to check the age on each quote instead).

Only ``engine.run()`` is timed for ``wall_s`` / ``quotes_per_s``; CSV parsing and engine
setup (add_venue/add_instrument/add_data/add_strategy) are reported separately.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import random
import sys
import time
from datetime import UTC, datetime
from typing import Any

import nautilus_trader
from nautilus_trader.backtest.config import BacktestEngineConfig
from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.config import LoggingConfig, StrategyConfig
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
from nautilus_trader.model.identifiers import InstrumentId, Symbol, TraderId, Venue
from nautilus_trader.model.instruments import Equity
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.trading.strategy import Strategy

COLUMNS = [
    "ticker",
    "ask_exchange",
    "ask_price",
    "ask_size",
    "bid_exchange",
    "bid_price",
    "bid_size",
    "conditions",
    "indicators",
    "participant_timestamp",
    "sequence_number",
    "sip_timestamp",
    "tape",
    "trf_timestamp",
]
VENUE = "XNAS"


# --------------------------------------------------------------------------- test data


def make_data(out: str, rows: int, seed: int) -> None:
    """Seeded random walk of the mid for AAPL/MSFT/NVDA, round-robin, 1 ms apart."""
    rng = random.Random(seed)
    tickers = [("AAPL", 200.0), ("MSFT", 400.0), ("NVDA", 180.0)]
    mids = [m for _, m in tickers]
    t0 = int(datetime(2026, 11, 24, 14, 30, tzinfo=UTC).timestamp()) * 1_000_000_000
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with gzip.open(out, "wt", newline="", compresslevel=6) as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for i in range(rows):
            k = i % len(tickers)
            mids[k] = max(1.0, mids[k] + rng.gauss(0.0, 0.01))  # ~1 cent sd per tick
            spread = rng.randint(1, 3)  # cents
            bid_c = round(mids[k] * 100 - spread / 2)
            ask_c = bid_c + spread
            sip = t0 + i * 1_000_000
            w.writerow(
                [
                    tickers[k][0],
                    rng.choice((11, 12, 15, 19)),
                    f"{ask_c / 100:.2f}",
                    rng.randint(1, 5) * 100,
                    rng.choice((11, 12, 15, 19)),
                    f"{bid_c / 100:.2f}",
                    rng.randint(1, 5) * 100,
                    "1",
                    "",
                    sip - rng.randint(10_000, 500_000),
                    i + 1,
                    sip,
                    3,
                    "",
                ]
            )


# --------------------------------------------------------------------------- loading


def make_equity(symbol: str) -> Equity:
    return Equity(
        instrument_id=InstrumentId(Symbol(symbol), Venue(VENUE)),
        raw_symbol=Symbol(symbol),
        currency=USD,
        price_precision=2,
        price_increment=Price.from_str("0.01"),
        lot_size=Quantity.from_int(1),
        ts_event=0,
        ts_init=0,
    )


def load_quotes(path: str) -> tuple[dict[str, Equity], list[QuoteTick], int]:
    instruments: dict[str, Equity] = {}
    ids: dict[str, InstrumentId] = {}
    ticks: list[QuoteTick] = []
    skipped = 0
    with gzip.open(path, "rt", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        col = {name: i for i, name in enumerate(header)}
        i_t, i_ap, i_as = col["ticker"], col["ask_price"], col["ask_size"]
        i_bp, i_bs, i_ts = col["bid_price"], col["bid_size"], col["sip_timestamp"]
        for row in reader:
            bid = float(row[i_bp])
            ask = float(row[i_ap])
            if bid <= 0.0 or ask <= 0.0:
                skipped += 1
                continue
            sym = row[i_t]
            iid = ids.get(sym)
            if iid is None:
                inst = make_equity(sym)
                instruments[sym] = inst
                iid = ids[sym] = inst.id
            ts = int(row[i_ts])
            ticks.append(
                QuoteTick(
                    iid,
                    Price(bid, 2),
                    Price(ask, 2),
                    Quantity(float(row[i_bs]), 0),
                    Quantity(float(row[i_as]), 0),
                    ts,
                    ts,
                )
            )
    return instruments, ticks, skipped


# --------------------------------------------------------------------------- strategies


class NoopConfig(StrategyConfig, frozen=True):  # type: ignore[misc,call-arg]
    instrument_ids: tuple[str, ...] = ()


class Noop(Strategy):  # type: ignore[misc]
    def __init__(self, config: NoopConfig) -> None:
        super().__init__(config)
        self.iids = [InstrumentId.from_str(s) for s in config.instrument_ids]
        self.n_orders = 0
        self.n_fills = 0
        self.n_cancels = 0

    def on_start(self) -> None:
        for iid in self.iids:
            self.subscribe_quote_ticks(iid)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        pass


class EmaConfig(StrategyConfig, frozen=True):  # type: ignore[misc,call-arg]
    instrument_ids: tuple[str, ...] = ()
    ema_ticks: int = 50
    entry_bps: float = 3.0
    exit_bps: float = 3.0
    order_qty: int = 10
    max_position: int = 100
    order_ttl_s: float = 2.0
    ttl_mode: str = "alert"  # "alert": clock time alert per order; "quote": check age on quotes


class EmaMeanReversion(Strategy):  # type: ignore[misc]
    def __init__(self, config: EmaConfig) -> None:
        super().__init__(config)
        self.iids = [InstrumentId.from_str(s) for s in config.instrument_ids]
        self.alpha = 2.0 / (config.ema_ticks + 1.0)
        self.entry = config.entry_bps / 10_000
        self.exit = config.exit_bps / 10_000
        self.qty = config.order_qty
        self.max_position = config.max_position
        self.ttl_ns = int(config.order_ttl_s * 1e9)
        self.use_alerts = config.ttl_mode == "alert"
        self.ema: dict[InstrumentId, float] = {}
        self.working: dict[InstrumentId, Any] = {}  # iid -> LimitOrder in flight
        self.submitted_ns: dict[InstrumentId, int] = {}
        self.pos_qty: dict[InstrumentId, int] = {}
        self.avg_px: dict[InstrumentId, float] = {}
        self.n_orders = 0
        self.n_fills = 0
        self.n_cancels = 0

    def on_start(self) -> None:
        for iid in self.iids:
            self.subscribe_quote_ticks(iid)
            self.pos_qty[iid] = 0
            self.avg_px[iid] = 0.0

    def on_quote_tick(self, tick: QuoteTick) -> None:
        bid = tick.bid_price.as_double()
        ask = tick.ask_price.as_double()
        if ask <= bid:
            return  # crossed/locked: no fair value (as the tradewire sample)
        mid = (bid + ask) * 0.5
        iid = tick.instrument_id
        ema = self.ema.get(iid, mid)
        ema += self.alpha * (mid - ema)
        self.ema[iid] = ema
        order = self.working.get(iid)
        if order is not None:
            if not order.is_closed:
                if (
                    not self.use_alerts
                    and tick.ts_event - self.submitted_ns[iid] >= self.ttl_ns
                    and not order.is_pending_cancel
                    and order.is_open
                ):
                    self.cancel_order(order)
                return
            del self.working[iid]
        pos = self.pos_qty[iid]
        if ask < ema * (1 - self.entry) and pos + self.qty <= self.max_position:
            self._submit(iid, OrderSide.BUY, self.qty, tick.ask_price, tick.ts_event)
        elif pos > 0 and bid > self.avg_px[iid] * (1 + self.exit):
            self._submit(iid, OrderSide.SELL, min(self.qty, pos), tick.bid_price, tick.ts_event)

    def _submit(self, iid: InstrumentId, side: OrderSide, qty: int, px: Price, ts: int) -> None:
        order = self.order_factory.limit(
            instrument_id=iid,
            order_side=side,
            quantity=Quantity.from_int(qty),
            price=px,
        )
        self.working[iid] = order
        self.submitted_ns[iid] = ts
        self.n_orders += 1
        self.submit_order(order)
        if self.use_alerts:
            self.clock.set_time_alert_ns(
                f"ttl-{order.client_order_id.value}",
                self.clock.timestamp_ns() + self.ttl_ns,
                lambda _ev, o=order: self._expire(o),
            )

    def _expire(self, order: Any) -> None:
        if order.is_open and not order.is_pending_cancel:
            self.cancel_order(order)

    def on_order_filled(self, event: Any) -> None:
        self.n_fills += 1
        iid = event.instrument_id
        q = int(event.last_qty.as_double())
        px = event.last_px.as_double()
        pos = self.pos_qty[iid]
        if event.order_side == OrderSide.BUY:
            new = pos + q
            self.avg_px[iid] = (self.avg_px[iid] * pos + px * q) / new if new else 0.0
            self.pos_qty[iid] = new
        else:
            new = pos - q
            self.pos_qty[iid] = new
            if new == 0:
                self.avg_px[iid] = 0.0

    def on_order_canceled(self, event: Any) -> None:
        self.n_cancels += 1


# --------------------------------------------------------------------------- run


def run(args: argparse.Namespace) -> dict[str, Any]:
    t0 = time.perf_counter()
    instruments, ticks, skipped = load_quotes(args.data)
    load_s = time.perf_counter() - t0

    t1 = time.perf_counter()
    engine = BacktestEngine(
        config=BacktestEngineConfig(
            trader_id=TraderId("BACKTESTER-001"),
            logging=LoggingConfig(log_level=args.log_level, bypass_logging=args.bypass_logging),
            run_analysis=False,
        ),
    )
    engine.add_venue(
        venue=Venue(VENUE),
        oms_type=OmsType.NETTING,
        account_type=AccountType.CASH,
        base_currency=USD,
        starting_balances=[Money(1_000_000, USD)],
    )
    for inst in instruments.values():
        engine.add_instrument(inst)
    engine.add_data(ticks)
    iids = tuple(str(inst.id) for inst in instruments.values())
    if args.strategy == "noop":
        strategy = Noop(NoopConfig(instrument_ids=iids))
    else:
        strategy = EmaMeanReversion(
            EmaConfig(
                instrument_ids=iids,
                ema_ticks=args.ema_ticks,
                entry_bps=args.entry_bps,
                exit_bps=args.exit_bps,
                ttl_mode=args.ttl_mode,
            )
        )
    engine.add_strategy(strategy)
    setup_s = time.perf_counter() - t1

    t2 = time.perf_counter()
    c2 = time.process_time()
    engine.run()
    wall_s = time.perf_counter() - t2
    cpu_s = time.process_time() - c2  # all threads of this process; a check on contention

    n = len(ticks)
    orders = len(engine.cache.orders())
    fills_report = engine.trader.generate_fills_report()
    result = {
        "engine": "nautilus_trader",
        "nautilus_version": nautilus_trader.__version__,
        "python": sys.version.split()[0],
        "strategy": args.strategy,
        "ttl_mode": args.ttl_mode if args.strategy == "ema" else None,
        "data": args.data,
        "quotes": n,
        "skipped_one_sided": skipped,
        "instruments": len(instruments),
        "load_s": round(load_s, 4),
        "setup_s": round(setup_s, 4),
        "wall_s": round(wall_s, 4),
        "quotes_per_s": round(n / wall_s, 1) if wall_s > 0 else None,
        "run_cpu_s": round(cpu_s, 4),
        "orders": orders,
        "orders_submitted_by_strategy": strategy.n_orders,
        "fills": len(fills_report),
        "fill_events": strategy.n_fills,
        "cancels": strategy.n_cancels,
        "final_positions": {str(k): v for k, v in getattr(strategy, "pos_qty", {}).items()},
    }
    engine.dispose()
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="Polygon quotes_v1 gzip CSV")
    ap.add_argument("--strategy", choices=("noop", "ema"), default="noop")
    ap.add_argument("--json", help="write the result as JSON here")
    ap.add_argument("--ttl-mode", choices=("alert", "quote"), default="alert")
    ap.add_argument("--ema-ticks", type=int, default=50)
    ap.add_argument("--entry-bps", type=float, default=3.0)
    ap.add_argument("--exit-bps", type=float, default=3.0)
    ap.add_argument("--log-level", default="ERROR")
    ap.add_argument("--bypass-logging", action="store_true")
    ap.add_argument("--make-data", metavar="OUT", help="write a synthetic quotes file and exit")
    ap.add_argument("--rows", type=int, default=300_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)

    if args.make_data:
        t = time.perf_counter()
        make_data(args.make_data, args.rows, args.seed)
        print(f"wrote {args.rows} quotes to {args.make_data} in {time.perf_counter() - t:.2f}s")
        return 0
    if not args.data:
        ap.error("--data is required (or --make-data OUT)")

    result = run(args)
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
            fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
