"""What counts as OpenAI usage: the patterns of scan-rules.md, shared by every language scanner."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "API_METHODS",
    "CLIENT_CTORS",
    "FOREIGN_MODULES",
    "FOREIGN_NAME_HINTS",
    "HTTP_METHODS",
    "KINDS",
    "LEGACY_METHODS",
    "LEGACY_RESOURCES",
    "SDK_METHODS",
    "SDK_RESOURCES",
    "V3_METHODS",
    "WITH_OPTIONS_ELSEWHERE",
    "Hit",
    "Kind",
    "appends_api_path",
    "env_refs",
    "has_openai_key_component",
    "is_api_url",
    "is_env_name",
    "is_model",
    "is_sdk_method",
    "literal_hits",
    "match_api_method",
    "openai_urls",
]

Kind = Literal["client", "call", "model", "env", "endpoint"]
KINDS: tuple[Kind, ...] = ("client", "call", "model", "env", "endpoint")


@dataclass(frozen=True)
class Hit:
    """One finding inside a file, before the file's path is attached."""

    line: int
    kind: Kind
    detail: str
    features: tuple[str, ...] = ()


_MODEL = re.compile(
    r"(ft:)?(gpt-\d[\w.-]*|gpt-image-1|chatgpt-4o-latest|o[134](-[a-z0-9-]+)?|text-embedding-[\w-]+"
    r"|text-(davinci|curie|babbage|ada)-\d{3}|code-davinci-002|(davinci|babbage)-002|whisper-1"
    r"|tts-1(-hd)?|dall-e-[23]|(omni|text)-moderation-[\w-]+)(:[\w:.-]*)?"
)
_ENV_NAME = re.compile(r"([A-Z0-9]+_)*OPENAI_[A-Z0-9_]+")
_WORD = re.compile(r"[A-Za-z0-9_]+")
_OPENAI_KEY_COMPONENT = re.compile(r"(^|_)openai_", re.IGNORECASE)
# Stops at characters that cannot appear in a host, so `"https://api.openai.com"` keeps its host.
_URL = re.compile(r"\b(?:https?|wss?)://[^\s'\"`<>\\]+", re.IGNORECASE)


def is_model(text: str) -> bool:
    return _MODEL.fullmatch(text) is not None


def is_env_name(text: str) -> bool:
    return _ENV_NAME.fullmatch(text) is not None


def has_openai_key_component(key: str) -> bool:
    """A config key such as ``openai_api_base`` or ``AZURE_OPENAI_KEY`` (any case)."""
    return is_env_name(key) or _OPENAI_KEY_COMPONENT.search(key) is not None


def env_refs(text: str) -> list[str]:
    """OpenAI variable names a config value names or references (``${OPENAI_API_KEY}`` …)."""
    return [w for w in _WORD.findall(text) if is_env_name(w)]


def _host(url: str) -> str:
    rest = url.split("://", 1)[1]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    host = authority.rsplit("@", 1)[-1]
    if host.startswith("["):
        return host
    return host.split(":", 1)[0].lower().rstrip(".")


def openai_urls(text: str) -> list[str]:
    """The OpenAI and Azure OpenAI URLs inside a piece of text."""
    found = []
    for m in _URL.finditer(text):
        host = _host(m.group(0))
        if host == "api.openai.com" or host.endswith(".openai.azure.com"):
            found.append(m.group(0))
    return found


def is_api_url(url: str) -> bool:
    """Whether a URL reaches the API itself (``/v1/…``, Azure's ``/openai/…``), not a page or a
    namespace that merely shares the host (``https://api.openai.com/auth``)."""
    rest = url.split("://", 1)[1]
    path = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
    return path.startswith(("/v1", "/openai", "/{…}"))


def literal_hits(text: str, line: int, *, whole: bool = True) -> Iterator[Hit]:
    """The findings a string literal carries: ``whole`` is False for f-strings with holes."""
    if whole and is_model(text):
        yield Hit(line, "model", text)
    if whole and is_env_name(text):
        yield Hit(line, "env", text)
    for url in openai_urls(text):
        yield Hit(line, "endpoint", url)


# Constructors whose call makes an OpenAI SDK client or a wrapper around one (Python and JS).
CLIENT_CTORS = frozenset({
    "OpenAI", "AsyncOpenAI", "AzureOpenAI", "AsyncAzureOpenAI",
    "ChatOpenAI", "AzureChatOpenAI", "OpenAIEmbeddings", "AzureOpenAIEmbeddings",
    "OpenAIEmbedding",
})

