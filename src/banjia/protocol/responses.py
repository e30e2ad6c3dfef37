"""The Responses API (``/v1/responses``): request models and the builders of responses, items and usage.

Requests are validated once at the edge, like chat requests; what banjia cannot serve (hosted tools
such as web search, background mode, server-side conversations) is refused by
:func:`reject_unsupported` with a 400 naming the feature, before validation, so the client reads
what to change instead of a schema error. Responses, output items and stream events are plain dicts
shaped exactly as the official SDK's strict types expect.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, TypeAdapter, field_validator

from banjia.errors import bad_request
from banjia.protocol._base import Bool, OpenAIModel, Temperature, TokenLimit, TopLogprobs, TopP

__all__ = [
    "FunctionCallItem",
    "FunctionCallOutputItem",
    "FunctionTool",
    "InputItem",
    "MessageItem",
    "ReasoningItem",
    "ResponsesRequest",
    "function_call_item",
    "items_adapter",
    "message_content",
    "message_item",
    "output_text",
    "reasoning_item",
    "reject_unsupported",
    "response_object",
    "response_usage",
]

Effort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]


# -- content parts ----------------------------------------------------------------------------
class InputText(OpenAIModel):
    type: Literal["input_text"]
    text: str


class InputImage(OpenAIModel):
    type: Literal["input_image"]
    image_url: str | None = None
    file_id: str | None = None
    detail: str = "auto"


class InputFile(OpenAIModel):
    type: Literal["input_file"]
    file_data: str | None = None
    file_id: str | None = None
    file_url: str | None = None
    filename: str | None = None


class OutputText(OpenAIModel):
    type: Literal["output_text"]
    text: str
    annotations: list[dict[str, Any]] = Field(default_factory=list)


class Refusal(OpenAIModel):
    type: Literal["refusal"]
    refusal: str


ContentPart = Annotated[
    InputText | InputImage | InputFile | OutputText | Refusal, Field(discriminator="type")
]


class SummaryText(OpenAIModel):
    type: Literal["summary_text"] = "summary_text"
    text: str


class ReasoningText(OpenAIModel):
    type: Literal["reasoning_text"] = "reasoning_text"
    text: str


# -- input items ------------------------------------------------------------------------------
class MessageItem(OpenAIModel):
    """A message; ``type`` may be left out (the SDK's ``EasyInputMessage``)."""

    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: list[ContentPart] | str
    id: str | None = None
    status: str | None = None


class FunctionCallItem(OpenAIModel):
    type: Literal["function_call"]
    call_id: str
    name: str
    arguments: str
    id: str | None = None
    status: str | None = None


class FunctionCallOutputItem(OpenAIModel):
    type: Literal["function_call_output"]
    call_id: str
    output: list[ContentPart] | str
    id: str | None = None
    status: str | None = None


class ReasoningItem(OpenAIModel):
    type: Literal["reasoning"]
    id: str | None = None
    summary: list[SummaryText] = Field(default_factory=list)
    content: list[ReasoningText] | None = None
    encrypted_content: str | None = None


def _item_type(v: Any) -> str:
    if isinstance(v, dict):
        return str(v.get("type") or "message")
    return str(getattr(v, "type", "message"))


InputItem = Annotated[
    Annotated[MessageItem, Tag("message")]
    | Annotated[FunctionCallItem, Tag("function_call")]
    | Annotated[FunctionCallOutputItem, Tag("function_call_output")]
    | Annotated[ReasoningItem, Tag("reasoning")],
    Discriminator(_item_type),
]

# for items read back from the store (a previous response's input and output)
items_adapter: TypeAdapter[list[InputItem]] = TypeAdapter(list[InputItem])

_ITEM_TYPES = frozenset({"message", "function_call", "function_call_output", "reasoning"})


# -- tools, formats, options ------------------------------------------------------------------
class FunctionTool(OpenAIModel):
    type: Literal["function"]
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: Bool | None = None


class NamedFunctionChoice(OpenAIModel):
    type: Literal["function"]
    name: str


class AllowedToolsChoice(OpenAIModel):
    type: Literal["allowed_tools"]
    mode: Literal["auto", "required"]
    tools: list[dict[str, Any]]


ToolChoice = Annotated[NamedFunctionChoice | AllowedToolsChoice, Field(discriminator="type")]


class FormatText(OpenAIModel):
    type: Literal["text"]


class FormatJSONObject(OpenAIModel):
    type: Literal["json_object"]


class FormatJSONSchema(OpenAIModel):
    type: Literal["json_schema"]
    name: str
    json_schema: dict[str, Any] = Field(alias="schema")
    description: str | None = None
    strict: Bool | None = None


class TextConfig(OpenAIModel):
    format: (
        Annotated[FormatText | FormatJSONObject | FormatJSONSchema, Field(discriminator="type")] | None
    ) = None
    verbosity: str | None = None


class ReasoningConfig(OpenAIModel):
    effort: Effort | None = None
    summary: str | None = None
    generate_summary: str | None = None


class ResponsesRequest(OpenAIModel):
    """``POST /v1/responses``, in the order of OpenAI's reference."""

    input: list[InputItem] = Field(default_factory=list)  # a string is one user message
    instructions: str | None = None
    max_output_tokens: TokenLimit | None = None
    metadata: dict[str, str] | None = None
    model: str
    parallel_tool_calls: Bool | None = None
    previous_response_id: str | None = None
    reasoning: ReasoningConfig | None = None
    safety_identifier: str | None = None
    store: Bool | None = None
    stream: Bool | None = None
    temperature: Temperature | None = None
    text: TextConfig | None = None
    tool_choice: Literal["none", "auto", "required"] | ToolChoice | None = None
    tools: list[FunctionTool] | None = None
    top_logprobs: TopLogprobs | None = None
    top_p: TopP | None = None
    truncation: str | None = None
    user: str | None = None

    @field_validator("model")
    @classmethod
    def _model_not_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("model must be a non-empty string")
        return v

    @field_validator("input", mode="before")
    @classmethod
    def _string_input(cls, v: Any) -> Any:
        return [{"type": "message", "role": "user", "content": v}] if isinstance(v, str) else v

    @field_validator("metadata")
    @classmethod
    def _metadata_limits(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        if v is not None and (len(v) > 16 or any(len(k) > 64 or len(s) > 512 for k, s in v.items())):
            raise ValueError("at most 16 pairs, keys of up to 64 and values of up to 512 characters")
        return v

    @property
    def is_stream(self) -> bool:
        return bool(self.stream)

    @property
    def stores(self) -> bool:
        """``store`` defaults to true, as on OpenAI."""
        return self.store is not False

    def input_items(self) -> list[InputItem]:
        return list(self.input)


# -- what banjia refuses, with the reason ---------------------------------------------------
_HOSTED_TOOL_NAMES = {
    "web_search": "web search",
    "web_search_preview": "web search",
    "file_search": "file search",
    "computer": "computer use",
    "computer_use": "computer use",
    "computer_use_preview": "computer use",
    "code_interpreter": "the code interpreter",
    "image_generation": "image generation",
    "mcp": "remote MCP servers",
    "local_shell": "the local shell",
    "shell": "the shell",
    "apply_patch": "apply_patch",
    "custom": "custom (free-form) tools",
    "tool_search": "tool search",
}


def reject_unsupported(body: dict[str, Any]) -> None:
    """Refuse, with a 400 naming it, what no chat upstream can do (checked on the raw body)."""
    tools = body.get("tools")
    for i, tool in enumerate(tools if isinstance(tools, list) else ()):
        kind = tool.get("type") if isinstance(tool, dict) else "function"  # not a dict: a schema error
        if isinstance(kind, str) and kind != "function":  # not a string: a schema error too
            what = _HOSTED_TOOL_NAMES.get(str(kind), "hosted tools")
            raise bad_request(
                f"The tool '{kind}' is not supported: banjia serves the Responses API over chat "
                f'providers, which offer no {what}. Only function tools ({{"type": "function"}}) '
                "can be used; run the tool in your application and pass it as a function tool.",
                param=f"tools[{i}].type",
                code="unsupported_tool",
            )
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") not in ("function", "allowed_tools"):
        raise bad_request(
            f"tool_choice of type '{choice.get('type')}' is not supported: only 'none', 'auto', "
            "'required', a named function or allowed_tools.",
            param="tool_choice",
            code="unsupported_tool",
        )
    items = body.get("input")
    if isinstance(items, list):
        for i, item in enumerate(items):
            kind = item.get("type", "message") if isinstance(item, dict) else "message"
            if isinstance(kind, str) and kind not in _ITEM_TYPES:
                raise bad_request(
                    f"Input items of type '{kind}' are not supported; send 'message', "
                    "'function_call', 'function_call_output' or 'reasoning' items.",
                    param=f"input[{i}]",
                    code="unsupported_input",
                )
    for field, why in (
        ("background", "background mode"),
        ("conversation", "server-side conversations (use previous_response_id)"),
        ("prompt", "stored prompt templates"),
    ):
        if body.get(field):
            raise bad_request(f"'{field}' is not supported: banjia has no {why}.", param=field)


# -- builders -------------------------------------------------------------------------------
def output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(id: str, status: str, content: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": id, "type": "message", "status": status, "role": "assistant", "content": content}


def message_content(text: str | None, refusal: str | None = None) -> list[dict[str, Any]]:
    """An assistant message's parts: the refusal if any, and the text (an empty one if nothing else)."""
    parts: list[dict[str, Any]] = []
    if refusal:
        parts.append({"type": "refusal", "refusal": refusal})
    if text or not refusal:
        parts.append(output_text(text or ""))
    return parts


def function_call_item(id: str, call_id: str, name: str, arguments: str, status: str) -> dict[str, Any]:
    return {
        "id": id,
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def reasoning_item(id: str, text: str | None, status: str) -> dict[str, Any]:
    """Raw reasoning (DeepSeek's ``reasoning_content``) as ``reasoning_text`` content; no summary."""
    content = [{"type": "reasoning_text", "text": text}] if text is not None else []
    return {"id": id, "type": "reasoning", "status": status, "summary": [], "content": content}


def response_usage(chat_usage: dict[str, Any] | None) -> dict[str, Any] | None:
    """Chat usage → Responses usage (the SDK's strict types require both ``_details`` objects)."""
    if not chat_usage:
        return None
    prompt = int(chat_usage.get("prompt_tokens") or 0)
    completion = int(chat_usage.get("completion_tokens") or 0)
    pd = chat_usage.get("prompt_tokens_details") or {}
    cd = chat_usage.get("completion_tokens_details") or {}
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": int(pd.get("cached_tokens") or 0), "cache_write_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": int(cd.get("reasoning_tokens") or 0)},
        "total_tokens": int(chat_usage.get("total_tokens") or prompt + completion),
    }


def response_object(
    req: ResponsesRequest,
    *,
    id: str,
    created_at: int,
    status: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    incomplete_reason: str | None = None,
) -> dict[str, Any]:
    """The ``response`` object, echoing the request's settings as OpenAI does."""
    tool_choice: Any = (
        req.tool_choice
        if isinstance(req.tool_choice, str) or req.tool_choice is None
        else (req.tool_choice.model_dump(exclude_none=True))
    )
    return {
        "id": id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": False,
        "completed_at": int(time.time()) if status == "completed" else None,
        "error": error,
        "incomplete_details": {"reason": incomplete_reason} if incomplete_reason else None,
        "instructions": req.instructions,
        "max_output_tokens": req.max_output_tokens,
        "model": req.model,
        "output": output,
        "parallel_tool_calls": req.parallel_tool_calls is not False,
        "previous_response_id": req.previous_response_id,
        "reasoning": req.reasoning.model_dump(exclude_none=True) if req.reasoning else {"effort": None},
        "safety_identifier": req.safety_identifier,
        "store": req.stores,
        "temperature": req.temperature,
        "text": req.text.model_dump(exclude_none=True, by_alias=True)
        if req.text
        else {"format": {"type": "text"}},
        "tool_choice": tool_choice or "auto",
        "tools": [t.model_dump(exclude_none=True) for t in req.tools or ()],
        "top_p": req.top_p,
        "truncation": req.truncation or "disabled",
        "usage": usage,
        "user": req.user,
        "metadata": req.metadata or {},
    }
