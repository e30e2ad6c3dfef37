"""The clients every Messages API test module talks through: Anthropic's and OpenAI's official SDKs,
strict, at the module's own ``gateway`` (or the suite's)."""

from __future__ import annotations

import anthropic
import openai
import pytest

from tests.conftest import strict_anthropic, strict_client
from tests.harness import Gateway


@pytest.fixture(scope="module")
def claude(gateway: Gateway) -> anthropic.Anthropic:
    return strict_anthropic(gateway)


@pytest.fixture(scope="module")
def client(gateway: Gateway) -> openai.OpenAI:
    return strict_client(gateway)
