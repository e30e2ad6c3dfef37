"""The pydantic base for OpenAI request models, and request parsing with OpenAI-style errors."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from banjia.errors import APIError, bad_request

__all__ = ["OpenAIModel", "parse_body", "validate"]

M = TypeVar("M", bound=BaseModel)


class OpenAIModel(BaseModel):
    """Accepts unknown fields and keeps them, so they can be passed on to the upstream."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    # the JSON object the client sent, kept so OpenAI-dialect upstreams get every field untouched
    # and nothing is re-encoded from the model on the hot path. Set on the instance by validate();
    # a class-level default rather than a pydantic private attribute, which pydantic initialises
    # on every nested model (each message of every request) and reads through __getattr__
    _raw: ClassVar[dict[str, Any] | None] = None

    def extras(self) -> dict[str, Any]:
        return dict(self.__pydantic_extra__ or {})

    def wire(self) -> dict[str, Any]:
        """A fresh top-level copy of the request as JSON-ready data (unset and null fields dropped)."""
        if self._raw is not None:
            return dict(self._raw)
        return {k: v for k, v in self.model_dump(exclude_unset=True).items() if v is not None}


def parse_body(raw: bytes) -> dict[str, Any]:
    """Decode a JSON request body; anything but a JSON object is a 400."""
    if not raw:
        raise bad_request(
            "We could not parse the JSON body of your request: the body is empty. "
            "(HINT: send a JSON object with Content-Type: application/json.)"
        )
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise bad_request(
            f"We could not parse the JSON body of your request ({e}). (HINT: the body must be valid JSON.)"
        ) from e
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return body


def validate(model: type[M], body: dict[str, Any]) -> M:
    try:
        obj = model.model_validate(body)
    except ValidationError as e:
        raise _validation_error(e) from e
    if isinstance(obj, OpenAIModel):
        object.__setattr__(obj, "_raw", body)
    return obj


def _validation_error(e: ValidationError) -> APIError:
    err = e.errors(include_url=False)[0]
    loc = err["loc"]
    # drop pydantic's union-branch labels such as "function-after[...]" or "str"
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        elif "[" in p or p in {"str", "int", "list[str]", "list[int]", "list[list[int]]"}:
            continue
        else:
            parts.append(("." if parts else "") + p)
    param = "".join(parts) or None
    if err["type"] == "missing":
        msg = f"Missing required parameter: '{param}'."
    else:
        msg = f"Invalid value for '{param}': {err['msg']}."
    return bad_request(
        msg, param=param, code="missing_required_parameter" if err["type"] == "missing" else "invalid_value"
    )
