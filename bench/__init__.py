"""banjia's benchmark: the gateway against the limit (a fake upstream called directly) and against
LiteLLM's proxy, in one interleaved run. ``python -m bench [--quick]``; see bench/README.md."""
