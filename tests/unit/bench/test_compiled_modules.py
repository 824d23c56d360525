"""The modules the ``tradewire-compiled`` contender compiles define no msgspec Struct: mypyc
breaks a Struct defined in a compiled module (its fields lose their types, so records stop
decoding and order bodies encode differently), and the failure shows only in that build."""

from __future__ import annotations

import ast
from pathlib import Path

import tradewire
from tradewire.bench.compiled import MODULES

SRC = Path(tradewire.__file__).parent.parent


def _struct_classes(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                name = ast.unparse(base)
                if name in ("Struct", "msgspec.Struct"):
                    found.append(node.name)
    return found


def test_no_compiled_module_defines_a_struct():
    assert len(MODULES) >= 9  # the list: engine core, journal, codec, requests, feed
    offenders = {m: _struct_classes(SRC / m) for m in MODULES}
    assert {m: c for m, c in offenders.items() if c} == {}


def test_the_check_sees_a_struct_where_there_is_one():
    # The modules the Structs were moved to, so the check above cannot pass vacuously.
    assert _struct_classes(SRC / "tradewire/engine/journal/record.py") == ["Record"]
    order_body = _struct_classes(SRC / "tradewire/venues/alpaca/order_body.py")
    assert order_body == ["TakeProfit", "StopLoss", "OrderRequest", "OptionLeg", "MultiLegRequest"]
