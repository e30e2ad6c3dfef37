"""Each vendor's model families: which models chat (with tools, with images), embed, rerank, draw,
speak or transcribe. :mod:`banjia.vendors.table` gives every descriptor its families from here.

A family is a set of model-id prefixes (lower case; the longest match decides, see
:class:`banjia.vendors.Family`). A text family names the generations the vendor documents rather
than the vendor's whole prefix, so a vision model the table does not know yet is not taken for a
text one: a model no family names is forwarded as it is (the upstream decides), while one a text
family names is refused an image before anything is sent.

tests/catalog/test_families.py holds the catalog to these families: every catalog model belongs to
one, with no capability its family lacks, and every family names at least one catalog model (types
that serve no catalog of their own, ``openai`` and ``anthropic``, may name more). Where a family is
wider than the catalog's entries (Qwen3.5 reads images, the catalog once said it did not), the
source is given beside it.
"""

from __future__ import annotations

from banjia.vendors import Family

__all__ = [
    "ARK",
    "BAICHUAN",
    "BY_TYPE",
    "DASHSCOPE",
    "DEEPSEEK",
    "HUNYUAN",
    "LOCAL",
    "MIMO",
    "MINIMAX",
    "MOONSHOT",
    "OPENAI",
    "QIANFAN",
    "SILICONFLOW",
    "SPARK",
    "STEPFUN",
    "YI",
    "ZHINAO",
    "ZHIPU",
]

_TEXT = frozenset({"chat", "tools"})
_VISION = frozenset({"chat", "tools", "vision"})


def _f(name: str, caps: frozenset[str] | str, *prefixes: str) -> Family:
    return Family(name, prefixes, frozenset({caps}) if isinstance(caps, str) else caps)


# Alibaba DashScope / Bailian (https://help.aliyun.com/zh/model-studio/models). Qwen3.5 and later
# are natively multimodal (https://vercel.com/ai-gateway/models/qwen3.5-plus: "Vision (Image)").
DASHSCOPE = (
    _f("Qwen text", _TEXT, "qwen-max", "qwen-plus", "qwen-flash", "qwen-turbo", "qwen-long",
       "qwen-coder", "qwen-math", "qwen3-max", "qwen3-coder", "qwen3-", "qwen2.5-", "qwen2-", "qwq"),
    _f("Qwen vision", _VISION, "qwen-vl", "qwen2-vl", "qwen2.5-vl", "qwen3-vl", "qvq", "qwen-omni",
       "qwen2.5-omni", "qwen3-omni", "qwen3.5", "qwen3.6", "qwen3.7"),
    _f("text embedding", "embeddings", "text-embedding-"),
    _f("rerank", "rerank", "gte-rerank", "qwen3-rerank"),
    _f("Wan / Qwen-Image", "images", "wanx", "wan2", "qwen-image"),
    _f("speech synthesis", "speech", "cosyvoice", "qwen-tts", "qwen3-tts"),
    _f("speech recognition", "transcription", "qwen3-asr", "qwen-asr"),
)

# DeepSeek has no vision model (https://api-docs.deepseek.com/quick_start/pricing).
DEEPSEEK = (_f("DeepSeek", _TEXT, "deepseek-"),)

# Moonshot Kimi: K2.5 and later read images; the -vision-preview ids of moonshot-v1 too
# (https://platform.moonshot.cn/docs/pricing/chat).
MOONSHOT = (
    _f("Kimi text", _TEXT, "kimi-k2", "moonshot-v1-"),
    _f("Kimi vision", _VISION, "kimi-k2.5", "kimi-k2.6", "kimi-latest", "moonshot-v1-8k-vision",
       "moonshot-v1-32k-vision", "moonshot-v1-128k-vision"),
)

# SiliconFlow hosts open models under their publishers' names (https://siliconflow.cn/models);
# a "Pro/" copy of a model matches no family here and is forwarded as it is.
SILICONFLOW = (
    _f("hosted text", _TEXT, "deepseek-ai/deepseek-v3", "deepseek-ai/deepseek-r1", "qwen/qwen3-",
       "qwen/qwen2.5-", "thudm/glm-4", "thudm/glm-z1"),
    _f("hosted vision", _VISION, "qwen/qwen2.5-vl", "qwen/qwen3-vl", "qwen/qvq", "thudm/glm-4.1v",
       "deepseek-ai/deepseek-vl"),
    _f("BGE embedding", "embeddings", "baai/bge-m3", "baai/bge-large", "qwen/qwen3-embedding"),
    _f("BGE rerank", "rerank", "baai/bge-reranker", "qwen/qwen3-reranker"),
    _f("Kolors", "images", "kwai-kolors/"),
    _f("CosyVoice", "speech", "funaudiollm/cosyvoice"),
    _f("SenseVoice", "transcription", "funaudiollm/sensevoice"),
)

# 01.AI: the platform now resells other vendors' models; yi-vision is not a text model.
YI = (_f("Yi text", _TEXT, "yi-lightning", "yi-large"),)

# Baichuan has no vision model; its embedding model is Baichuan-Text-Embedding.
BAICHUAN = (_f("Baichuan", _TEXT, "baichuan4", "baichuan3", "baichuan2", "baichuan-m"),)

# StepFun: step-1v / step-1o are its vision models, outside these prefixes.
STEPFUN = (_f("Step text", _TEXT, "step-1-", "step-2-", "step-3.5", "step-3.7", "step-5"),)

