"""The circuit of one provider/model and the mark of a disabled provider, as plain data.

    CLOSED ──N consecutive failures──▶ OPEN ──cool-down over──▶ HALF_OPEN
      ▲                                 ▲                          │ one probe request
      └──────────── success ────────────┼──────────────────────────┤
                                        └──────── failure ─────────┘

A failure while half-open opens the circuit again for a new cool-down. Any success closes it and
clears the count. Errors caused by the request (400, content filter) are neither: they say
nothing about the upstream's health.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Availability", "Circuit", "Disabled"]


class Availability(enum.IntEnum):
    CLOSED = 0  # serve
    OPEN = 1  # skip until the cool-down is over
    HALF_OPEN = 2  # one probe request may go
    DISABLED = 3  # the provider's account is unusable; tried only as a last resort


@dataclass(slots=True)
class Circuit:
    failures: int = 0  # consecutive
    open_until: float = 0.0  # epoch seconds on this process's clock; 0: closed

    def availability(self, now: float) -> Availability:
        if not self.open_until:
            return Availability.CLOSED
        return Availability.OPEN if now < self.open_until else Availability.HALF_OPEN


@dataclass(frozen=True, slots=True)
class Disabled:
    since: float  # epoch seconds
    reason: str  # "code: message", already free of secrets
    endpoint: str  # what the health probe sends: "chat" or "embeddings"
    model: str  # the upstream model that failed, probed with a one-token request
    # an operator's decision (the console): never tried, not even as a last resort, and only an
    # operator brings it back
    by_operator: bool = False
