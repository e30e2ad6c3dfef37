"""``endpoints:`` (model name → endpoint or service id) is accepted for the types whose descriptor
takes endpoint ids (Ark, and Qianfan v1's self-deployed services) and refused for the others."""

from __future__ import annotations

import pytest

from banjia.config import ConfigError, parse_config
from banjia.settings import check_providers


def _config(type_: str) -> object:
    return parse_config({"providers": {"p": {"type": type_, "api_key": "a", "secret_key": "b",
                                             "endpoints": {"m": "svc"}}}}, "test")


def test_qianfan_v1_takes_endpoint_ids() -> None:
    check_providers(_config("qianfan-v1"))  # type: ignore[arg-type]


def test_a_type_without_endpoint_ids_refuses_them() -> None:
    with pytest.raises(ConfigError):
        check_providers(_config("deepseek"))  # type: ignore[arg-type]
