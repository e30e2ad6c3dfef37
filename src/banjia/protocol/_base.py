"""The pydantic base for OpenAI request models, and request parsing with OpenAI-style errors."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from banjia.errors import APIError, bad_request

__all__ = [
    "INT32_MAX",
    "Bool",
    "Count",
    "LogitBias",
    "OpenAIModel",
    "Penalty",
    "Seed",
    "Temperature",
    "TokenId",
    "TokenLimit",
    "TopLogprobs",
    "TopP",
    "parse_body",
    "validate",
]

M = TypeVar("M", bound=BaseModel)

# -- parameter types ---------------------------------------------------------------------------
# Strict: JSON's own types only, as OpenAI checks them. The client's JSON is forwarded as sent,
# so whatever banjia lets through reaches the upstream unchanged: "yes" for a boolean, "5" for an
# integer or a number no upstream can handle would otherwise travel on (and a vendor that
# tried to build a 10^9-wide vector stalled and tripped the circuit for everyone).
INT32_MAX = 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

Bool = Annotated[bool, Field(strict=True)]
# an answer's length in tokens: OpenAI documents no maximum; no model writes 2^31 tokens
TokenLimit = Annotated[int, Field(strict=True, ge=1, le=INT32_MAX)]
Count = Annotated[int, Field(strict=True, ge=1, le=128)]  # n
Temperature = Annotated[float, Field(strict=True, ge=0, le=2)]
TopP = Annotated[float, Field(strict=True, ge=0, le=1)]
Penalty = Annotated[float, Field(strict=True, ge=-2, le=2)]
TopLogprobs = Annotated[int, Field(strict=True, ge=0, le=20)]
Seed = Annotated[int, Field(strict=True, ge=INT64_MIN, le=INT64_MAX)]
TokenId = Annotated[int, Field(strict=True, ge=0, le=INT32_MAX)]
# token id (as a decimal string) → bias; OpenAI: "a bias value from -100 to 100"
LogitBias = dict[
    Annotated[str, Field(pattern=r"^\d{1,10}$")], Annotated[float, Field(strict=True, ge=-100, le=100)]
]


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


_JSON_TYPES: dict[str, str] = {
    "bool_type": "a boolean",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "string_type": "a string",
    "list_type": "an array",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
}

# pydantic's bound errors → (OpenAI's wording, its code's middle, the comparison)
_BOUNDS = {
    "less_than_equal": ("above maximum", "above_max", "<="),
    "less_than": ("above maximum", "above_max", "<"),
    "greater_than_equal": ("below minimum", "below_min", ">="),
    "greater_than": ("below minimum", "below_min", ">"),
}


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, float):
        return "a decimal number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    return "an object" if isinstance(v, dict) else type(v).__name__


def _is_branch(part: str) -> bool:
    """pydantic's label for one member of a union (``str``, ``list[constrained-int]``,
    ``function-after[...]``), as opposed to a field name."""
    return "[" in part or part in {"str", "int", "float", "bool", "constrained-int", "constrained-float"}


def _param(loc: tuple[int | str, ...]) -> str | None:
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        elif not _is_branch(p):
            parts.append(("." if parts else "") + p)
    return "".join(parts) or None


def _describe(label: str, plural: bool = False) -> str:
    """A union member's label → what a client must send, e.g. ``list[str]`` → an array of strings."""
    label = label.replace("constrained-", "")
    if label.startswith("list[") and label.endswith("]"):
        return ("arrays of " if plural else "an array of ") + _describe(label[5:-1], plural=True)
    one, many = _NAMES.get(label, ("an object", "objects"))
    return many if plural else one


_NAMES = {
    "str": ("a string", "strings"),
    "int": ("an integer", "integers"),
    "float": ("a number", "numbers"),
    "bool": ("a boolean", "booleans"),
}


def _union_error(errors: list[Any], branch_at: int) -> APIError:
    """Every member of a union refused the value: name what is accepted, and where the member that
    came closest failed."""
    where = _param(errors[0]["loc"][:branch_at])
    labels: list[str] = []
    for er in errors:
        if len(er["loc"]) > branch_at and isinstance(er["loc"][branch_at], str):
            label = _describe(er["loc"][branch_at])
            if label not in labels:
                labels.append(label)
    wanted = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]
    # the member that got furthest; on a tie, a wrong value says more than a wrong type
    closest = max(errors, key=lambda er: (len(er["loc"]), er["type"] not in _JSON_TYPES))
    detail = ""
    if len(closest["loc"]) > branch_at + 1:
        detail = f" ('{_param(closest['loc'])}': {closest['msg']})"
    return bad_request(
        f"Invalid value for '{where}': expected {wanted}.{detail}", param=where, code="invalid_value"
    )


def _validation_error(e: ValidationError) -> APIError:
    """The first problem, worded as OpenAI words it (``Invalid type for 'n': …``) and naming the
    parameter, so the client reads what to fix."""
    errors = e.errors(include_url=False)
    err = errors[0]
    kind = err["type"]
    loc = err["loc"]
    param = _param(loc)
    got = err.get("input")
    branch_at = next((i for i, p in enumerate(loc) if isinstance(p, str) and _is_branch(p)), None)
    if branch_at is not None:
        same = [er for er in errors if er["loc"][:branch_at] == loc[:branch_at]]
        if len(same) > 1:
            return _union_error(same, branch_at)
    if kind == "missing":
        return bad_request(
            f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
        )
    if kind in _JSON_TYPES:
        return bad_request(
            f"Invalid type for '{param}': expected {_JSON_TYPES[kind]}, but got {_json_type(got)} instead.",
            param=param,
            code="invalid_type",
        )
    limit = next(iter((err.get("ctx") or {}).values()), None)
    if kind in _BOUNDS and isinstance(got, int | float) and isinstance(limit, int | float):
        side, code, op = _BOUNDS[kind]
        number = "integer" if isinstance(limit, int) else "decimal"  # the parameter's type
        shown = int(limit) if isinstance(limit, float) and limit.is_integer() else limit
        return bad_request(
            f"Invalid '{param}': {number} {side} value. Expected a value {op} {shown}, "
            f"but got {got} instead.",
            param=param,
            code=f"{number}_{code}_value",
        )
    return bad_request(f"Invalid value for '{param}': {err['msg']}.", param=param, code="invalid_value")
