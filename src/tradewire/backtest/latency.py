"""How late things happen in a backtest: the feed, the order's trip to the broker, the report.

``zero`` is the parity setting: the strategy sees a quote at its time, and its order reaches
the broker at that same instant, after the broker has seen the quote (as the simulator's feed
updates its book before it writes the frame). ``constant:US`` or ``constant:FEED,ORDER`` adds
fixed delays in microseconds. ``bench:FILE.json`` samples them from a ``tradewire bench
--json`` run of this machine: the feed from the ``wire_in`` split, the order from ``engine``
+ ``wire_out``, the report back from ``wire_in`` again. Samples come from a seeded generator,
so a rerun draws the same delays.
"""

from __future__ import annotations

import bisect
import itertools
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradewire.errors import ConfigError

_QUANTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99_9", 0.999))


@dataclass(frozen=True, slots=True)
class Distribution:
    """A delay in ns: constant, or a piecewise-linear inverse CDF through percentile points."""

    points: tuple[tuple[float, float], ...]  # (quantile, ns), quantile ascending

    @classmethod
    def constant(cls, ns: float) -> Distribution:
        return cls(((0.0, ns), (1.0, ns)))

    @classmethod
    def from_percentiles_us(cls, pct: dict[str, float]) -> Distribution:
        # Below the median the bench reports nothing: the median stands in for the lower
        # half (it slightly narrows the spread; documented in docs/backtest.md).
        known = [(q, max(0.0, float(pct[k])) * 1000.0) for k, q in _QUANTILES if k in pct]
        if not known:
            raise ConfigError("bench latency: no p50/p90/p99/p99_9 figures")
        points = [(0.0, known[0][1]), *known]
        if points[-1][0] < 1.0:
            points.append((1.0, points[-1][1]))
        # A non-monotone summary (rounding) must still give a valid inverse CDF.
        mono: list[tuple[float, float]] = []
        for q, ns in points:
            mono.append((q, max(ns, mono[-1][1]) if mono else ns))
        return cls(tuple(mono))

    def sample(self, rng: random.Random) -> int:
        points = self.points
        if points[0][1] == points[-1][1]:
            return int(points[0][1])
        u = rng.random()
        i = bisect.bisect_right([q for q, _ in points], u)
        (q0, v0), (q1, v1) = points[max(i - 1, 0)], points[min(i, len(points) - 1)]
        if q1 == q0:
            return int(v1)
        return int(v0 + (v1 - v0) * (u - q0) / (q1 - q0))

    def add(self, other: Distribution) -> Distribution:
        """The sum's quantiles as the sum of quantiles (comonotone: a cautious upper bound)."""
        qs = sorted({q for q, _ in self.points} | {q for q, _ in other.points})
        return Distribution(tuple((q, self.at(q) + other.at(q)) for q in qs))

    def at(self, q: float) -> float:
        points = self.points
        for (q0, v0), (q1, v1) in itertools.pairwise(points):
            if q0 <= q <= q1:
                return v0 if q1 == q0 else v0 + (v1 - v0) * (q - q0) / (q1 - q0)
        return points[-1][1]


@dataclass(frozen=True, slots=True)
class LatencyModel:
    name: str
    feed: Distribution
    order: Distribution
    report: Distribution

    @property
    def zero(self) -> bool:
        return all(d.points[-1][1] == 0 for d in (self.feed, self.order, self.report))


def parse_latency_model(spec: str) -> LatencyModel:
    """``zero`` | ``constant:US`` | ``constant:FEED_US,ORDER_US`` | ``bench:FILE.json``."""
    kind, _, arg = spec.partition(":")
    if kind == "zero" and not arg:
        z = Distribution.constant(0)
        return LatencyModel("zero", z, z, z)
    if kind == "constant":
        try:
            values = [float(v) for v in arg.split(",")]
        except ValueError:
            values = []
        if len(values) not in (1, 2) or any(not 0 <= v < 1e9 for v in values):
            raise ConfigError(
                f"--latency-model {spec!r}: constant:US or constant:FEED_US,ORDER_US, "
                "each a number of microseconds ≥ 0"
            )
        feed_us, order_us = values[0], values[-1]
        feed, order = Distribution.constant(feed_us * 1000), Distribution.constant(order_us * 1000)
        return LatencyModel(spec, feed, order, feed)
    if kind == "bench" and arg:
        return _from_bench(spec, Path(arg))
    raise ConfigError(
        f"--latency-model {spec!r}: choose zero, constant:US[,US] or bench:FILE.json "
        "(a `tradewire bench --json` file)"
    )


def _from_bench(spec: str, path: Path) -> LatencyModel:
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        split = data.get("tick_to_trade", data)["contenders"]["tradewire"]["split_us"]
        wire_in, engine, wire_out = split["wire_in"], split["engine"], split["wire_out"]
    except OSError as exc:
        raise ConfigError(f"--latency-model {spec!r}: cannot read {path}: {exc}") from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ConfigError(
            f"--latency-model {spec!r}: {path} is not a `tradewire bench --json` file with a "
            "tradewire tick-to-trade split (wire_in, engine, wire_out)"
        ) from None
    feed = Distribution.from_percentiles_us(wire_in)
    order = Distribution.from_percentiles_us(engine).add(Distribution.from_percentiles_us(wire_out))
    return LatencyModel(spec, feed, order, feed)
