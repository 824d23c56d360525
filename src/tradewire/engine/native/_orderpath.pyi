"""Types of the C extension (``_orderpath.c``)."""

from tradewire.engine.journal.store import Journal

def crc32(data: bytes, /) -> int: ...

class RiskCore:
    tokens: float
    mode: int
    def __init__(
        self,
        stock: tuple[float, float, float, float, float, float, float],
        crypto: tuple[float, float, float, float, float, float, float],
        rate: float,
        /,
    ) -> None: ...
    def check(
        self,
        crypto: bool,
        buy: bool,
        qty: float,
        price: float | None,
        mid: float | None,
        position: float,
        open_orders: int,
        gross: float,
        daily_pnl: float,
        now_ns: int,
        working_buy: float,
        working_sell: float,
        working_notional: float,
        notional: float,
        multiplier: float,
        /,
    ) -> int: ...
    def gate(self, now_ns: int, open_orders: int, /) -> int: ...

class OrderPath:
    def __init__(self, risk: RiskCore, journal: Journal, fsync_always: bool, /) -> None: ...
    def submit(
        self,
        template: tuple[bytes, bytes, bytes, bytes, bytes, bool, int],
        cid: str,
        symbol: str,
        side: str,
        order_type: str,
        tif: str,
        strategy: str,
        qty: float,
        limit: float | None,
        mid: float | None,
        position: float,
        open_orders: int,
        gross: float,
        daily_pnl: float,
        now_ns: int,
        working: list[float] | None,
        working_notional: float,
        ts_ns: int,
        /,
    ) -> bytes | int | None: ...
    def last_frame(self) -> bytes: ...