# API method paths, matched against the end of a call's attribute chain. The value names the
# feature the endpoint itself implies ("" for plain chat and model listing).
API_METHODS: dict[tuple[str, ...], str] = {
    ("chat", "completions", "create"): "",
    ("chat", "completions", "parse"): "json_schema",
    ("chat", "completions", "stream"): "streaming",
    ("completions", "create"): "completions",
    ("embeddings", "create"): "embeddings",
    ("responses", "create"): "responses",
    ("responses", "parse"): "responses",
    ("responses", "stream"): "responses",
    ("images", "generate"): "images",
    ("images", "edit"): "images",
    ("images", "create_variation"): "images",
    ("images", "createVariation"): "images",
    ("audio", "transcriptions", "create"): "transcription",
    ("audio", "translations", "create"): "audio",
    ("audio", "speech", "create"): "speech",
    ("moderations", "create"): "moderations",
    ("models", "list"): "",
    ("models", "retrieve"): "",
    ("files", "create"): "files",
    ("batches", "create"): "batch",
    ("fine_tuning", "jobs", "create"): "fine_tuning",
    ("fineTuning", "jobs", "create"): "fine_tuning",
    ("beta", "assistants", "create"): "assistants",
    ("beta", "threads", "create"): "assistants",
    ("beta", "threads", "runs", "create"): "assistants",
    ("beta", "threads", "messages", "create"): "assistants",
}


def match_api_method(path: list[str]) -> tuple[str, ...] | None:
    """The longest API method path that ``path`` (attribute names, receiver first) ends with."""
    best: tuple[str, ...] | None = None
    for method in API_METHODS:
        n = len(method)
        if len(path) >= n and tuple(path[-n:]) == method and (best is None or n > len(best)):
            best = method
    return best


# openai-python < 1.0: `openai.<Resource>.<method>(...)`, and the feature each resource implies.
LEGACY_RESOURCES: dict[str, str] = {
    "ChatCompletion": "",
    "Completion": "completions",
    "Embedding": "embeddings",
    "Image": "images",
    "Moderation": "moderations",
    "Edit": "completions",
    "Audio": "audio",
    "Model": "",
    "File": "files",
    "FineTune": "fine_tuning",
    "FineTuningJob": "fine_tuning",
}
LEGACY_METHODS = frozenset({
    "create", "acreate", "list", "alist", "retrieve", "aretrieve",
    "create_edit", "create_variation", "transcribe", "atranscribe", "translate", "atranslate",
})

# openai-node v3 (`new OpenAIApi(configuration)`), and the feature each method implies.
V3_METHODS: dict[str, str] = {
    "createChatCompletion": "",
    "createCompletion": "completions",
    "createEmbedding": "embeddings",
    "createImage": "images",
    "createModeration": "moderations",
    "createTranscription": "transcription",
}

# Methods through which a session or client object sends an HTTP request.
HTTP_METHODS = frozenset({"get", "post", "put", "patch", "delete", "request", "stream"})

# Other vendors' SDKs: a receiver built from one of these is not an OpenAI client, even when its
# method names look like OpenAI's (Anthropic's `models.list`, Zhipu's `chat.completions.create`).
FOREIGN_MODULES = frozenset({
    "anthropic", "@anthropic-ai/sdk", "mistralai", "@mistralai/mistralai", "groq", "groq-sdk",
    "cohere", "cohere-ai", "google", "@google/generative-ai", "@google/genai", "vertexai",
    "together", "together-ai", "fireworks", "zhipuai", "zai", "dashscope", "qianfan", "ollama",
    "volcenginesdkarkruntime", "volcengine", "@volcengine/ark-runtime", "erniebot", "sparkai",
    "tencentcloud", "zhipuai-sdk-nodejs-v4", "@baiducloud/qianfan",
    "replicate", "huggingface_hub", "voyageai", "cerebras", "ai21", "boto3", "stripe",
    "langchain_anthropic", "@langchain/anthropic",
})
# Libraries whose objects have their own `with_options` (a MongoDB collection's, for one).
WITH_OPTIONS_ELSEWHERE = frozenset({"pymongo", "motor", "mongomock"})
FOREIGN_NAME_HINTS = (
    "anthropic", "claude", "mistral", "groq", "cohere", "gemini", "genai", "zhipu", "ollama",
    "stripe", "bedrock", "ark_client", "dashscope", "qianfan",
)

