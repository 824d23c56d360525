"""Tick-to-trade: tradewire vs the official SDKs, timed by the simulator on one clock.

For each contender a fresh ``tradewire sim`` process sends open-loop background quotes
(``rate``/s over ``symbols`` symbols) and, once the contender subscribed, ``triggers``
trigger quotes at ``trigger_rate``/s (:mod:`tradewire.sim.triggers`). The contender runs in
its own process: ``tradewire run`` with :class:`~tradewire.bench.trigger_strategy.TriggerStrategy`,
or ``contenders/sdk_baseline.py`` (massive + alpaca-py). The simulator and the
contender are pinned to different cores when there are two.

The analysis is pure (:func:`analyse`): latencies go into an HdrHistogram (ns, 3 significant
digits). The source is open loop, so a slow contender cannot hold triggers back; in addition
the "corrected" histogram back-fills, HdrHistogram-style, the samples a stall longer than the
trigger interval would have hidden. A trigger whose order never arrived is *missed*, reported
as a count (a latency cannot be invented for it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from tradewire.bench import (
    baseline,
    compiled,
    contender,
    extras,
    floors,
    ha_contender,
    rounds,
    t2t_report,
)
from tradewire.bench.worker_contenders import (
    WORKER_CONTENDERS,
    gateway_and_workers,
    is_worker_contender,
)
from tradewire.sim.process import SimProcess, interrupt
from tradewire.sim.sources import symbols_for
from tradewire.sim.triggers import TRIGGER_SYMBOL

# The floors first: each later contender is reported against them (bench/floors.py).
CONTENDERS = ("floor-c", "floor-c-busy", "floor-py", "tradewire", "tradewire-busy-poll", "sdk")
# The engine's `tuning:` section per contender. "tradewire" is the shipped configuration;
# the others are the variants a decision in docs/performance.md was measured against.
TUNINGS = {
    "tradewire": "{gc: freeze}",
    "tradewire-untuned": "{enabled: false}",
    "tradewire-busy-poll": "{busy_poll: true, gc: freeze}",
    "tradewire-warm": "{gc: freeze, warm_path_ms: 1}",
    "tradewire-compiled": "{gc: freeze}",
    "tradewire-baseline": "{gc: freeze}",
    "tradewire-ha": "{gc: freeze}",
    "tradewire-busy-poll-warm": "{busy_poll: true, gc: freeze, warm_path_ms: 1}",
    "tradewire-pure": "{gc: freeze}",
    "tradewire-busy-poll-pure": "{busy_poll: true, gc: freeze}",
}
# The same engine on its pure-Python order path (TRADEWIRE_NATIVE=0): the native path's
# effect, measured side by side (issue 26).
PURE = frozenset({"tradewire-pure", "tradewire-busy-poll-pure"})
# Workers behind a gateway (bench/worker_contenders.py), and the shared-memory fan-out.
EXTRA_CONTENDERS = (
    "tradewire-untuned",
    "tradewire-compiled",
    "tradewire-baseline",
    "tradewire-ha",
    "tradewire-warm",
    "tradewire-busy-poll-warm",
    *sorted(PURE),
    "floor-py-busy",
    *WORKER_CONTENDERS,
    "tradewire-shm-x2",
    "tradewire-shm-x4",
    "tradewire-shm-x8",
)
LABELS = {
    "tradewire": "tradewire",
    "tradewire-untuned": "tradewire, untuned",
    "tradewire-busy-poll": "tradewire, busy-poll loop",
    "tradewire-warm": "tradewire, warm order path",
    "tradewire-compiled": "tradewire, mypyc hot path",
    "tradewire-baseline": "tradewire, baseline checkout",
    "tradewire-ha": "tradewire, replicated (HA)",  # <= 28: the per-round column
    "tradewire-busy-poll-warm": "tradewire, busy-poll, warm",
    "tradewire-pure": "tradewire, pure Python",
    "tradewire-busy-poll-pure": "tradewire, busy-poll, Python",
    "sdk": "massive + alpaca-py",
    **floors.LABELS,
}
# Packages outside the base install, by import name: the bench skips a contender without them.
NEEDS = {"sdk": ("massive", "alpaca")}
PLOT_NEEDS = ("matplotlib",)
PERCENTILES = (("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p99_9", 99.9))


@dataclass(slots=True)
class Scenario:
    """The load and the triggers; defaults are the issue's (20k quotes/s over 500 symbols)."""

    rate: float = 20_000.0
    symbols: int = 500
    triggers: int = 3_000
    trigger_rate: float = 200.0
    warmup_s: float = 2.0
    grace_s: float = 1.0
    seed: int = 7
    # The simulator polls so that its own wake-up is not counted as the contender's latency.
    sim_busy_poll: bool = True


