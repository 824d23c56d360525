"""``tradewire bench --rounds N``: the contenders run N times, in alternating order, and are
compared round by round.

On this kind of machine identical runs of the same code differ by ±40 % and the host drifts
within minutes, so one run of A then B cannot decide an effect of a few per cent: whatever
the host did between A and B is in the difference. Pairing inside a round cancels what is
common to the round (the day, the minute, the neighbours); alternating the order cancels a
drift within the round; the median of the per-round ratios resists the one round a neighbour
ruined. ``below_1`` says in how many rounds the contender was faster, so a reader sees
whether a median is a majority or a coin toss.

Pure: the rounds' figures in, pooled figures and paired ratios out (unit-tested with
numbers).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from hdrh.histogram import HdrHistogram

from tradewire.bench import floors

# Counts that add up across rounds; everything else about a round stays in its own figures.
_COUNTS = (
    "triggers_sent",
    "triggers_delivered",
    "orders_matched",
    "missed_triggers",
    "duplicate_orders",
    "unmatched_orders",
)
REFERENCE = "tradewire"


def order(contenders: Sequence[str], k: int) -> list[str]:
    """Round ``k``'s running order: as given, then reversed, and so on."""
    return list(contenders) if k % 2 == 0 else list(reversed(contenders))


def _median_of(rows: Sequence[Mapping[str, Any]], key: str) -> dict[str, float]:
    """Per percentile, the median over rounds of ``row[key][percentile]`` (rounds that lack
    it are left out)."""
    values: dict[str, list[float]] = {}
    for row in rows:
        for label, v in (row.get(key) or {}).items():
            if isinstance(v, int | float):
                values.setdefault(label, []).append(float(v))
    return {label: round(statistics.median(vs), 1) for label, vs in values.items()}


def pool(
    per_round: Sequence[Mapping[str, Mapping[str, Any]]], summary: Any
) -> dict[str, dict[str, Any]]:
    """One figure set per contender over every round: the latency histograms added (so the
    percentiles are those of all samples), the counts summed, and the engine's split and
    stages as the median over rounds of each percentile (they come as percentiles, which
    do not add). ``summary`` turns a histogram into the figures (tick_to_trade._summary).
    """
    names: list[str] = []
    for rnd in per_round:
        names += [n for n in rnd if n not in names]
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        rows = [rnd[name] for rnd in per_round if name in rnd]
        raw, corrected = _added(rows, "_hist"), _added(rows, "_hist_co")
        fig: dict[str, Any] = {k: sum(int(r.get(k, 0)) for r in rows) for k in _COUNTS}
        fig["rounds"] = len(rows)
        fig["latency"] = summary(raw)
        fig["latency_co_corrected"] = summary(corrected)
        fig["placement"] = rows[0].get("placement", {})
        split_rows = [r["split_us"] for r in rows if r.get("split_us")]
        if split_rows:
            fig["split_us"] = {
                part: _median_of(split_rows, part) for part in ("wire_in", "engine", "wire_out")
            }
        stage_rows = [r["engine_stages_us"] for r in rows if r.get("engine_stages_us")]
        if stage_rows:
            stages = {s for row in stage_rows for s in row}
            fig["engine_stages_us"] = {s: _median_of(stage_rows, s) for s in sorted(stages)}
        fig["_hist"], fig["_hist_co"] = raw, corrected
        out[name] = fig
    return out


def _added(rows: Sequence[Mapping[str, Any]], key: str) -> HdrHistogram:
    total = HdrHistogram(1, 60_000_000_000, 3)
    for r in rows:
        if r.get(key) is not None:
            total.add(r[key])
    return total


def _engine_p50(fig: Mapping[str, Any]) -> float | None:
    engine = (fig.get("split_us") or {}).get("engine") or {}
    value = engine.get("p50")
    return float(value) if isinstance(value, int | float) else None


