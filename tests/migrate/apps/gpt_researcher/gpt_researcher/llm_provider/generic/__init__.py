from .base import GenericLLMProvider

__all__ = ["GenericLLMProvider"]