"""Pricing tests. Prices come from the gpt-4o price sheet."""


def price(model: str) -> float:
    return {"gpt-4o": 2.5}.get(model, 0.0)


def test_known_model() -> None:
    """gpt-4o-mini is not in the table."""
    assert price("gpt-4o") == 2.5


def test_unknown_model() -> None:
    assert price("claude-3-haiku") == 0.0