# -- analysis (pure) -------------------------------------------------------------------------


def _hist() -> HdrHistogram:
    return HdrHistogram(1, 60_000_000_000, 3)


def _summary(hist: HdrHistogram) -> dict[str, float]:
    n = hist.get_total_count()
    out: dict[str, float] = {"samples": n}
    for label, pct in PERCENTILES:
        out[f"{label}_us"] = round(hist.get_value_at_percentile(pct) / 1000, 1) if n else 0.0
    out["max_us"] = round(hist.get_max_value() / 1000, 1) if n else 0.0
    out["mean_us"] = round(hist.get_mean_value() / 1000, 1) if n else 0.0
    return out


def analyse(log: Mapping[str, Any]) -> tuple[dict[str, Any], HdrHistogram]:
    """Turn the simulator's trigger log (``/_sim/triggers``) into figures and a histogram."""
    interval_ns = int(1e9 / float(log["rate"]))
    arrivals = {int(k): int(ns) for k, ns in log["arrivals"]}
    raw, corrected = _hist(), _hist()
    delivered = missed = 0
    for k, _due, written, frames in log["sent"]:
        if not frames:
            continue  # nobody was subscribed: not a trigger the contender could see
        delivered += 1
        arrival = arrivals.get(k)
        if arrival is None:
            missed += 1
            continue
        latency = max(1, arrival - written)
        raw.record_value(latency)
        corrected.record_corrected_value(latency, interval_ns)
    figures: dict[str, Any] = {
        "triggers_sent": len(log["sent"]),
        "triggers_delivered": delivered,
        "orders_matched": delivered - missed,
        "missed_triggers": missed,
        "duplicate_orders": int(log.get("duplicates", 0)),
        "unmatched_orders": int(log.get("unmatched_orders", 0)),
        "latency": _summary(raw),
        "latency_co_corrected": _summary(corrected),
        "_hist_co": corrected,  # kept so that rounds can be pooled (bench/rounds.py)
    }
    return figures, raw


def split(log: Mapping[str, Any], trace: Mapping[str, Sequence[int]]) -> dict[str, Any]:
    """Where tick-to-trade goes, from the simulator's stamps and the strategy's trace.

    Both sides read ``CLOCK_MONOTONIC`` (system-wide), so the differences are valid across
    the two processes: wire-in = frame written -> strategy callback (includes the kernel,
    the engine's wake-up, frame decode and dispatch), engine = callback -> order call
    returned (risk, journal, request bytes, socket write), wire-out = order call returned
    -> simulator read the request. A stage derived from two processes' stamps can go
    negative (wire-out does when the simulator's read beat the engine's return, or with skew
    between the two clocks): the raw value stays here, the report shows it as ~0 with the
    skew named (bench/t2t_report.py).
    """
    arrivals = {int(k): int(ns) for k, ns in log["arrivals"]}
    parts: dict[str, list[float]] = {"wire_in": [], "engine": [], "wire_out": []}
    for k, _due, written, _frames in log["sent"]:
        t = trace.get(str(k))
        arrival = arrivals.get(k)
        if t is None or arrival is None:
            continue
        parts["wire_in"].append((t[0] - written) / 1000)
        parts["engine"].append((t[1] - t[0]) / 1000)
        parts["wire_out"].append((arrival - t[1]) / 1000)
    out: dict[str, Any] = {}
    for name, values in parts.items():
        values.sort()
        n = len(values)
        out[name] = (
            {label: round(values[min(n - 1, int(n * pct / 100))], 1) for label, pct in PERCENTILES}
            if n
            else {}
        )
    return out


