"""Risk per asset class (issue 23): a crypto pair has its own size limits, in units of the
asset; notional stays USD; crypto exposure counts in the one gross exposure; the daily-loss
day of a 24/7 market is its own (UTC midnight by default)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from tradewire.engine.config import CryptoRiskConfig, RiskConfig
from tradewire.engine.positions import PositionBook
from tradewire.engine.risk import APPROVED, Denied, DenyReason, RiskEngine
from tradewire.engine.session import CryptoDayClock, crypto_pnl

# Every case on the native risk rules and on their pure-Python twin (issue 26).
pytestmark = pytest.mark.usefixtures("order_path")

SEC = 1_000_000_000
BTC = 90_000.0


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def check(engine: RiskEngine, **overrides):
    args = {
        "symbol": "BTC/USD",
        "side": "buy",
        "qty": 0.1,
        "price": BTC,
        "mid": BTC,
        "position": 0.0,
        "open_orders": 0,
        "gross_exposure": 0.0,
        "daily_pnl": 0.0,
        "now_ns": 10 * SEC,
    }
    args.update(overrides)
    return engine.check(**args)


def test_crypto_defaults_are_conservative_and_in_units_of_the_asset():
    c = RiskConfig().crypto
    assert isinstance(c, CryptoRiskConfig)
    assert (c.max_order_qty, c.max_position_qty) == (1.0, 2.0)  # BTC, ETH...: units
    assert (c.max_order_notional, c.max_daily_loss) == (25_000.0, 2_500.0)  # USD
    assert c.day_starts_utc_hour == 0
    # Stock limits untouched.
    s = RiskConfig()
    assert (s.max_order_qty, s.max_order_notional, s.max_position_qty) == (1_000, 50_000, 2_000)


@pytest.mark.parametrize("hour", [-1, 24, 1.5])
def test_the_crypto_day_start_is_an_hour_of_the_utc_day(hour):
    with pytest.raises(ValidationError):
        RiskConfig.model_validate({"crypto": {"day_starts_utc_hour": hour}})


def test_a_pair_is_limited_in_units_of_the_asset_not_like_shares():
    e = RiskEngine(RiskConfig(max_order_notional=1e9, price_band_pct=50))
    verdict = check(e, qty=5.0, price=None, mid=1.0)
    assert isinstance(verdict, Denied)
    assert verdict.reason is DenyReason.MAX_QTY  # the reason key stays max_qty
    assert str(verdict) == "max_qty (crypto): 5 > 1"
    assert e.denials[DenyReason.MAX_QTY] == 1
    # The same 5 of a stock passes the stock limit (1,000 shares).
    assert check(e, symbol="AAPL", qty=5.0, price=None, mid=1.0) is APPROVED


def test_a_pair_position_limit_counts_working_orders_in_units():
    e = RiskEngine(RiskConfig())
    verdict = check(e, qty=0.2, position=1.5, working=[0.4, 0.0], mid=100.0, price=None)
    assert isinstance(verdict, Denied)
    assert verdict.reason is DenyReason.MAX_POSITION
    assert str(verdict) == "max_position (crypto): 2.1 with working orders, beyond 2"
    # Reducing is always allowed.
    assert check(e, side="sell", qty=1.0, position=3.0, mid=100.0, price=None) is APPROVED


def test_a_pair_notional_limit_is_usd_and_its_own():
    e = RiskEngine(RiskConfig())
    verdict = check(e, qty=0.5)  # 0.5 x 90,000 = 45,000 > 25,000
    assert isinstance(verdict, Denied)
    assert verdict.reason is DenyReason.MAX_NOTIONAL
    assert str(verdict) == "max_notional (crypto): 45,000.00 > 25,000.00"
    # A stock order of the same notional is within the stock limit (50,000).
    assert check(e, symbol="AAPL", qty=450.0, price=100.0, mid=100.0) is APPROVED


def test_stock_denials_keep_their_text():
    e = RiskEngine(RiskConfig(max_order_qty=5))
    assert str(check(e, symbol="AAPL", qty=10.0, price=100.0, mid=100.0)) == "max_qty: 10 > 5"
    # ... and the crypto limits do not follow the stock ones.
    assert check(e, qty=0.1) is APPROVED


def test_crypto_exposure_counts_in_gross_exposure():
    book = PositionBook()
    book.apply_fill("AAPL", "buy", 100, 100.0)
    book.apply_fill("BTC/USD", "buy", 1.0, 80_000.0)
    book.mark("BTC/USD", BTC)
    assert book.gross_exposure == pytest.approx(10_000 + BTC)
    e = RiskEngine(RiskConfig(max_gross_exposure=100_000))
    verdict = check(
        e, symbol="AAPL", qty=10.0, price=100.0, mid=100.0, gross_exposure=book.gross_exposure
    )
    assert isinstance(verdict, Denied)
    assert verdict.reason is DenyReason.GROSS_EXPOSURE
    # ... and a crypto order is held to the same account-wide limit.
    verdict = check(e, qty=0.01, position=1.0, gross_exposure=book.gross_exposure)
    assert isinstance(verdict, Denied)
    assert verdict.reason is DenyReason.GROSS_EXPOSURE


def test_crypto_pnl_sums_the_pairs_only():
    book = PositionBook()
    book.apply_fill("AAPL", "buy", 10, 100.0)
    book.mark("AAPL", 90.0)  # -100
    book.apply_fill("BTC/USD", "buy", 1.0, 90_000.0)
    book.apply_fill("BTC/USD", "sell", 0.5, 89_000.0)  # -500 realized
    book.mark("BTC/USD", 88_000.0)  # -1,000 unrealized on 0.5
    book.apply_fill("ETH/USD", "buy", 1.0, 3_000.0)
    book.mark("ETH/USD", 3_100.0)  # +100
    assert crypto_pnl(book.positions) == pytest.approx(-1_400.0)
    assert crypto_pnl({}) == 0.0


def test_the_crypto_day_starts_at_utc_midnight_not_new_york():
    clock = CryptoDayClock()
    assert not clock.new_day(utc(2026, 12, 4, 23, 0))  # the first call only records
    assert clock.day == "2026-12-04"
    assert clock.new_day(utc(2026, 12, 5, 0, 0, 1))  # 19:00 in New York: same NY day
    assert clock.day == "2026-12-05"
    assert not clock.new_day(utc(2026, 12, 5, 5, 0))  # NY midnight is no crypto boundary


def test_the_crypto_day_start_hour_is_configurable():
    clock = CryptoDayClock(day_starts_utc_hour=8)
    assert not clock.new_day(utc(2026, 12, 5, 7, 59))
    assert clock.day == "2026-12-04"  # named by the UTC date it began on
    assert clock.new_day(utc(2026, 12, 5, 8, 0))
    assert clock.day == "2026-12-05"
    assert not clock.new_day(utc(2026, 12, 6, 7, 0))


def test_crypto_daily_loss_is_the_pairs_pnl_since_the_crypto_day_began():
    pnl = {"crypto": 0.0}
    e = RiskEngine(RiskConfig(), crypto_pnl=lambda: pnl["crypto"])
    assert not e.roll_crypto_day(utc(2026, 12, 4, 12, 0))
    pnl["crypto"] = -2_600.0
    # The equity session's P&L is fine, the crypto day's is not.
    verdict = check(e, daily_pnl=0.0)
    assert isinstance(verdict, Denied)
    assert verdict.reason is DenyReason.DAILY_LOSS
    assert str(verdict) == "daily_loss (crypto): crypto day P&L -2,600.00, limit -2,500.00"
    # A stock order reads the equity session's P&L, not the crypto day's.
    assert check(e, symbol="AAPL", qty=1.0, price=100.0, mid=100.0, daily_pnl=0.0) is APPROVED
    # A crypto loss does not deny a stock order; an equity loss does not deny a crypto one.
    assert check(e, side="sell", qty=0.1, position=1.0) is APPROVED  # reducing
    assert not e.roll_crypto_day(utc(2026, 12, 4, 23, 59))
    assert isinstance(check(e), Denied)
    # UTC midnight: a new crypto day, the loss so far is yesterday's.
    assert e.roll_crypto_day(utc(2026, 12, 5, 0, 0))
    assert check(e, daily_pnl=-1e6) is APPROVED
    pnl["crypto"] = -5_200.0
    assert isinstance(check(e), Denied)


def test_without_a_crypto_pnl_source_a_pair_reads_the_daily_pnl_given():
    e = RiskEngine(RiskConfig())
    verdict = check(e, daily_pnl=-2_501.0)
    assert isinstance(verdict, Denied)
    assert verdict.reason is DenyReason.DAILY_LOSS


def test_a_host_gives_risk_the_pairs_pnl_so_an_equity_loss_does_not_stop_crypto():
    # Wiring (the test harness builds its engine as the live and backtest nodes do): an
    # equity loss past the crypto limit leaves the crypto day's P&L at zero.
    from tradewire import Strategy
    from tradewire.testing import FakeContext
    from tradewire.venues.polygon.crypto import CryptoQuote

    class BuyBtc(Strategy):
        def on_quote(self, quote: object) -> None:
            self.handle = self.buy("BTC/USD", 0.001)

    s = BuyBtc(symbols=["BTC/USD"])
    ctx = FakeContext(s, risk=RiskConfig(price_band_pct=50)).start()
    book = ctx.ledger.book
    book.apply_fill("AAPL", "buy", 100, 100.0)
    book.mark("AAPL", 70.0)  # -3,000 on the equity session, past crypto's 2,500
    ctx.feed([CryptoQuote("BTC-USD", bid_price=50_000.0, ask_price=50_002.0, timestamp=1)])
    assert s.handle.denied is None, s.handle.denied
    book.apply_fill("BTC/USD", "buy", 1.0, 50_001.0)
    book.mark("BTC/USD", 47_000.0)  # -3,001 on the pairs
    ctx.feed([CryptoQuote("BTC-USD", bid_price=47_000.0, ask_price=47_002.0, timestamp=2)])
    assert s.handle.denied is not None
    assert s.handle.denied.startswith("daily_loss (crypto): crypto day P&L -3,00")


def test_the_shipped_config_documents_the_crypto_defaults():
    from pathlib import Path

    from tradewire.app.config import load_config

    root = Path(__file__).resolve().parents[3]
    assert load_config(root / "config" / "trading_apis.yaml").risk.crypto == RiskConfig().crypto