# Every resource of the OpenAI SDKs (scan-rules.md, extension 4): a method call on one of these
# attribute paths is an API call, whatever the method (`retrieve`, `list`, `delete`, `cancel`…).
# Paths with two or more parts are distinctive enough on any receiver; one-part paths
# (`files`, `models`) also name attributes of unrelated objects, so they need a known verb.
SDK_RESOURCES: dict[tuple[str, ...], str] = {
    ("chat", "completions"): "",
    ("chat", "completions", "messages"): "",
    ("beta", "chat", "completions"): "",
    ("beta", "assistants"): "assistants",
    ("beta", "assistants", "files"): "assistants",
    ("beta", "threads"): "assistants",
    ("beta", "threads", "runs"): "assistants",
    ("beta", "threads", "runs", "steps"): "assistants",
    ("beta", "threads", "messages"): "assistants",
    ("beta", "threads", "messages", "files"): "assistants",
    ("beta", "vector_stores"): "assistants",
    ("beta", "vector_stores", "files"): "assistants",
    ("beta", "vector_stores", "file_batches"): "assistants",
    ("beta", "vectorStores"): "assistants",
    ("beta", "vectorStores", "files"): "assistants",
    ("beta", "vectorStores", "fileBatches"): "assistants",
    ("vector_stores",): "assistants",
    ("vector_stores", "files"): "assistants",
    ("vector_stores", "file_batches"): "assistants",
    ("vectorStores",): "assistants",
    ("vectorStores", "files"): "assistants",
    ("vectorStores", "fileBatches"): "assistants",
    ("fine_tuning", "jobs"): "fine_tuning",
    ("fine_tuning", "jobs", "checkpoints"): "fine_tuning",
    ("fineTuning", "jobs"): "fine_tuning",
    ("fineTuning", "jobs", "checkpoints"): "fine_tuning",
    ("audio", "transcriptions"): "transcription",
    ("audio", "translations"): "audio",
    ("audio", "speech"): "speech",
    ("responses", "input_items"): "responses",
    ("responses", "inputItems"): "responses",
    ("uploads", "parts"): "files",
    ("files",): "files",
    ("batches",): "batch",
    ("models",): "",
    ("uploads",): "files",
    ("responses",): "responses",
    ("images",): "images",
    ("embeddings",): "embeddings",
    ("moderations",): "moderations",
    ("completions",): "completions",
}
SDK_METHODS = frozenset({
    "create", "retrieve", "list", "update", "delete", "del", "cancel", "submit_tool_outputs",
    "submitToolOutputs", "create_and_poll", "createAndPoll", "create_and_run", "createAndRun",
    "create_and_stream", "createAndStream", "create_and_run_poll", "createAndRunPoll",
    "create_and_run_stream", "createAndRunStream", "submit_tool_outputs_and_poll",
    "submitToolOutputsAndPoll", "submit_tool_outputs_stream", "submitToolOutputsStream", "poll",
    "stream", "parse", "content", "retrieve_content", "wait_for_processing", "upload_and_poll",
    "uploadAndPoll", "upload", "complete", "list_files", "listFiles", "pause", "resume",
    "generate", "edit", "create_variation", "createVariation", "compact",
})


def is_sdk_method(path: list[str]) -> tuple[str, ...] | None:
    """The resource path when ``path`` (receiver first) ends in ``<SDK resource>.<method>``.

    Only multi-part resources qualify on their own; one-part ones (`files.list`) are left to
    :data:`API_METHODS` or to a receiver known to be an OpenAI client."""
    if len(path) < 2 or path[-1] not in SDK_METHODS:
        return None
    best: tuple[str, ...] | None = None
    for resource in SDK_RESOURCES:
        n = len(resource)
        if len(path) > n and tuple(path[-n - 1:-1]) == resource and (best is None or n > len(best)):
            best = resource
    return best


# URL paths that name an OpenAI API endpoint when a request appends them to a base it got at run
# time (scan-rules.md, extension 2); `…` stands for the hole before them.
_API_PATH = re.compile(
    r"…\}?[^/]*/+(?:[\w.{}…-]+/+)*?(?:v1/+)?(?:chat/+completions|completions|embeddings"
    r"|images/+generations|audio/+transcriptions|audio/+speech|moderations|responses"
    r"|openai/+deployments/)(?![\w-])")


def appends_api_path(text: str) -> bool:
    """Whether a URL built at run time (``{…}`` marks each hole) appends an OpenAI API path to a
    base it does not spell out: ``{…}/v1/chat/completions``, ``{…}/openai/deployments/{…}/…``.
    A URL that starts with ``/`` is the app's own route, not a base plus a path."""
    if text.startswith("/") or "{…}" not in text:
        return False
    return _API_PATH.search(text) is not None