def ratios(ours: Mapping[str, float], theirs: Mapping[str, float]) -> dict[str, float | None]:
    """How many times faster we are, per percentile (theirs / ours); None without samples."""
    out: dict[str, float | None] = {}
    for label, _ in (*PERCENTILES, ("max", 100.0)):
        a, b = ours.get(f"{label}_us", 0.0), theirs.get(f"{label}_us", 0.0)
        out[label] = round(b / a, 1) if a > 0 and b > 0 else None
    return out


# -- running a contender ---------------------------------------------------------------------


def _config_yaml(symbols: Sequence[str], workdir: Path, *, tuning: str) -> str:
    # Risk limits sized for the bench (200 orders/s, one share each): they are still checked
    # on every order, as in production, they just never say no here.
    syms = ", ".join([*symbols, TRIGGER_SYMBOL])
    return f"""
mode: sim
feed: {{stale_after_s: 0}}
broker: {{request_timeout_s: 5}}
risk:
  max_order_qty: 10
  max_order_notional: 100000
  max_position_qty: 1000
  max_gross_exposure: 1000000
  max_open_orders: 1000
  max_orders_per_second: 10000
  price_band_pct: 50
  max_daily_loss: 100000
  max_rejects_in_window: 1000
journal: {{path: {workdir / "journal"}, fsync: batch}}
metrics: {{enabled: false}}
control: {{enabled: false}}
run: {{panel: false, cancel_open_orders_on_stop: true}}
tuning: {tuning}
strategies:
  - path: tradewire.bench.trigger_strategy:TriggerStrategy
    name: bench
    symbols: [{syms}]
    params: {{trace_path: {workdir / "trace.json"}}}
"""


