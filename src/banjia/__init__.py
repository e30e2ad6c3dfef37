"""banjia (搬家): move apps off the OpenAI API onto Chinese LLM providers and local models."""

__version__ = "0.1.0"
