"""What happened to one tuning setting, for the start-up report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["applied", "denied", "off"]


@dataclass(frozen=True, slots=True)
class Outcome:
    setting: str
    status: Status
    detail: str = ""

    def line(self) -> str:
        return f"{self.setting}: {self.status}" + (f" ({self.detail})" if self.detail else "")


def os_error(exc: OSError) -> str:
    """An OSError as the reason a setting was denied, with what would allow it."""
    import errno

    hint = {
        errno.EPERM: "needs root or CAP_SYS_NICE / CAP_IPC_LOCK / a higher rlimit",
        errno.EINVAL: "not valid on this host",
        errno.ENOMEM: "over the memlock limit (ulimit -l)",
        errno.ENOPROTOOPT: "the kernel does not support it",
    }.get(exc.errno or 0, "")
    return f"{exc.strerror or exc}" + (f"; {hint}" if hint else "")
