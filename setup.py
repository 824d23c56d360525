"""Builds the native order path (issue 26) with the system's C compiler.

Everything else is in pyproject.toml. ``optional=True``: without a compiler (or headers) the
install succeeds and tradewire runs its pure-Python order path, saying so in one line.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "tradewire.engine.native._orderpath",
            ["src/tradewire/engine/native/_orderpath.c"],
            # No fused multiply-add: the risk arithmetic must round as Python's does.
            extra_compile_args=["-O2", "-ffp-contract=off", "-fno-fast-math"],
            optional=True,
        )
    ]
)
