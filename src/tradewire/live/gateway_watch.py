"""A worker's view of whether its gateway is there: said aloud when it goes and comes back.

The gateway broadcasts a heartbeat on ``tw.ctl`` every second. Before this, a worker whose
gateway exited went on silently for as long as it ran (45 s and more in a test): its hellos
and intents went nowhere and nothing said so. Now a worker that hears no heartbeat for
``gone_after_s`` says, in one line, that its gateway is gone; keeps saying hello (which is
how a gateway that comes back finds it); says every ``remind_s`` how long it has waited; and
says when a heartbeat is heard again. Sans-I/O: the worker feeds it beats and ticks.
"""

from __future__ import annotations

from collections.abc import Callable


class GatewayWatch:
    """Heartbeat bookkeeping; ``say`` receives each status line (one line each)."""

    def __init__(
        self,
        say: Callable[[str], None],
        *,
        gone_after_s: float = 3.0,
        remind_s: float = 10.0,
    ) -> None:
        self.say = say
        self.gone_after_s = gone_after_s
        self.remind_s = remind_s
        self.last_beat: float | None = None  # None until the first heartbeat
        self.gone_since: float | None = None
        self._reminded = 0.0

    @property
    def gone(self) -> bool:
        return self.gone_since is not None

    def beat(self, now: float, *, new_instance: bool = False) -> None:
        """A heartbeat was heard at ``now`` (monotonic seconds)."""
        if self.gone_since is not None:
            away = now - self.gone_since + self.gone_after_s
            again = "a new gateway instance (resynchronising)" if new_instance else "the gateway"
            self.say(f"reconnected to {again} after {away:.0f} s without it")
            self.gone_since = None
        self.last_beat = now

    def tick(self, now: float) -> None:
        """Called about once a second: notice silence, and remind while it lasts."""
        if self.last_beat is None:
            return  # not yet welcomed: the start-up's own timeout speaks for that
        silent = now - self.last_beat
        if self.gone_since is None:
            if silent >= self.gone_after_s:
                self.gone_since = now
                self._reminded = now
                self.say(
                    f"gateway gone: no heartbeat for {silent:.0f} s; still trying, orders wait "
                    "until it is back"
                )
            return
        if now - self._reminded >= self.remind_s:
            self._reminded = now
            self.say(f"still waiting for the gateway ({silent:.0f} s)")
