"""The model catalog: every vendor's models, context windows, capabilities and CNY prices.

(Stub: filled from ``models.yaml``.)
"""

from __future__ import annotations

__all__ = ["catalog_models"]


def catalog_models(provider_type: str) -> list[str]:
    """The upstream model ids the catalog lists for a provider type."""
    return []