ZHINAO = (
    _f("360GPT", _TEXT, "360gpt", "360zhinao"),
    _f("360 embedding", "embeddings", "embedding_s1"),
)

# Baidu Qianfan (https://cloud.baidu.com/doc/qianfan/s/rmh4stp0j): ERNIE 5 is natively multimodal.
QIANFAN = (
    _f("ERNIE text", _TEXT, "ernie-4.5-turbo", "ernie-4.0", "ernie-3.5", "ernie-x1", "ernie-speed",
       "ernie-lite", "ernie-tiny", "ernie-char", "ernie-novel"),
    _f("ERNIE multimodal", _VISION, "ernie-5", "ernie-4.5-turbo-vl", "ernie-4.5-vl"),
)

# Tencent Hunyuan (https://cloud.tencent.com/document/product/1729/97731): the -vision ids read images.
HUNYUAN = (
    _f("Hunyuan text", _TEXT, "hunyuan-2.0", "hunyuan-turbo", "hunyuan-t1", "hunyuan-lite",
       "hunyuan-large", "hunyuan-standard", "hunyuan-pro", "hunyuan-functioncall", "hunyuan-role",
       "hunyuan-code"),
    _f("Hunyuan vision", _VISION, "hunyuan-vision", "hunyuan-turbos-vision", "hunyuan-t1-vision",
       "hunyuan-large-vision"),
    _f("Hunyuan embedding", "embeddings", "hunyuan-embedding"),
)

# Zhipu GLM (https://docs.bigmodel.cn/): the V models read images.
ZHIPU = (
    _f("GLM text", _TEXT, "glm-4", "glm-5", "glm-z1"),
    _f("GLM vision", _VISION, "glm-4v", "glm-4.1v", "glm-4.5v", "glm-4.6v", "glm-5v"),
    _f("Zhipu embedding", "embeddings", "embedding-"),
    _f("CogView", "images", "cogview"),
    _f("Zhipu rerank", "rerank", "rerank"),
)

# iFlytek Spark: models are named by version (the HTTP ids; spark-ws maps them to domains).
SPARK = (_f("Spark", _TEXT, "x1", "4.0ultra", "max-32k", "generalv3", "pro-128k", "lite"),)

MINIMAX = (
    _f("MiniMax text", _TEXT, "minimax-m", "minimax-text", "abab"),
    _f("MiniMax speech", "speech", "speech-"),
)

# Volcengine Ark (https://www.volcengine.com/docs/82379/1330310): Doubao Seed 1.6 and later read
# images; Seedream draws; ids may carry a date (doubao-seed-2-0-pro-260215).
ARK = (
    _f("Doubao text", _TEXT, "doubao-pro", "doubao-lite", "doubao-1.5-pro", "doubao-1-5-pro",
       "doubao-1.5-lite", "doubao-1-5-lite"),
    _f("Doubao Seed", _VISION, "doubao-seed", "doubao-vision", "doubao-1.5-vision", "doubao-1-5-vision",
       "doubao-1.5-thinking-vision", "doubao-1-5-thinking-vision"),
    _f("Doubao embedding", "embeddings", "doubao-embedding"),
    _f("Seedream", "images", "doubao-seedream"),
)

MIMO = (_f("MiMo", _TEXT, "mimo-v2.5-pro"),)

LOCAL = (_f("bundled GGUF", frozenset({"chat", "embeddings"}), "default"),)

# OpenAI's own names (https://platform.openai.com/docs/models). The media families' prefixes are
# OpenAI's media model names (banjia.adaptors.media.OPENAI_MEDIA_NAMES reads them from here).
OPENAI = (
    _f("GPT text", _TEXT, "gpt-4", "gpt-3.5", "o1-mini", "o3-mini", "davinci", "babbage"),
    _f("GPT multimodal", _VISION, "gpt-5", "gpt-4.5", "gpt-4.1", "gpt-4o", "gpt-4-turbo", "gpt-4-vision",
       "chatgpt-4o", "o1", "o3", "o4"),
    _f("OpenAI embedding", "embeddings", "text-embedding-"),
    _f("OpenAI images", "images", "dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-1-mini",
       "gpt-image-1.5"),
    _f("OpenAI speech", "speech", "tts-1", "tts-1-hd", "gpt-4o-mini-tts"),
    _f("OpenAI transcription", "transcription", "whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"),
)

# provider type → its families; a type that serves another's models (a legacy or second protocol,
# a second endpoint) has that vendor's families, within its own capabilities
BY_TYPE: dict[str, tuple[Family, ...]] = {
    "openai": OPENAI, "deepseek": DEEPSEEK, "moonshot": MOONSHOT, "siliconflow": SILICONFLOW, "yi": YI,
    "baichuan": BAICHUAN, "stepfun": STEPFUN, "zhinao": ZHINAO, "dashscope": DASHSCOPE,
    "qianfan": QIANFAN, "hunyuan": HUNYUAN, "tokenhub": HUNYUAN, "zhipu": ZHIPU, "spark": SPARK,
    "minimax": MINIMAX, "ark": ARK, "mimo": MIMO,
    "dashscope-native": DASHSCOPE, "qianfan-v1": QIANFAN, "hunyuan-tc3": HUNYUAN, "spark-ws": SPARK,
    "minimax-pro": MINIMAX, "anthropic": DEEPSEEK, "local": LOCAL,
}
