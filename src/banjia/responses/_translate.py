"""Responses ⇄ Chat Completions: a Responses request onto a :class:`ChatRequest`, and a chat answer
back into Responses output items.

Every provider already speaks chat through its adaptor, so this one translation serves the
Responses API over all of them.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any, assert_never

from pydantic import ValidationError

from banjia.errors import APIError, bad_request
from banjia.protocol.chat import ChatRequest, text_of
from banjia.protocol.responses import (
    AllowedToolsChoice,
    ContentPart,
    FormatJSONObject,
    FormatJSONSchema,
    FormatText,
    FunctionCallItem,
    FunctionCallOutputItem,
    InputFile,
    InputImage,
    InputItem,
    InputText,
    MessageItem,
    NamedFunctionChoice,
    OutputText,
    ReasoningItem,
    Refusal,
    ResponsesRequest,
    function_call_item,
    message_content,
    message_item,
    reasoning_item,
)

__all__ = ["FINISH_STATUS", "chat_messages", "item_id", "output_items", "to_chat"]


def item_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(16)}"


# -- items → chat messages ------------------------------------------------------------------
def _chat_part(part: ContentPart, where: str) -> dict[str, Any]:
    match part:
        case InputText() | OutputText():
            return {"type": "text", "text": part.text}
        case Refusal():
            return {"type": "text", "text": part.refusal}
        case InputImage():
            if not part.image_url:
                raise bad_request(
                    "Images by file_id need the Files API, which banjia does not have; send "
                    "image_url (an https URL or a data: URL).",
                    param=where,
                    code="unsupported_input",
                )
            return {"type": "image_url", "image_url": {"url": part.image_url, "detail": part.detail}}
        case InputFile():
            if not part.file_data:
                raise bad_request(
                    "Files by file_id or file_url are not supported; send the file inline as file_data.",
                    param=where,
                    code="unsupported_input",
                )
            file: dict[str, Any] = {"file_data": part.file_data}
            if part.filename:
                file["filename"] = part.filename
            return {"type": "file", "file": file}
        case _:
            assert_never(part)


def _chat_content(content: list[ContentPart] | str, where: str) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    parts = [_chat_part(p, f"{where}[{i}]") for i, p in enumerate(content)]
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _text(content: list[ContentPart] | str) -> str:
    if isinstance(content, str):
        return content
    return "".join(
        p.text if isinstance(p, InputText | OutputText) else p.refusal if isinstance(p, Refusal) else ""
        for p in content
    )


def chat_messages(
    instructions: str | None, items: list[InputItem], first_input: int = 0
) -> list[dict[str, Any]]:
    """Conversation items as chat messages (``items[first_input:]`` are this request's ``input``).

    Function calls join the assistant message before them (chat carries calls on the assistant
    turn); a reasoning item's text rides on the next assistant turn as ``reasoning_content`` only
    when that turn calls tools: DeepSeek's thinking mode requires it back there, and its older
    reasoner rejects it anywhere else.
    """
    msgs: list[dict[str, Any]] = []
    if instructions:
        msgs.append({"role": "system", "content": instructions})
    reasoning: list[str] = []

    def assistant() -> dict[str, Any]:
        m: dict[str, Any] = {"role": "assistant", "content": None}
        if reasoning:
            m["reasoning_content"] = "".join(reasoning)
            reasoning.clear()
        msgs.append(m)
        return m

    for i, item in enumerate(items):
        where = f"input[{i - first_input}]" if i >= first_input else "previous_response_id"
        match item:
            case MessageItem(role="assistant"):
                assistant()["content"] = _text(item.content) or None
            case MessageItem():
                msgs.append({"role": item.role, "content": _chat_content(item.content, f"{where}.content")})
            case FunctionCallItem():
                last = msgs[-1] if msgs else None
                if last is None or last["role"] != "assistant":
                    last = assistant()
                last.setdefault("tool_calls", []).append(
                    {
                        "id": item.call_id,
                        "type": "function",
                        "function": {"name": item.name, "arguments": item.arguments},
                    }
                )
            case FunctionCallOutputItem():
                msgs.append({"role": "tool", "tool_call_id": item.call_id, "content": _text(item.output)})
            case ReasoningItem():
                text = "".join(c.text for c in item.content or ()) or "".join(s.text for s in item.summary)
                if text:
                    reasoning.append(text)
            case _:
                assert_never(item)
    for m in msgs:
        if "reasoning_content" in m and not m.get("tool_calls"):
            del m["reasoning_content"]
    return msgs


# -- the request ----------------------------------------------------------------------------
def _tools(req: ResponsesRequest) -> tuple[list[dict[str, Any]] | None, Any]:
    tools: list[dict[str, Any]] = [
        {
            "type": "function",
            "function": {
                k: v
                for k, v in {
                    "name": t.name,
                    "description": t.description,
                    # some vendors refuse a function without a parameters schema
                    "parameters": t.parameters
                    if t.parameters is not None
                    else {"type": "object", "properties": {}},
                    "strict": t.strict,
                }.items()
                if v is not None
            },
        }
        for t in req.tools or ()
    ]
    choice = req.tool_choice
    match choice:
        case None | "none" | "auto" | "required":
            out_choice: Any = choice
        case NamedFunctionChoice():
            out_choice = {"type": "function", "function": {"name": choice.name}}
        case AllowedToolsChoice():
            allowed = {t.get("name") for t in choice.tools}
            tools = [t for t in tools if t["function"]["name"] in allowed]
            out_choice = choice.mode
        case _:
            assert_never(choice)
    return tools or None, out_choice


def _response_format(req: ResponsesRequest) -> dict[str, Any] | None:
    fmt = req.text.format if req.text else None
    match fmt:
        case None | FormatText():
            return None
        case FormatJSONObject():
            return {"type": "json_object"}
        case FormatJSONSchema():
            schema: dict[str, Any] = {"name": fmt.name, "schema": fmt.json_schema}
            if fmt.strict is not None:
                schema["strict"] = fmt.strict
            if fmt.description:
                schema["description"] = fmt.description
            return {"type": "json_schema", "json_schema": schema}
        case _:
            assert_never(fmt)


def to_chat(req: ResponsesRequest, history: list[InputItem]) -> ChatRequest:
    """The chat request that answers ``req`` after ``history`` (the earlier turns, if any).

    ``instructions`` apply to this turn only, as on OpenAI: they are never stored in the history.
    """
    messages = chat_messages(req.instructions, [*history, *req.input_items()], len(history))
    if not messages:
        raise bad_request("'input' is empty: send a string or at least one input item.", param="input")
    tools, tool_choice = _tools(req)
    fields: dict[str, Any] = {
        "model": req.model,
        "messages": messages,
        "tools": tools,
        "tool_choice": tool_choice if tools or tool_choice == "none" else None,
        "parallel_tool_calls": req.parallel_tool_calls if tools else None,
        "response_format": _response_format(req),
        "max_completion_tokens": req.max_output_tokens,
        "temperature": req.temperature,
        "top_p": req.top_p,
        "user": req.safety_identifier or req.user,
    }
    if req.is_stream:
        fields["stream"] = True
        fields["stream_options"] = {"include_usage": True}
    # each adaptor turns reasoning_effort into its vendor's own switch (adaptors/_shared.py), so a
    # fallback chain over several vendors never sends one vendor's fields to another
    fields["reasoning_effort"] = req.reasoning.effort if req.reasoning else None
    try:
        return ChatRequest.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as e:
        # what reaches here came out of a validated Responses request: a gap in this translation
        raise APIError(400, f"The request could not be translated to chat: {e.errors()[0]['msg']}") from e


# -- the chat answer → output items ---------------------------------------------------------
# finish_reason → (response status, incomplete_details.reason)
FINISH_STATUS: Mapping[str, tuple[str, str | None]] = {
    "stop": ("completed", None),
    "tool_calls": ("completed", None),
    "function_call": ("completed", None),
    "length": ("incomplete", "max_output_tokens"),
    "content_filter": ("incomplete", "content_filter"),
}


def output_items(result: dict[str, Any]) -> tuple[list[dict[str, Any]], str, str | None]:
    """A ``chat.completion`` → (output items, status, incomplete reason)."""
    ch = result["choices"][0]
    msg = ch.get("message") or {}
    status, reason = FINISH_STATUS.get(str(ch.get("finish_reason")), ("completed", None))
    item_status = "incomplete" if status == "incomplete" else "completed"
    items: list[dict[str, Any]] = []
    if msg.get("reasoning_content"):
        items.append(reasoning_item(item_id("rs"), str(msg["reasoning_content"]), item_status))
    text = text_of(msg.get("content"))
    calls = msg.get("tool_calls") or []
    if text or msg.get("refusal") or not calls:
        items.append(message_item(item_id("msg"), item_status, message_content(text, msg.get("refusal"))))
    for tc in calls:
        fn = tc.get("function") or {}
        items.append(
            function_call_item(
                item_id("fc"),
                str(tc.get("id") or item_id("call")),
                str(fn.get("name") or ""),
                str(fn.get("arguments") or ""),
                item_status,
            )
        )
    return items, status, reason
