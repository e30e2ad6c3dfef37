"""What an upstream fake received, found by content: other gateways of the test session may probe the
same fakes in the background (health checks), so "the last request" is not reliably ours."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.dashscope_fake import FakeDashScope
from tests.fakes.openai_fake import FakeOpenAI
from tests.responses.scenario_fake import ScenarioFake


def sent(upstream: FakeOpenAI | ScenarioFake | FakeDashScope, marker: str) -> dict[str, Any]:
    """The body of the last request ``upstream`` received that mentions ``marker``."""
    bodies: list[dict[str, Any]]
    if isinstance(upstream, ScenarioFake):
        bodies = upstream.requests
    else:
        bodies = [r.body for r in upstream.state.requests]
    for body in bodies[::-1]:
        if marker in json.dumps(body, ensure_ascii=False):
            return body
    raise AssertionError(f"no request to the upstream mentions {marker!r}")
