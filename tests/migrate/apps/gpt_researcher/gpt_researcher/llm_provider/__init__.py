from .generic import GenericLLMProvider

__all__ = [
    "GenericLLMProvider",
]
