"""The text report of the tick-to-trade bench (:mod:`tradewire.bench.tick_to_trade`).

Every table is laid out from its own cells: the label column is as wide as its widest label
and each figure column as wide as its widest cell, so a long contender name (the worker and
fan-out contenders, "tradewire, busy-poll, warm") cannot push its row out of line, as the
fixed 22-character column used to.

The split of tick-to-trade into wire-in / engine / wire-out subtracts stamps taken in two
processes: the simulator's (``time.monotonic_ns``) and the strategy's (``perf_counter_ns``).
Both read ``CLOCK_MONOTONIC`` on Linux, but a stage derived from two processes' stamps can
still come out below zero: wire-out ends at the simulator's read and starts at the strategy's
"order call returned" stamp, taken *after* the socket write, so a busy-polling simulator can
read the request before the engine's call returns (and on a host whose two clocks differ,
skew adds to it). A negative figure there means "about zero", not time running backwards:
the report shows it as ``~0 (skew X)`` and names the largest skew in a note; the JSON keeps
the raw value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tradewire.bench import floors, rounds

_LAT_COLUMNS = (("p50", "p50_us"), ("p90", "p90_us"), ("p99", "p99_us"), ("p99.9", "p99_9_us"))
_SPLIT_PARTS = (("wire in", "wire_in"), ("engine", "engine"), ("wire out", "wire_out"))
_STAGE_COLUMNS = (("p50", "p50"), ("p90", "p90"), ("p99", "p99"), ("p99.9", "p99_9"))


def table(header: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "    ") -> list[str]:
    """Lines of a table: the first column left-aligned, the others right-aligned, each as
    wide as its widest cell (two spaces between columns)."""
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    out = []
    for r in (header, *rows):
        cells = [r[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)
        ]
        out.append(indent + "  ".join(cells).rstrip())
    return out


def ratio_cell(value: float | None) -> str:
    return f"{value:.1f}x" if value is not None else "n/a"


def stage_cell(value: float, skews: list[float]) -> str:
    """A stage time in µs; below zero (two processes' stamps, see the module doc) it reads
    ``~0 (skew X)`` and the skew is kept for the note under the table."""
    if value < 0:
        skews.append(-value)
        return f"~0 (skew {-value:.1f})"
    return f"{value:.1f}"


def render(results: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    """The whole tick-to-trade section of ``tradewire bench``'s output."""
    sc = results["scenario"]
    per: Mapping[str, Any] = results["contenders"]

    def label(name: str) -> str:
        return labels.get(name, name)

    lines = [
        "tick-to-trade: simulator wrote the trigger frame -> simulator read the order request "
        "(one CLOCK_MONOTONIC, µs)",
        f"  load: {sc['rate']:,.0f} background quotes/s over {sc['symbols']} symbols; "
        f"{sc['triggers']} triggers at {sc['trigger_rate']:g}/s, open loop",
    ]
    header = ["contender", "samples", "missed", *(h for h, _ in _LAT_COLUMNS), "max"]
    rows = []
    for name, r in per.items():
        lat = r["latency"]
        rows.append(
            [label(name), f"{lat['samples']:.0f}", str(r["missed_triggers"])]
            + [f"{lat[k]:.1f}" for _, k in _LAT_COLUMNS]
            + [f"{lat['max_us']:.1f}"]
        )
    for key, text in (
        ("ratios_sdk_over_tradewire", "ratio SDKs / tradewire"),
        ("ratios_untuned_over_tuned", "ratio untuned / tuned"),
    ):
        if key in results:
            ratio = results[key]
            keys = ("p50", "p90", "p99", "p99_9", "max")
            rows.append([text, "", ""] + [ratio_cell(ratio.get(k)) for k in keys])
    lines += table(header, rows, indent="  ")
    width = len(header[0]) if not rows else max(len(r[0]) for r in (header, *rows))
    for name, why in results.get("skipped", {}).items():
        lines.append(f"  {label(name).ljust(width)}  skipped, {why}")
    lines += floors.report_lines(results.get("versus_c_floor", {}), labels)
    lines += rounds.report_lines(results, labels)
    lines += _co_and_placement(per, label)
    lines += _split(per, label)
    lines += _engine_stages(per)
    return "\n".join(lines)


def _co_and_placement(per: Mapping[str, Any], label: Callable[[str], str]) -> list[str]:
    lines = ["  corrected for coordinated omission (µs):"]
    rows = []
    for name, r in per.items():
        c = r["latency_co_corrected"]
        keys = ("p50_us", "p99_us", "p99_9_us")
        rows.append([label(name), f"{c['samples']:.0f}"] + [f"{c[k]:.1f}" for k in keys])
    lines += table(["contender", "samples", "p50", "p99", "p99.9"], rows)
    for name, r in per.items():
        if r.get("duplicate_orders") or r.get("unmatched_orders"):
            lines.append(
                f"  {name}: {r['duplicate_orders']} duplicate, {r['unmatched_orders']} unmatched orders"
            )
        place = r.get("placement", {})
        lines.append(
            f"  placement {name}: "
            + (
                f"simulator on CPU {place['simulator_cpus']}, contender on CPU {place['contender_cpus']}"
                if place.get("pinned")
                else f"not pinned ({place.get('why')})"
            )
        )
    return lines


def _split(per: Mapping[str, Any], label: Callable[[str], str]) -> list[str]:
    rows: list[list[str]] = []
    skews: list[float] = []
    for name, r in per.items():
        sp = r.get("split_us")
        if not (sp and sp.get("engine")):
            continue
        row = [label(name)]
        for _, part in _SPLIT_PARTS:
            row += [stage_cell(sp[part][q], skews) for q in ("p50", "p99")]
        rows.append(row)
    if not rows:
        return []
    header = ["split (µs)"] + [f"{h} {q}" for h, _ in _SPLIT_PARTS for q in ("p50", "p99")]
    lines = ["  where tick-to-trade goes: wire in, engine, wire out (p50 / p99, µs):"]
    lines += table(header, rows)
    if skews:
        lines.append(
            f"  ~0 (skew X): the stage came out below zero by X, up to {max(skews):.1f} µs: it "
            "subtracts stamps taken in two processes\n"
            "  (the simulator's read minus the strategy's 'order call returned', stamped after "
            "the socket write), so the read can come first; read it as about zero."
        )
    return lines


def _engine_stages(per: Mapping[str, Any]) -> list[str]:
    rows: list[list[str]] = []
    skews: list[float] = []
    for name, r in per.items():
        for stage, st in r.get("engine_stages_us", {}).items():
            rows.append(
                [f"{name} {stage}"]
                + [stage_cell(st[k], skews) for _, k in _STAGE_COLUMNS]
                + [stage_cell(st["max"], skews), f"{st['count']:.0f}"]
            )
    if not rows:
        return []
    header = ["engine stages (µs)", *(h for h, _ in _STAGE_COLUMNS), "max", "n"]
    return table(header, rows)
