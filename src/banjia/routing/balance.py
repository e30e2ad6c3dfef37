"""The order one request tries a route's targets in: tiers as configured, equals by weight.

Within a tier the order is a weighted random permutation (draw one by weight, then the next
among the rest…), so a provider of weight 3 is tried first three times as often as one of
weight 1, and when the first fails the request falls back to the other equals before the next
tier. Weight 0 marks a standby: it is only tried after every weighted equal. Drawing needs no
shared counter, so replicas balance without talking to each other.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping

from banjia.routing.router import Route, Target

__all__ = ["order"]


def order(
    route: Route, weights: Mapping[str, int], rand: Callable[[], float] = random.random
) -> tuple[Target, ...]:
    """The targets of ``route`` in the order to try them for one request."""
    if not route.balanced:
        return route.targets
    out: list[Target] = []
    for tier in route.tiers:
        if len(tier) == 1:
            out.append(tier[0])
            continue
        pool = [t for t in tier if weights.get(t.provider, 1) > 0]
        standby = [t for t in tier if weights.get(t.provider, 1) <= 0]
        while pool:
            total = sum(weights.get(t.provider, 1) for t in pool)
            x = rand() * total
            pick = len(pool) - 1
            for i, t in enumerate(pool):
                x -= weights.get(t.provider, 1)
                if x < 0:
                    pick = i
                    break
            out.append(pool.pop(pick))
        out.extend(standby)
    return tuple(out)
