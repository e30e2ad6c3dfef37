"""Aliases, fallback chains, retries, circuit breaking and health.

    router     model names → routes (tiers of provider/model targets)
    presets    OpenAI model names → each vendor's closest model
    balance    the order one request tries a route in (equals drawn by weight)
    retry      what a failed attempt means: give up, move on, retry later
    circuit    the circuit of one target, the mark of a disabled provider
    state      all circuits and disabled providers, in the process or shared through Redis
    dispatch   one request along its route, within the total time bound
    health     probes that bring disabled providers back
    telemetry  the figures behind /metrics
    logs       JSON log lines without keys or prompts
"""
