"""The Responses API over every provider: translation to and from chat, the typed event stream,
and the store of responses that ``previous_response_id`` continues from."""

from banjia.responses._events import ResponseEvents
from banjia.responses._service import ResponsesService
from banjia.responses._store import (
    DEFAULT_RETENTION_DAYS,
    RETENTION_ENV,
    MemoryResponseStore,
    ResponseStore,
    SQLResponseStore,
    StoredResponse,
    open_response_store,
    retention_seconds,
)
from banjia.responses._translate import chat_messages, output_items, to_chat

__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "RETENTION_ENV",
    "MemoryResponseStore",
    "ResponseEvents",
    "ResponseStore",
    "ResponsesService",
    "SQLResponseStore",
    "StoredResponse",
    "chat_messages",
    "open_response_store",
    "output_items",
    "retention_seconds",
    "to_chat",
]