def table(per_round: Sequence[Mapping[str, Mapping[str, Any]]]) -> list[dict[str, dict[str, Any]]]:
    """Each round's p50, p99 and engine p50 per contender (what the JSON keeps per round)."""
    return [
        {
            name: {
                "p50": fig["latency"]["p50_us"],
                "p99": fig["latency"]["p99_us"],
                "engine_p50": _engine_p50(fig),
            }
            for name, fig in rnd.items()
        }
        for rnd in per_round
    ]


def _stats(ratios: Sequence[float]) -> dict[str, Any]:
    return {
        "per_round": [round(r, 3) for r in ratios],
        "median": round(statistics.median(ratios), 3),
        "min": round(min(ratios), 3),
        "max": round(max(ratios), 3),
        "below_1": sum(1 for r in ratios if r < 1),
        "rounds": len(ratios),
    }


def versus_reference(
    rows: Sequence[Mapping[str, Mapping[str, Any]]], reference: str = REFERENCE
) -> dict[str, dict[str, Any]]:
    """Every other non-floor contender over ``reference``, paired inside each round:
    tick-to-trade p50 and p99, and the engine's own p50 (callback -> order written, which
    leaves the two wires' noise out). Below 1 means faster than the reference."""
    out: dict[str, dict[str, Any]] = {}
    names = {n for row in rows for n in row if n != reference and not floors.is_floor(n)}
    for name in sorted(names):
        entry: dict[str, Any] = {}
        for q in ("p50", "p99", "engine_p50"):
            ratios = [
                row[name][q] / row[reference][q]
                for row in rows
                if name in row
                and reference in row
                and row[name][q] is not None
                and row[reference][q]  # None or 0: no figure to divide by
            ]
            if ratios:
                entry[q] = _stats(ratios)
        if entry:
            out[name] = entry
    return out


def versus_floor(per_round: Sequence[Mapping[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """``floors.versus_floor`` per round, then the median of each ratio (with its range):
    the floor of the same round is the fair one to divide by."""
    collected: dict[str, dict[str, list[float]]] = {}
    floor_of: dict[str, str] = {}
    for rnd in per_round:
        for name, row in floors.versus_floor(rnd).items():
            floor_of[name] = str(row["floor"])
            for q in ("p50", "p99"):
                collected.setdefault(name, {}).setdefault(q, []).append(float(row[q]))
    out: dict[str, Any] = {}
    for name, qs in collected.items():
        entry: dict[str, Any] = {"floor": floor_of[name]}
        for q, vs in qs.items():
            entry[q] = round(statistics.median(vs), 2)
            entry[f"{q}_range"] = [round(min(vs), 2), round(max(vs), 2)]
        out[name] = entry
    return out


def report_lines(results: Mapping[str, Any], labels: Mapping[str, str]) -> list[str]:
    rows: list[Mapping[str, Mapping[str, Any]]] = results.get("rounds", [])
    if len(rows) < 2:
        return []
    lines = [
        f"  {len(rows)} rounds, in alternating order; the table above pools them, the "
        "ratios below are medians of each round's own",
        "  per round, p50 / p99 (µs):",
    ]
    names: list[str] = []
    for row in rows:
        names += [n for n in row if n not in names]
    for name in names:
        cells = [
            f"{row[name]['p50']:.0f}/{row[name]['p99']:.0f}" if name in row else "-" for row in rows
        ]
        lines.append(f"    {labels.get(name, name):<28}" + "  ".join(cells))
    paired = results.get("versus_tradewire", {})
    if paired:
        lines.append(f"  × {REFERENCE}, paired in each round (median [min-max], rounds below 1×):")
        for name, entry in paired.items():
            parts = [
                f"{q.replace('_', ' ')} {s['median']:.2f} [{s['min']:.2f}-{s['max']:.2f}] "
                f"{s['below_1']}/{s['rounds']}"
                for q, s in entry.items()
            ]
            lines.append(f"    {labels.get(name, name):<28}" + ";  ".join(parts))
    return lines
