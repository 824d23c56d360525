"""Which messages from workers the gateway acts on, and how much a hello may cost it.

A worker is a local process the gateway does not trust. Each thing here bounds what one
worker can make the gateway do, and turns the rest into a count (and at most one line per
worker and kind), so a hostile or broken worker can neither act as another nor make the
gateway's work (or its log) grow without bound:

* a message naming a worker other than the one that sent it is refused (:meth:`own`);
* a hello listing more than :data:`MAX_SYMBOLS` symbols is refused: each symbol is three
  feed subscriptions and a position looked up in every state message;
* a hello with a new instance id (a restart) re-welcomes the worker at most once per
  :data:`REWELCOME_S`: a welcome carries the worker's open orders and positions, and a
  worker re-sending hellos with a fresh id each time would otherwise have the gateway
  build and send one per hello, and log each. Held ones are counted; the worker's next
  hello after the interval is welcomed, so a real restart waits one second at most.
"""

from __future__ import annotations

import logging

from tradewire.bus import protocol as p

log = logging.getLogger("tradewire.gateway")
MAX_SYMBOLS = 1000
REWELCOME_S = 1.0
_TOLD_MAX = 4096  # (worker, kind) pairs remembered for "told once": bounded too


class Admission:
    """The gateway's counters and rules for what workers send it."""

    def __init__(self) -> None:
        self.refused = 0  # messages not acted on, whatever the reason
        self.impostors = 0  # messages naming a worker other than the one that sent them
        self.too_many_symbols = 0  # hellos refused for listing more than MAX_SYMBOLS
        self.rewelcomes_held = 0  # restarts not re-welcomed: within REWELCOME_S of the last
        self._told: set[tuple[str, str]] = set()  # (worker or sender, kind) warned once
        self._welcomed_at: dict[str, float] = {}

    def _tell_once(self, who: str, kind: str, msg: str, *args: object) -> None:
        if (who, kind) not in self._told and len(self._told) < _TOLD_MAX:
            self._told.add((who, kind))
            log.warning(msg, *args)

    def own(self, sender: str | None, subject: str, msg: p.Message | None) -> p.Message | None:
        """``msg`` if the worker it names is the one that sent it, else refused (None).

        Two proofs, each where its bus gives one: the subject names the worker (over NATS
        the server lets each worker's user publish only on its own subjects), and on shared
        memory the ring it came from is bound to that worker (``sender``), since a worker
        writes any subject it likes into its own ring."""
        if msg is None:
            return None
        worker = getattr(msg, "worker", None)
        if worker == p.subject_worker(subject) and (sender is None or sender == worker):
            return msg
        self.refused += 1
        self.impostors += 1
        kind = type(msg).__name__.lower()
        self._tell_once(
            sender or subject,
            kind,
            "a %s for worker %s came from %s: refused (further ones only counted)",
            kind,
            worker,
            f"worker {sender}" if sender is not None else subject,
        )
        return None

    def hello(self, msg: p.Hello, restart: bool, now: float) -> bool:
        """Whether to (re-)welcome the worker this hello is from (``restart``: a worker of
        that name is known under another instance id, or was timed out)."""
        if len(msg.symbols) > MAX_SYMBOLS:
            self.refused += 1
            self.too_many_symbols += 1
            self._tell_once(
                msg.worker,
                "symbols",
                "worker %s: a hello listing %d symbols refused (at most %d; "
                "further ones only counted)",
                msg.worker,
                len(msg.symbols),
                MAX_SYMBOLS,
            )
            return False
        last = self._welcomed_at.get(msg.worker)
        if restart and last is not None and now - last < REWELCOME_S:
            self.rewelcomes_held += 1
            self._tell_once(
                msg.worker,
                "rewelcome",
                "worker %s: a new instance within %g s of its last welcome: held "
                "(further ones only counted)",
                msg.worker,
                REWELCOME_S,
            )
            return False
        self._welcomed_at[msg.worker] = now
        return True
