"""The descriptors, one entry per provider type (see :mod:`banjia.vendors` for the fields).

Endpoints and protocols as of late 2026 (docs/providers.md, /work/shared/docs/market-2026.md);
capabilities are what banjia serves through the type, checked against the fakes by
tests/vendors/test_descriptors.py.
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

from banjia.vendors import Descriptor, Thinking
from banjia.vendors.families import BY_TYPE

__all__ = ["DESCRIPTORS"]

# the gateway answers these over any chat upstream (completions and Responses go over chat)
_CHAT = frozenset({"chat", "streaming", "responses", "completions"})
_MEDIA = frozenset({"images", "speech", "transcription", "rerank"})
# OpenAI-shaped Files + Batches APIs, billed at the vendor's batch price (banjia.batches):
# https://help.aliyun.com/zh/dashscope/developer-reference/openai-batch-interface,
# https://docs.bigmodel.cn/cn/faq/batch-api-issues.md, https://docs.siliconflow.cn/cn/userguide/guides/batch,
# https://platform.openai.com/docs/api-reference/batch
_BATCH = frozenset({"batch"})
_KEY = ("api_key",)

_QWEN_THINKING = Thinking(switch="dashscope", no_stream_off=("qwen3",), families=("qwen3", "qwq", "qvq"))


def _openai_dialect(
    type_: str,
    title: str,
    base_url: str,
    env: tuple[str, ...],
    caps: set[str],
    *,
    list_models: str | None = "/models",
    **kw: object,
) -> Descriptor:
    return Descriptor(
        type=type_,
        title=title,
        protocol="openai",
        credentials=_KEY if base_url else (),
        key_env=env[:1],
        aliases_env=env[1:],
        base_url=base_url,
        capabilities=_CHAT | caps,
        list_models=list_models,
        **kw,  # type: ignore[arg-type]
    )


_ENTRIES: list[Descriptor] = [
    _openai_dialect(
        "openai", "OpenAI or any OpenAI-compatible server", "", ("OPENAI_API_KEY",),
        {"tools", "json_object", "json_schema", "n", "logprobs", "vision", "embeddings"} | _MEDIA | _BATCH,
        thinking=Thinking(switch="openai"), serves_catalog=False, token_input=True,
        quirks=("any OpenAI-compatible server (vLLM, Ollama…): base_url is required, api_key optional",),
    ),
    _openai_dialect(
        "deepseek", "DeepSeek", "https://api.deepseek.com/v1", ("DEEPSEEK_API_KEY",),
        {"tools", "json_object", "logprobs"},
        # thinking mode checks the history only while thinking: {"thinking": {"type": "disabled"}} lets
        # a turn whose reasoning banjia does not know through (api-docs.deepseek.com/guides/thinking_mode)
        thinking=Thinking(switch="deepseek", replay=True),
        quirks=("402 (empty balance) disables the provider", "no embeddings endpoint"),
    ),
    _openai_dialect(
        "moonshot", "Moonshot Kimi", "https://api.moonshot.cn/v1", ("MOONSHOT_API_KEY",),
        {"tools", "json_object", "vision"},
        # A tool-call turn whose reasoning banjia does not know:
        # - kimi-k2.5 and kimi-k2.6 turn thinking off with thinking: {"type": "disabled"}
        #   (https://platform.moonshot.cn/docs/guide/use-kimi-k2-thinking-model) and refuse an empty
        #   reasoning_content like a missing one (https://github.com/theopenco/llmgateway/pull/2093,
        #   tested against api.moonshot.ai): thinking goes off for that turn;
        # - kimi-k2-thinking always thinks (same Moonshot page) and accepts reasoning_content: ""
        #   (same pull request; a third party's live test, not Moonshot's docs): the type's "empty";
        # - other Kimi models (k3, k2.7…): unconfirmed, the type's "empty".
        # thinking.keep ("all": earlier turns' reasoning kept in context, K2.6) is the client's to
        # set: without it Kimi ignores earlier turns' reasoning, replayed or not.
        thinking=Thinking(switch="thinking_type", replay=True, unknown="empty",
                          unknown_by_family=(("kimi-k2.5", "disable_thinking"),
                                             ("kimi-k2.6", "disable_thinking")),
                          families=("kimi-k2", "kimi-k3")),
        quirks=("temperature clamped to [0, 1]", "stream usage arrives inside the choice"),
    ),
    _openai_dialect(
        "siliconflow", "SiliconFlow", "https://api.siliconflow.cn/v1", ("SILICONFLOW_API_KEY",),
        {"tools", "json_object", "vision", "embeddings"} | _MEDIA | _BATCH,
        thinking=Thinking(switch="enable_thinking"),
        quirks=("max_tokens may equal the context length (no 4,096 cap since 2026)",),
    ),
    _openai_dialect(
        "yi", "01.AI Yi", "https://api.lingyiwanwu.com/v1", ("YI_API_KEY", "LINGYIWANWU_API_KEY"),
        {"tools", "vision"},
    ),
    _openai_dialect(
        "baichuan", "Baichuan", "https://api.baichuan-ai.com/v1", ("BAICHUAN_API_KEY",),
        {"tools", "embeddings"}, list_models=None,  # its API reference documents no model list
        quirks=("max_tokens capped at 2,048", "429 means throttling or an empty balance: the message tells"),
    ),
    _openai_dialect(
        "stepfun", "StepFun", "https://api.stepfun.com/v1", ("STEPFUN_API_KEY",),
        {"tools", "json_object", "vision"},
    ),
    _openai_dialect(
        "zhinao", "360 Zhinao", "https://api.360.cn/v1", ("ZHINAO_API_KEY", "AI360_API_KEY"),
        {"embeddings"}, list_models=None,
    ),
    _openai_dialect(
        "dashscope", "Alibaba DashScope / Bailian (compatible mode)",
        "https://dashscope.aliyuncs.com/compatible-mode/v1", ("DASHSCOPE_API_KEY",),
        {"tools", "json_object", "vision", "embeddings"} | _MEDIA | _BATCH,
        thinking=_QWEN_THINKING,
        bases=MappingProxyType({
            # per-workspace domains (2026); the old domain still works
            "workspace": "https://{workspace}.cn-beijing.maas.aliyuncs.com/compatible-mode/v1",
        }),
        quirks=("temperature [0, 2), top_p (0, 1]",
                "Qwen3 refuses a non-streaming call unless enable_thinking is false",
                "media goes to the native API on the same host (the base's /compatible-mode/v1 removed)"),
    ),
    _openai_dialect(
        "qianfan", "Baidu Qianfan v2 (ERNIE; bearer key)", "https://qianfan.baidubce.com/v2",
        ("QIANFAN_API_KEY",),
        {"tools", "json_object", "json_schema", "vision", "embeddings"}, list_models=None,
        quirks=("temperature (0, 1]", "the ERNIE default since v1 was deprecated"),
    ),
    _openai_dialect(
        "hunyuan", "Tencent Hunyuan (OpenAI-compatible)", "https://api.hunyuan.cloud.tencent.com/v1",
        ("HUNYUAN_API_KEY",),
        {"tools", "vision", "embeddings"}, list_models=None,
        bases=MappingProxyType({"tokenhub": "https://tokenhub.tencentmaas.com/v1"}),
        quirks=("finish_reason 'sensitive' is content_filter",
                "new models (Hy3) come through TokenHub: type tokenhub, or base_url set to it"),
    ),
    _openai_dialect(
        "tokenhub", "Tencent TokenHub (Hunyuan and hosted models)", "https://tokenhub.tencentmaas.com/v1",
        ("TOKENHUB_API_KEY",),
        {"tools"}, list_models=None,
        quirks=("same wire as the Hunyuan OpenAI-compatible endpoint",),
    ),
    _openai_dialect(
        "zhipu", "Zhipu GLM (auth: bearer (default) or jwt)", "https://open.bigmodel.cn/api/paas/v4",
        ("ZHIPU_API_KEY", "ZHIPUAI_API_KEY"),
        {"tools", "json_object", "vision", "embeddings", "images", "rerank"} | _BATCH, list_models=None,
        thinking=Thinking(switch="thinking_type", replay=True,
                          families=("glm-4.5", "glm-4.6", "glm-4.7", "glm-5")),
        quirks=("the plain API key is sent as a bearer token; auth: jwt signs a short-lived token",
                "temperature [0, 1], top_p (0, 1)"),
    ),
    _openai_dialect(
        "spark", "iFlytek Spark (HTTP)", "https://spark-api-open.xf-yun.com/v1", ("SPARK_API_PASSWORD",),
        {"tools", "json_object"}, list_models=None,
        bases=MappingProxyType({"x1": "https://spark-api-open.xf-yun.com/v2"}),
        model_versions=(("x1", "/v2"),),
        quirks=("X1 is served on the v2 base: a base ending in /v1 becomes /v2 for x1 models",
                "errors arrive inside 200 bodies (numeric code)", "max_tokens capped at 8,192"),
    ),
    _openai_dialect(
        "minimax", "MiniMax (OpenAI-compatible)", "https://api.minimaxi.com/v1", ("MINIMAX_API_KEY",),
        {"tools", "speech"}, list_models=None,
        # M2.x reason inside content (<think>…</think>) unless reasoning_split is asked, then in a
        # reasoning_details list; on tool turns the whole assistant message, reasoning included,
        # must come back or the model loses its chain of thought (degraded, never refused):
        # https://platform.minimaxi.com/docs/api-reference/text-openai-api,
        # https://www.minimaxi.com/news/why-is-interleaved-thinking-important-for-m2. M2.x always
        # think (no switch); M3's thinking: {type} is unconfirmed.
        thinking=Thinking(replay=True, unknown="omit", carrier="reasoning_details",
                          ask=(("reasoning_split", True),), families=("minimax-m",)),
        quirks=("errors arrive inside 200 bodies (base_resp)", "temperature and top_p (0, 1]",
                "reasoning_split is asked: reasoning reaches clients as reasoning_content",
                "api.minimax.chat is the old domain; api.minimax.io the international one"),
    ),
    _openai_dialect(
        "ark", "Volcengine Ark / Doubao", "https://ark.cn-beijing.volces.com/api/v3", ("ARK_API_KEY",),
        # GET /api/v3/models answers in OpenAI's shape (tested against Ark with a real key:
        # https://github.com/QuantumNous/new-api/pull/7203, 2026-09; it lists every model the
        # account may call, embedding and image models included)
        {"tools", "json_object", "vision", "embeddings", "images"},
        endpoint_ids=True, thinking=Thinking(switch="thinking_type", families=("doubao-seed",)),
        quirks=("model ids are accepted directly; endpoints: {model: ep-id} is optional",),
    ),
    _openai_dialect(
        "mimo", "Xiaomi MiMo", "https://api.xiaomimimo.com/v1", ("MIMO_API_KEY",),
        {"tools"},
        quirks=("new in 2026; capabilities beyond chat and tools unconfirmed",),
    ),
    # -- native protocols -------------------------------------------------------------------------
    Descriptor(
        type="dashscope-native", title="Alibaba DashScope (native API)", protocol="native",
        credentials=_KEY,
        # no variable of its own: DASHSCOPE_API_KEY already enables the compatible-mode type in the
        # embedded defaults; the native protocol is chosen in a config file
        key_env=(),
        base_url="https://dashscope.aliyuncs.com",
        capabilities=_CHAT | {"tools", "vision", "embeddings"} | _MEDIA,
        list_models=None, thinking=_QWEN_THINKING,
        bases=MappingProxyType({"workspace": "https://{workspace}.cn-beijing.maas.aliyuncs.com"}),
    ),
    Descriptor(
        type="qianfan-v1", title="Baidu Qianfan v1 (legacy: ERNIE via OAuth access token)", protocol="native",
        credentials=("api_key", "secret_key"),
        key_env=("QIANFAN_AK", "QIANFAN_SK"),  # the official SDK's variables for this key pair
        base_url="https://aip.baidubce.com",
        # chat only: v1 serves each model on its own path, and embedding-v1 answers 400 there
        capabilities=_CHAT | {"tools"},
        list_models=None, legacy="qianfan",
        endpoint_ids=True,  # `endpoints: {model: service path}` adds self-deployed services
        quirks=("deprecated by Baidu: use type qianfan (v2, bearer key)",),
    ),
    Descriptor(
        type="hunyuan-tc3", title="Tencent Hunyuan (native API 3.0, TC3-HMAC-SHA256)", protocol="native",
        # region is optional for this action (X-TC-Region): sent when configured
        credentials=("secret_id", "secret_key"),
        key_env=("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"),  # the SDK's own variables
        base_url="https://hunyuan.tencentcloudapi.com",
        capabilities=_CHAT | {"tools"},
        list_models=None,
        quirks=("strict role alternation: banjia repairs the conversation",),
    ),
    Descriptor(
        type="spark-ws", title="iFlytek Spark (WebSocket, signed URL)", protocol="native",
        credentials=("app_id", "api_key", "api_secret"),
        # the variables the official sparkai SDK reads
        key_env=("IFLYTEK_SPARK_APP_ID", "IFLYTEK_SPARK_API_KEY", "IFLYTEK_SPARK_API_SECRET"),
        base_url="wss://spark-api.xf-yun.com",
        capabilities=_CHAT | {"tools"},
        list_models=None,
        quirks=("models are named by their domain; each has its own path",),
    ),
    Descriptor(
        type="minimax-pro", title="MiniMax ChatCompletion Pro (legacy)", protocol="native",
        credentials=("api_key", "group_id"),
        key_env=("MINIMAX_API_KEY", "MINIMAX_GROUP_ID"),
        base_url="https://api.minimax.chat",
        capabilities=_CHAT | {"tools", "speech"},
        list_models=None, legacy="minimax",
        quirks=("ChatCompletion Pro and abab models are legacy: use type minimax",),
    ),
    Descriptor(
        type="anthropic", title="Any Anthropic-Messages-compatible endpoint (auth: x-api-key or bearer)",
        protocol="native", credentials=_KEY,
        key_env=(),  # chosen in a config file: the vendors' keys already enable their own types
        base_url="",  # required: banjia appends /v1/messages
        capabilities=_CHAT | {"tools", "vision"},
        list_models=None, serves_catalog=False,
        bases=MappingProxyType({
            "deepseek": "https://api.deepseek.com/anthropic",
            "moonshot": "https://api.moonshot.cn/anthropic",
            "zhipu": "https://open.bigmodel.cn/api/anthropic",
            "dashscope": "https://dashscope.aliyuncs.com/apps/anthropic",
            "minimax": "https://api.minimaxi.com/anthropic",
        }),
        join_system_hosts=("api.deepseek.com",),
        # Anthropic's own API and Kimi's refuse thinking with a forced tool call (sources in
        # banjia.adaptors.anthropic's passthrough_body)
        no_forced_tool_thinking_hosts=("api.anthropic.com", "api.moonshot.cn", "api.moonshot.ai",
                                       "api.kimi.com"),
        quirks=("DeepSeek's /anthropic refuses an array system: its blocks are joined into one string",
                "Anthropic and Kimi refuse thinking with a forced tool_choice (any, tool): thinking is "
                "dropped for that request",
                "max_tokens is required upstream: the client's, else the catalog's max_output, else 4,096"),
    ),
    Descriptor(
        type="local", title="The bundled llama.cpp model", protocol="local",
        credentials=(), key_env=(), base_url="",
        capabilities=_CHAT | {"embeddings"},
        list_models=None,
    ),
]

# each type's model families (what each model serves) are in banjia.vendors.families
DESCRIPTORS = MappingProxyType({
    d.type: replace(d, families=BY_TYPE.get(d.type, d.families)) for d in _ENTRIES
})
