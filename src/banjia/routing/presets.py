"""Built-in aliases for OpenAI model names, used when no config file names its own ``models:``.

The embedded local model answers every OpenAI chat and embedding name, so an unmodified app works
offline with no keys; a vendor whose key variable is set is tried first for the names it maps.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["OPENAI_CHAT", "OPENAI_EMBEDDINGS", "PRESETS", "default_aliases", "preset_aliases"]

OPENAI_CHAT = (
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4-turbo",
    "gpt-4",
    "gpt-3.5-turbo",
    "o1",
    "o3-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
)
OPENAI_EMBEDDINGS = ("text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002")

# vendor type → OpenAI name → the vendor's closest model (justified in catalog/models.yaml)
PRESETS: dict[str, dict[str, str]] = {
    "dashscope": {
        "gpt-4o": "qwen-plus",
        "gpt-4o-mini": "qwen-turbo",
        "gpt-4-turbo": "qwen-max",
        "gpt-4": "qwen-max",
        "gpt-3.5-turbo": "qwen-turbo",
        "o1": "deepseek-r1",
        "o3-mini": "deepseek-r1",
        "gpt-4.1": "qwen-plus",
        "gpt-4.1-mini": "qwen-turbo",
        "text-embedding-3-small": "text-embedding-v3",
        "text-embedding-3-large": "text-embedding-v3",
        "text-embedding-ada-002": "text-embedding-v2",
    },
    "deepseek": {
        "gpt-4o": "deepseek-chat",
        "gpt-4o-mini": "deepseek-chat",
        "gpt-4-turbo": "deepseek-chat",
        "gpt-4": "deepseek-chat",
        "gpt-3.5-turbo": "deepseek-chat",
        "o1": "deepseek-reasoner",
        "o3-mini": "deepseek-reasoner",
        "gpt-4.1": "deepseek-chat",
        "gpt-4.1-mini": "deepseek-chat",
    },
    "zhipu": {
        "gpt-4o": "glm-4-plus",
        "gpt-4o-mini": "glm-4-flash",
        "gpt-4-turbo": "glm-4-plus",
        "gpt-4": "glm-4-plus",
        "gpt-3.5-turbo": "glm-4-flash",
        "gpt-4.1": "glm-4-plus",
        "gpt-4.1-mini": "glm-4-air",
        "text-embedding-3-small": "embedding-3",
        "text-embedding-3-large": "embedding-3",
        "text-embedding-ada-002": "embedding-2",
    },
    "moonshot": {
        "gpt-4o": "moonshot-v1-32k",
        "gpt-4o-mini": "moonshot-v1-8k",
        "gpt-4-turbo": "moonshot-v1-128k",
        "gpt-3.5-turbo": "moonshot-v1-8k",
    },
    "siliconflow": {
        "gpt-4o-mini": "Qwen/Qwen2.5-7B-Instruct",
        "gpt-3.5-turbo": "Qwen/Qwen2.5-7B-Instruct",
        "gpt-4o": "deepseek-ai/DeepSeek-V3",
        "o1": "deepseek-ai/DeepSeek-R1",
        "text-embedding-3-small": "BAAI/bge-m3",
        "text-embedding-ada-002": "BAAI/bge-m3",
    },
    "qianfan": {
        "gpt-4o": "ernie-4.0-turbo-128k",
        "gpt-4o-mini": "ernie-speed-128k",
        "gpt-3.5-turbo": "ernie-lite-8k",
        "gpt-4-turbo": "ernie-4.0-turbo-128k",
    },
    "hunyuan": {
        "gpt-4o": "hunyuan-turbo",
        "gpt-4o-mini": "hunyuan-lite",
        "gpt-3.5-turbo": "hunyuan-lite",
        "gpt-4-turbo": "hunyuan-large",
    },
    "ark": {"gpt-4o": "doubao-pro-32k", "gpt-4o-mini": "doubao-lite-32k", "gpt-3.5-turbo": "doubao-lite-32k"},
    "yi": {"gpt-4o": "yi-lightning", "gpt-4o-mini": "yi-lightning", "gpt-3.5-turbo": "yi-lightning"},
    "baichuan": {
        "gpt-4o": "Baichuan4-Turbo",
        "gpt-4o-mini": "Baichuan4-Air",
        "gpt-3.5-turbo": "Baichuan4-Air",
    },
    "stepfun": {"gpt-4o": "step-1-32k", "gpt-4o-mini": "step-1-flash", "gpt-3.5-turbo": "step-1-flash"},
    "minimax": {"gpt-4o": "MiniMax-Text-01", "gpt-4o-mini": "MiniMax-Text-01"},
    "spark": {"gpt-4o": "4.0Ultra", "gpt-4o-mini": "lite", "gpt-3.5-turbo": "lite"},
}


def default_aliases(providers: list[str]) -> dict[str, list[str]]:
    """Each OpenAI name → the configured vendors' presets in a stable order, then the local model
    (the embedded defaults, where each provider is named after its type)."""
    return preset_aliases({p: p for p in providers})


def preset_aliases(providers: Mapping[str, str]) -> dict[str, list[str]]:
    """Each OpenAI name → ``name/<preset model>`` for every configured provider (name → type) whose
    type has a preset for it, in configuration order, then a local provider's default model."""
    aliases: dict[str, list[str]] = {}
    local = [name for name, type_ in providers.items() if type_ == "local"]
    for openai_name in OPENAI_CHAT + OPENAI_EMBEDDINGS:
        chain = [
            f"{name}/{PRESETS[type_][openai_name]}"
            for name, type_ in providers.items()
            if openai_name in PRESETS.get(type_, {})
        ]
        chain.extend(f"{name}/default" for name in local)
        if chain:
            aliases[openai_name] = chain
    return aliases
