"""OpenAI wire models: one module per API."""
