"""OpenAI-dialect vendors as data: how each deviates from OpenAI's wire format.

Adding a vendor that speaks OpenAI's wire format is one entry here, its descriptor in
:mod:`banjia.vendors.table` (credentials, base URL, capabilities, thinking; what the provider type
is built from) and its models in ``catalog/models.yaml``. Each quirk is a field the generic adaptor in
:mod:`banjia.adaptors.openai_compat` reads; sources are in docs/providers.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from banjia.adaptors.base import ErrorRule, ErrorTable

__all__ = ["VENDORS", "Clamp", "Vendor"]


@dataclass(frozen=True, slots=True)
class Clamp:
    """An accepted range; ``open_low``/``open_high`` mean the bound itself is refused upstream."""

    low: float
    high: float
    open_low: bool = False
    open_high: bool = False

    def apply(self, v: float) -> float:
        lo = self.low + (0.01 if self.open_low else 0.0)
        hi = self.high - (0.01 if self.open_high else 0.0)
        return min(max(v, lo), hi)


QUOTA = ErrorRule(429, "insufficient_quota", "insufficient_quota", retryable=True, disable=True)
CONTENT_FILTER = ErrorRule(400, "content_filter", "invalid_request_error", retryable=False)
RATE = ErrorRule(429, "rate_limit_exceeded", "rate_limit_error")
AUTH = ErrorRule(401, "invalid_api_key", "authentication_error", retryable=True, disable=True)


@dataclass(frozen=True, slots=True)
class Vendor:
    type: str
    # paths below are appended to the provider's base (its descriptor's default, or the config's)
    chat_path: str = "/chat/completions"
    embeddings_path: str | None = "/embeddings"
    completions_path: str | None = None  # a real /completions; else completions go over chat
    developer_role: bool = False  # understands role "developer" (else sent as "system")
    max_completion_tokens: bool = False  # understands it (else renamed to max_tokens)
    stream_usage: bool = True  # honours stream_options.include_usage
    temperature: Clamp | None = None
    top_p: Clamp | None = None
    max_tokens_cap: int | None = None
    # errors carried in 2xx bodies: Spark's numeric "code", MiniMax's "base_resp.status_code"
    body_errors: Literal["code", "base_resp"] | None = None
    finish_map: dict[str, str] = field(default_factory=dict)
    error_table: ErrorTable = field(default_factory=dict)
    # (message fragment, code) for the rare vendor whose message is the only signal
    message_codes: tuple[tuple[str, str], ...] = ()


_ZHIPU_ERRORS: dict[str | int, ErrorRule] = {
    **{str(c): AUTH for c in (1000, 1001, 1002, 1003, 1004)},
    **{
        str(c): ErrorRule(403, "permission_denied", "permission_error", disable=True)
        for c in (1110, 1111, 1112, 1120, 1121)
    },
    "1113": QUOTA,
    **{
        str(c): ErrorRule(400, "invalid_value", "invalid_request_error")
        for c in (1210, 1213, 1214, 1215, 1231)
    },
    "1211": ErrorRule(404, "model_not_found", "invalid_request_error"),
    **{str(c): ErrorRule(403, "permission_denied", "permission_error") for c in (1212, 1220, 1221, 1222)},
    "1234": ErrorRule(502, "upstream_error", "upstream_error"),
    "1301": CONTENT_FILTER,
    **{str(c): RATE for c in (1302, 1303, 1304, 1305)},
}

# Spark HTTP and WebSocket share the numeric codes (providers.md §6)
SPARK_ERRORS: dict[str | int, ErrorRule] = {
    10007: RATE,
    10013: CONTENT_FILTER,
    10014: CONTENT_FILTER,
    10019: CONTENT_FILTER,
    10021: CONTENT_FILTER,
    10022: CONTENT_FILTER,
    10907: ErrorRule(400, "context_length_exceeded", "invalid_request_error", retryable=False),
    10163: ErrorRule(400, "invalid_value", "invalid_request_error"),
    10110: ErrorRule(503, "upstream_overloaded", "upstream_error"),
    10222: ErrorRule(503, "upstream_overloaded", "upstream_error"),
    10223: ErrorRule(503, "upstream_overloaded", "upstream_error"),
    10015: ErrorRule(403, "permission_denied", "permission_error", disable=True),
    10016: ErrorRule(403, "permission_denied", "permission_error", disable=True),
    11200: QUOTA,
    11201: QUOTA,
    11202: RATE,
    11203: RATE,
}

MINIMAX_ERRORS: dict[str | int, ErrorRule] = {
    1000: ErrorRule(500, "upstream_error", "upstream_error"),
    1001: ErrorRule(504, "upstream_timeout", "upstream_error"),
    1002: RATE,
    1004: AUTH,
    1008: QUOTA,
    1024: ErrorRule(500, "upstream_error", "upstream_error"),
    1026: CONTENT_FILTER,  # input sensitive (unconfirmed code, providers.md §11)
    1027: CONTENT_FILTER,  # output sensitive (unconfirmed)
    1039: RATE,  # TPM limit (unconfirmed)
    2013: ErrorRule(400, "invalid_value", "invalid_request_error"),  # (unconfirmed)
}

_SENSITIVE = {"sensitive": "content_filter", "network_error": "error"}

VENDORS: dict[str, Vendor] = {
    v.type: v
    for v in [
        Vendor(
            "openai",
            completions_path="/completions",
            developer_role=True,
            max_completion_tokens=True,
        ),
        Vendor(
            "deepseek",
            embeddings_path=None,
            error_table={
                "__status_402": QUOTA,  # insufficient balance
                "__status_422": ErrorRule(400, "invalid_value", "invalid_request_error"),
            },
        ),
        Vendor(
            "moonshot",
            embeddings_path=None,
            temperature=Clamp(0, 1),
            error_table={
                "content_filter": CONTENT_FILTER,
                "exceeded_current_quota_error": QUOTA,
                "rate_limit_reached_error": RATE,
                "engine_overloaded_error": ErrorRule(429, "rate_limit_exceeded", "rate_limit_error"),
                "invalid_authentication_error": AUTH,
                "incorrect_api_key_error": AUTH,
            },
        ),
        Vendor("siliconflow"),  # no max_tokens cap since 2026: it may equal the context length
        Vendor("yi", embeddings_path=None),
        Vendor(
            "baichuan",
            max_tokens_cap=2048,
            # Baichuan answers 429 for both throttling and an empty balance; only the message tells
            message_codes=(("insufficient account balance", "insufficient_balance"),),
            error_table={"insufficient_balance": QUOTA},
        ),
        Vendor("stepfun", embeddings_path=None),
        Vendor("zhinao"),
        Vendor(
            "dashscope",
            temperature=Clamp(0, 2, open_high=True),
            top_p=Clamp(0, 1, open_low=True),
            error_table={
                "data_inspection_failed": CONTENT_FILTER,
                "datainspectionfailed": CONTENT_FILTER,
                "arrearage": QUOTA,
                "invalid_api_key": AUTH,
            },
        ),
        Vendor(
            "qianfan",
            temperature=Clamp(0, 1, open_low=True),
            error_table={
                "rpm_rate_limit_exceeded": RATE,
                "tpm_rate_limit_exceeded": RATE,
                "invalid_model": AUTH,
                "malformed_json": ErrorRule(400, "invalid_value", "invalid_request_error"),
            },
        ),
        Vendor(
            "hunyuan",
            finish_map=_SENSITIVE,
        ),
        # TokenHub: Tencent's newer OpenAI-compatible endpoint (Hy3 and hosted models)
        Vendor(
            "tokenhub",
            finish_map=_SENSITIVE,
        ),
        Vendor("mimo", embeddings_path=None),
        Vendor(
            "zhipu",
            temperature=Clamp(0, 1),
            top_p=Clamp(0, 1, open_low=True, open_high=True),
            finish_map=_SENSITIVE,
            error_table=_ZHIPU_ERRORS,
        ),
        Vendor(
            "spark",
            embeddings_path=None,
            temperature=Clamp(0, 1, open_low=True),
            max_tokens_cap=8192,
            body_errors="code",
            error_table=SPARK_ERRORS,
        ),
        Vendor(
            "minimax",
            embeddings_path=None,
            temperature=Clamp(0, 1, open_low=True),
            top_p=Clamp(0, 1, open_low=True),
            body_errors="base_resp",
            error_table=MINIMAX_ERRORS,
        ),
        Vendor(
            "ark",
            error_table={
                "sensitivecontentdetected": CONTENT_FILTER,
                "inputtextsensitivecontentdetected": CONTENT_FILTER,
                "inputimagesensitivecontentdetected": CONTENT_FILTER,
                "outputtextriskdetection": CONTENT_FILTER,
                "accountoverdueerror": QUOTA,
                "authenticationerror": AUTH,
            },
        ),
    ]
}