def _placement(sim_pid: int, contender_pid: int) -> dict[str, Any]:
    """Simulator on the first CPU, contender on the others (as `tradewire run` places them);
    says what it could not do."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return {"pinned": False, "why": f"only {len(cpus)} CPU available"}
    try:
        os.sched_setaffinity(sim_pid, {cpus[0]})
        os.sched_setaffinity(contender_pid, set(cpus[1:]))
        # This process only polls; it must not take the contender's core from it.
        os.sched_setaffinity(0, {cpus[0]})
    except OSError as exc:
        return {"pinned": False, "why": str(exc)}
    return {"pinned": True, "simulator_cpus": [cpus[0]], "contender_cpus": cpus[1:]}


def _restore_affinity(cpus: set[int]) -> None:
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, cpus)


def _get_triggers(broker_url: str, what: str = "triggers") -> dict[str, Any]:
    """The simulator's whole trigger log, or with ``what="trigger-status"`` its progress
    (cheap: poll that while triggers run, fetch the log once at the end)."""
    req = urllib.request.Request(  # noqa: S310 - http to our own loopback simulator
        f"{broker_url}/_sim/{what}",
        headers={"APCA-API-KEY-ID": "test-key", "APCA-API-SECRET-KEY": "test-secret"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - our own loopback sim
        data: dict[str, Any] = json.loads(resp.read())
    return data


async def run_contender(
    name: str, scenario: Scenario, workdir: Path, native: Path | None = None
) -> dict[str, Any]:
    """One contender against a fresh simulator; returns its figures (and its histograms).
    ``native``: the compiled build to put first on the engine's path (tradewire-compiled)."""
    symbols = symbols_for(scenario.symbols)
    sim = SimProcess(
        [
            "--symbols",
            str(scenario.symbols),
            "--rate",
            str(scenario.rate),
            "--seed",
            str(scenario.seed),
            "--triggers",
            str(scenario.triggers),
            "--trigger-rate",
            str(scenario.trigger_rate),
            "--trigger-warmup",
            str(scenario.warmup_s),
        ]
        + (["--busy-poll", "--tick-ms", "0"] if scenario.sim_busy_poll else [])
    )
    await sim.start()
    out_path = workdir / f"{name}.out"
    report_path = workdir / f"{name}.report.json"
    if name.startswith("tradewire") and not is_worker_contender(name):
        cfg = workdir / "bench.yaml"
        cfg.write_text(_config_yaml(symbols, workdir, tuning=TUNINGS[name]), encoding="utf-8")
        cmd = [
            sys.executable,
            "-m",
            ha_contender.MODULE if name == ha_contender.NAME else "tradewire.app.cli",
            "run",
            "--config",
            str(cfg),
            "--sim-feed-url",
            sim.feed_url,
            "--sim-broker-url",
            sim.broker_url,
            "--no-panel",
            "--journal",
            str(workdir / "bench.twj"),
            "--report-json",
            str(report_path),
            "--env-file",
            str(workdir / "none.env"),
        ]
    elif floors.is_floor(name):
        cmd = floors.command(name, sim.feed_url, sim.broker_url, list(symbols), workdir)
    else:
        host = sim.feed_url.split("//", 1)[1].split("/", 1)[0]
        cmd = [
            sys.executable,
            str(contender("sdk_baseline.py")),
            host,
            sim.broker_url,
            ",".join(symbols),
        ]
    # No keys may leak into a sim run: the bench never trades a real account.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALPACA_", "POLYGON_"))}
    if native is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(native), env.get("PYTHONPATH")]))
    if name in PURE:
        env["TRADEWIRE_NATIVE"] = "0"
    stack = contextlib.AsyncExitStack()
    if name == ha_contender.NAME:  # the journal's stream: a nats-server of its own per run
        env[ha_contender.ENV] = await stack.enter_async_context(ha_contender.nats_server())
    if is_worker_contender(name):
        cfg_yaml = _config_yaml(symbols, workdir, tuning=TUNINGS["tradewire"])
        proc, report_path = await stack.enter_async_context(
            gateway_and_workers(
                name,
                cfg_yaml,
                sim_feed_url=sim.feed_url,
                sim_broker_url=sim.broker_url,
                symbols=symbols,
                workdir=workdir,
                env=env,
            )
        )
    else:
        with out_path.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                *cmd,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                stdin=asyncio.subprocess.DEVNULL,
                env=env,
            )
    all_cpus = os.sched_getaffinity(0)
    placement = _placement(sim.pid or 0, proc.pid)
    expected_s = scenario.warmup_s + scenario.triggers / scenario.trigger_rate
    log: dict[str, Any] = {}
    try:
        async with asyncio.timeout(expected_s + 120):
            while True:
                await asyncio.sleep(0.5)
                if proc.returncode is not None:
                    raise RuntimeError(
                        f"{name} exited with {proc.returncode} during the bench:\n"
                        + out_path.read_text(errors="replace")[-3000:]
                    )
                status = await asyncio.to_thread(_get_triggers, sim.broker_url, "trigger-status")
                if status["done"]:
                    break
        await asyncio.sleep(scenario.grace_s)  # the last orders are still in flight
        log = await asyncio.to_thread(_get_triggers, sim.broker_url)
    finally:
        await interrupt(proc, 20.0)
        await stack.aclose()
        await sim.stop()
        _restore_affinity(all_cpus)
    (workdir / "triggers.json").write_text(json.dumps(log), encoding="utf-8")
    figures, hist = analyse(log)
    figures["placement"] = placement
    trace_path = workdir / "trace.json"
    if trace_path.exists():
        figures["split_us"] = split(log, json.loads(trace_path.read_text()))
    if report_path.exists():
        report = json.loads(report_path.read_text())
        figures["engine_stages_us"] = report.get("stages_us", {})
        figures["engine_orders_sent"] = report.get("summary", {}).get("orders_sent")
    figures["_hist"] = hist
    return figures


