"""The native risk rules and their Python twin agree (issue 26): one rule set, two languages.

The risk unit tests run on both (``order_path`` fixture); here both cores see the same
random stream of orders, edge numbers included (NaN, infinities, zero, None prices), and
must answer the same code and keep the same throttle tokens after every one.
"""

from __future__ import annotations

import math
import os
import random

import pytest

from tradewire.engine import native
from tradewire.engine.risk_rules import PyRiskCore

pytestmark = pytest.mark.skipif(
    native.NATIVE is None and not os.environ.get("CI"), reason=native.notice()
)

STOCK = (5.0, 1000.0, 50_000.0, 5.0, 2000.0, 200_000.0, 1000.0)
CRYPTO = (5.0, 2.0, 20_000.0, 5.0, 4.0, 200_000.0, 300.0)
EDGE = [0.0, -0.0, 1.0, -1.0, math.nan, math.inf, -math.inf, 1e-12, 1e300]


def _number(rng: random.Random, low: float, high: float) -> float:
    if rng.random() < 0.08:
        return rng.choice(EDGE)
    return rng.uniform(low, high)


def _case(rng: random.Random, now_ns: int) -> tuple[object, ...]:
    mid = None if rng.random() < 0.1 else _number(rng, 1.0, 200.0)
    price = None if rng.random() < 0.4 else _number(rng, 1.0, 200.0)
    notional = _number(rng, 0.0, 60_000.0) if rng.random() < 0.15 else 0.0
    return (
        rng.random() < 0.2,  # crypto
        rng.random() < 0.5,  # buy
        _number(rng, 0.0, 1500.0),
        price,
        mid,
        _number(rng, -2500.0, 2500.0),
        rng.randrange(0, 7),
        _number(rng, 0.0, 250_000.0),
        _number(rng, -1500.0, 500.0),
        now_ns,
        _number(rng, 0.0, 500.0),
        _number(rng, 0.0, 500.0),
        _number(rng, 0.0, 50_000.0),
        notional,
        rng.choice((1.0, 1.0, 100.0)),
    )


@pytest.mark.parametrize("seed", range(8))
def test_native_and_python_rules_answer_alike_on_random_orders(seed: int) -> None:
    assert native.NATIVE is not None, native.notice()
    rng = random.Random(seed)
    c_core = native.NATIVE.RiskCore(STOCK, CRYPTO, 20.0)
    py_core = PyRiskCore(STOCK, CRYPTO, 20.0)
    now_ns = 1_000_000_000
    codes: set[int] = set()
    for i in range(5000):
        now_ns += rng.choice((0, 1_000, 5_000_000, 50_000_000, 1_000_000_000))
        if i % 500 == 0:
            mode = rng.choice((0, 0, 1, 2, 3))
            c_core.mode = py_core.mode = mode
        args = _case(rng, now_ns)
        if rng.random() < 0.05:
            assert c_core.gate(now_ns, args[6]) == py_core.gate(now_ns, args[6])
        else:
            c, p = c_core.check(*args), py_core.check(*args)
            assert c == p, (i, args)
            codes.add(c)
        assert c_core.tokens == py_core.tokens, (i, args)
    assert len(codes) >= 10  # the stream reached most rules, not only one denial


def test_the_native_crc_is_zlibs() -> None:
    import zlib

    assert native.NATIVE is not None, native.notice()
    rng = random.Random(1)
    for n in (0, 1, 7, 64, 300):
        data = rng.randbytes(n)
        assert native.NATIVE.crc32(data) == zlib.crc32(data)
