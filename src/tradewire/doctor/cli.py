"""``tradewire doctor``: audit this host for low-latency trading.

Prints each finding with what was seen, why it matters and the exact command that fixes
it; ``--json`` for machines. It only reads: nothing on the host is changed (that is
``run_low_latency.sh``'s job). Exit code 0 whatever it finds: it is an audit, not a gate.
"""

from __future__ import annotations

import argparse
import json
import sys

from tradewire.doctor.checks import summarize
from tradewire.doctor.host import audit

_MARK = {"ok": "ok  ", "warn": "WARN", "info": "info", "unknown": " ?  "}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.add_argument(
        "--engine-cpus",
        default=None,
        help="CPUs the engine will run on, e.g. '1' or '2-3' (for the IRQ check; default 0)",
    )


def main(args: argparse.Namespace) -> int:
    from tradewire.doctor.checks import parse_cpu_list

    try:
        engine = parse_cpu_list(args.engine_cpus) if args.engine_cpus else None
    except ValueError:
        print(f"tradewire doctor: bad --engine-cpus {args.engine_cpus!r}", file=sys.stderr)
        return 2
    facts, findings = audit(engine)
    summary = summarize(findings)
    if args.json:
        doc = {"host": facts, "findings": [f.as_dict() for f in findings], "summary": summary}
        print(json.dumps(doc, indent=2))
        return 0
    print(
        f"tradewire doctor: {facts['cpus']} CPUs, kernel {facts['kernel']}, "
        f"virtualisation {facts['virtualisation'] or 'unknown'}"
    )
    for f in findings:
        print(f"[{_MARK[f.status]}] {f.title}: {f.observed}")
        if f.status in ("warn", "info", "unknown"):
            print(f"       why: {f.why}")
        if f.fix:
            print(f"       fix: {f.fix}")
    print(
        f"summary: {summary['ok']} ok, {summary['warn']} warn, {summary['info']} info, "
        f"{summary['unknown']} unknown"
    )
    return 0