def run(
    scenario: Scenario,
    contenders: Sequence[str] = CONTENDERS,
    *,
    keep_dir: Path | None = None,
    rounds_count: int = 1,
) -> dict[str, Any]:
    """Run every contender one after the other, each against its own simulator;
    ``rounds_count`` times, in alternating order, when more than one (bench/rounds.py).

    ``keep_dir`` keeps each contender's raw material there (the simulator's trigger log, the
    strategy trace, the engine's config, report and output) instead of a temporary directory.
    A contender whose packages are not installed is not started (it would only crash in its
    child process); ``skipped`` says which and why.
    """
    skipped = extras.unavailable(NEEDS, contenders) | floors.unavailable(contenders)
    if "tradewire-compiled" in contenders and (why := compiled.available()):
        skipped["tradewire-compiled"] = why
    if "tradewire-baseline" in contenders and (why := baseline.available()):
        skipped["tradewire-baseline"] = why
    if ha_contender.NAME in contenders and (why := ha_contender.available()):
        skipped[ha_contender.NAME] = why
    results: dict[str, Any] = {"scenario": asdict(scenario), "contenders": {}, "skipped": skipped}
    per_round: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="tradewire-bench-") as tmp:
        base = keep_dir if keep_dir is not None else Path(tmp)
        # Built once, before any simulator starts: compiling must not share the machine
        # with a run, and every round must run the same build.
        native = (
            compiled.build(base)
            if "tradewire-compiled" in contenders and "tradewire-compiled" not in skipped
            else None
        )
        for k in range(rounds_count):
            figures: dict[str, Any] = {}
            for name in rounds.order(contenders, k):
                if name in skipped:
                    continue
                workdir = base / name if rounds_count == 1 else base / f"round-{k + 1}" / name
                workdir.mkdir(parents=True, exist_ok=True)
                contender_native = {
                    "tradewire-compiled": native,
                    "tradewire-baseline": baseline.path(),
                }.get(name)
                figures[name] = _run_uv(run_contender(name, scenario, workdir, contender_native))
            # Report in the order asked for, whatever order the round ran in.
            per_round.append({n: figures[n] for n in contenders if n in figures})
    if rounds_count == 1:
        results["contenders"] = per_round[0]
    else:
        results["contenders"] = rounds.pool(per_round, _summary)
        results["rounds"] = rounds.table(per_round)
        results["versus_tradewire"] = rounds.versus_reference(results["rounds"])
    per = results["contenders"]
    if "tradewire" in per and "sdk" in per:
        results["ratios_sdk_over_tradewire"] = ratios(
            per["tradewire"]["latency"], per["sdk"]["latency"]
        )
    if vs := (floors.versus_floor(per) if rounds_count == 1 else rounds.versus_floor(per_round)):
        results["versus_c_floor"] = vs
    if "tradewire" in per and "tradewire-untuned" in per:
        results["ratios_untuned_over_tuned"] = ratios(
            per["tradewire"]["latency"], per["tradewire-untuned"]["latency"]
        )
    return results


def _run_uv(coro: Any) -> Any:
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.run(coro)


def strip_histograms(results: dict[str, Any]) -> dict[str, Any]:
    """The results without the histogram objects, for JSON."""
    out = dict(results)
    out["contenders"] = {
        k: {kk: vv for kk, vv in v.items() if not kk.startswith("_")}
        for k, v in results["contenders"].items()
    }
    return out


# -- report and plot -------------------------------------------------------------------------


def report(results: Mapping[str, Any]) -> str:
    """The text report (bench/t2t_report.py lays it out)."""
    return t2t_report.render(results, LABELS)


def plot(results: Mapping[str, Any], path: Path) -> None:
    """HDR percentile chart (latency vs percentile on a 1/(1-p) axis), one line per contender."""
    try:
        import matplotlib
        import matplotlib.ticker

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - the bench CLI checks PLOT_NEEDS first
        raise RuntimeError(
            f"--plot needs matplotlib: scripts/bootstrap.sh bench (or {extras.INSTALL_HINT})"
        ) from exc
    fig, ax = plt.subplots(figsize=(9, 5))
    for name, r in results["contenders"].items():
        hist: HdrHistogram | None = r.get("_hist")
        if hist is None or hist.get_total_count() == 0:
            continue
        xs, ys = [], []
        for i in range(0, 401):
            nines = i / 100  # 0 .. 4 "nines"
            pct = 100 * (1 - 10**-nines)
            xs.append(10**nines)
            ys.append(hist.get_value_at_percentile(pct) / 1000)
        ax.plot(xs, ys, label=LABELS.get(name, name))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ticks = [1, 10, 100, 1000, 10000]
    ax.set_xticks(ticks, ["0%", "90%", "99%", "99.9%", "99.99%"])
    ax.set_xlabel("percentile")
    ax.set_ylabel("tick-to-trade (µs)")
    sc = results["scenario"]
    ax.set_title(
        f"tick-to-trade, {sc['rate']:,.0f} quotes/s over {sc['symbols']} symbols, "
        f"{sc['triggers']} triggers"
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
