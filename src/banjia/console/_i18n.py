"""The console's words in Simplified Chinese (the default) and English, side by side.

A missing entry shows its key, which the tests look for, so an untranslated string is seen.
"""

from __future__ import annotations

__all__ = ["DEFAULT", "LANGS", "STRINGS", "Translator", "pick_lang"]

DEFAULT = "zh-CN"
LANGS = ("zh-CN", "en")
_ALIASES = {"zh-cn": "zh-CN", "zh": "zh-CN", "zh-hans": "zh-CN", "cn": "zh-CN", "en": "en",
            "en-us": "en", "en-gb": "en"}

# key: (zh-CN, en)
STRINGS: dict[str, tuple[str, str]] = {
    # frame
    "console": ("控制台", "console"),
    "menu": ("菜单", "Menu"),
    "overview": ("概览", "Overview"),
    "providers": ("供应商", "Providers"),
    "models": ("模型", "Models"),
    "keys": ("密钥", "Keys"),
    "usage": ("用量", "Usage"),
    "logs": ("请求日志", "Logs"),
    "playground": ("试验场", "Playground"),
    "logout": ("退出", "Sign out"),
    "times_in_cst": ("时间均为北京时间（UTC+8）", "Times are China Standard Time (UTC+8)"),
    "error_title": ("出错了", "Something went wrong"),
    "back_to_console": ("返回控制台", "Back to the console"),
    "none": ("无", "None"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "on": ("开", "on"),
    "off": ("关", "off"),
    "all": ("全部", "All"),
    "comma": ("，", ", "),
    "total": ("合计", "Total"),
    "show": ("显示", "Show"),
    "filter": ("筛选", "Filter"),
    "could_not": ("操作失败：", "That did not work:"),
    "bad_field": ("“{field}”不是有效的数字或日期。", "'{field}' is not a valid number or date."),
    "no_store": ("此网关未配置存储（store），密钥、用量和日志不可用。",
                 "This gateway runs without a store: keys, usage and logs are unavailable."),
    # login
    "login": ("登录", "Sign in"),
    "login_title": ("登录 banjia 控制台", "Sign in to the banjia console"),
    "login_hint": ("只有主密钥（master key）可以登录。", "Only the master key can sign in."),
    "master_key": ("主密钥", "Master key"),
    "wrong_key": ("密钥不正确。", "That key is not valid."),
    "not_master": ("这是一个普通密钥：只有主密钥可以登录控制台。",
                   "That is a client key: only the master key can sign in to the console."),
    "too_many_attempts": ("尝试次数过多。", "Too many attempts."),
    "retry_in": ("请在 {n} 秒后重试。", "Try again in {n} s."),
    "csrf_refused": ("表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试。",
                     "The form has expired or did not come from this console (CSRF check failed). "
                     "Reload the page and try again."),
    # overview
    "window_today": ("今天", "Today"),
    "window_7d": ("近 7 天", "Last 7 days"),
    "window_30d": ("近 30 天", "Last 30 days"),
    "window_all": ("全部时间", "All time"),
    "requests": ("请求数", "Requests"),
    "tokens": ("Token 数", "Tokens"),
    "spent_cny": ("花费（元）", "Spent (CNY)"),
    "openai_cny": ("按 OpenAI / Anthropic 价格（元）", "At OpenAI / Anthropic prices (CNY)"),
    "saving": ("节省", "Saving"),
    "error_rate": ("错误率", "Error rate"),
    "errors": ("错误", "Errors"),
    "chart_requests": ("每日请求与错误", "Requests and errors per day"),
    "chart_tokens": ("Token 用量", "Tokens"),
    "chart_cny": ("花费与节省（元）", "Spending and saving (CNY)"),
    "prompt_tokens": ("输入 Token", "Prompt tokens"),
    "completion_tokens": ("输出 Token", "Completion tokens"),
    "total_tokens": ("总 Token", "Total tokens"),
    # providers
    "config_boundary": ("供应商和模型在 YAML 配置文件中定义（便于 GitOps 管理）；控制台只改变运行时状态："
                        "启用/停用供应商以及自动探测。",
                        "Providers and models are configured in the YAML file (GitOps); the console "
                        "changes only runtime state: enabling or disabling a provider, and its "
                        "automatic probing."),
    "providers_shared": ("运行时状态保存在{where}。", "Runtime state is kept {where}."),
    "shared_redis": ("Redis 中，所有副本共享", "in Redis, shared by every replica"),
    "shared_process": ("本进程中（未配置 store.redis_url）", "in this process (no store.redis_url)"),
    "no_providers": ("未配置供应商。", "No provider is configured."),
    "state_ok": ("正常", "healthy"),
    "state_open": ("熔断中", "circuit open"),
    "state_disabled": ("已停用", "disabled"),
    "circuits": ("熔断器", "Circuits"),
    "circuit_closed": ("闭合（正常）", "closed"),
    "circuit_closed_some": ("未熔断", "not tripped"),
    "circuit_open": ("断开", "open"),
    "circuit_half_open": ("半开（试探中）", "half-open"),
    "circuit_disabled": ("已停用", "disabled"),
    "failures_n": ("连续失败 {n} 次", "{n} failures in a row"),
    "disabled": ("已停用", "Disabled"),
    "last_error": ("最近错误", "Last error"),
    "latency": ("延迟", "Latency"),
    "attempts_n": ("本进程 {n} 次调用，{f} 次失败", "{n} attempts, {f} failed, in this process"),
    "auto_probe": ("自动探测", "Automatic probing"),
    "enable": ("启用", "Enable"),
    "disable": ("停用", "Disable"),
    "probing_turn_off": ("关闭自动探测", "Turn probing off"),
    "probing_turn_on": ("开启自动探测", "Turn probing on"),
    "test_model": ("测试模型", "Model to test"),
    "test": ("测试", "Test"),
    "test_ok": ("{model} 可用（{ms}）", "{model} answered ({ms})"),
    "test_answer": ("，回答：", ":"),
    "test_failed": ("{model} 失败（{ms}）：", "{model} failed ({ms}):"),
    "disable_note": ("在这里停用的供应商不再接收任何请求，直到在这里重新启用；停用时也会关闭自动探测。"
                     "因故障被自动停用的供应商则只在其他所有候选都失败时才会被尝试；自动探测只针对这类供应商："
                     "每个周期发送一次最小请求，成功即重新启用。",
                     "A provider disabled here gets no requests at all until it is enabled here again; "
                     "disabling also turns its automatic probing off. A provider disabled automatically "
                     "after failures is still tried when every other entry has failed, and automatic "
                     "probing concerns those: one minimal request per interval, and a success enables "
                     "the provider again."),
    "no_such_provider": ("没有这个供应商。", "There is no such provider."),
    # models
    "aliases": ("模型别名与回退链", "Aliases and their chains"),
    "aliases_hint": ("客户端发送的模型名 → 按顺序尝试的供应商/模型；同一行内的多个目标按权重负载均衡。",
                     "The model name a client sends → the provider/models tried in order; several "
                     "targets on one line are balanced by weight."),
    "alias": ("别名", "Alias"),
    "chain": ("回退链", "Chain"),
    "source": ("来源", "Source"),
    "source_config": ("配置文件", "config file"),
    "source_preset": ("内置预设", "built-in preset"),
    "or_balanced": ("或", "or"),
    "presets": ("内置预设", "Presets"),
    "presets_on": ("已开启 routing.presets：OpenAI 模型名按下表映射到已配置的供应商。",
                   "routing.presets is on: OpenAI model names map to the configured vendors as below."),
    "presets_off": ("未开启 routing.presets：只有配置文件 models: 中的别名生效。",
                    "routing.presets is off: only the aliases under models: in the config apply."),
    "openai_name": ("OpenAI 模型名", "OpenAI name"),
    "provider": ("供应商", "Provider"),
    "model": ("模型", "Model"),
    "why": ("理由", "Why"),
    "in_effect": ("生效", "In effect"),
    "overridden": ("被配置覆盖", "overridden by the config"),
    "catalog": ("模型目录与价格", "Catalog and prices"),
    "catalog_hint": ("已配置供应商类型的模型；价格为每百万 Token 的人民币价格（配置中的 pricing: 可覆盖）。",
                     "Models of the configured provider types; prices in CNY per million tokens "
                     "(the config's pricing: overrides them)."),
    "context": ("上下文", "Context"),
    "price_in": ("输入价", "Input"),
    "price_cached": ("缓存命中价", "Cached input"),
    "price_out": ("输出价", "Output"),
    "price_date": ("价格日期", "Price date"),
    "status": ("状态", "Status"),
    "current": ("在售", "current"),
    "retired_on": ("{date} 已下线", "retired {date}"),
    "retires_on": ("将于 {date} 下线", "retires {date}"),
    # keys
    "create_key": ("创建密钥", "Create a key"),
    "name": ("名称", "Name"),
    "models_allowed": ("允许的模型", "Models allowed"),
    "quota_tokens": ("Token 额度", "Token quota"),
    "quota_cny": ("金额额度（元）", "CNY quota"),
    "rpm": ("RPM", "RPM"),
    "tpm": ("TPM", "TPM"),
    "expires_at": ("过期时间", "Expires"),
    "cny": ("金额（元）", "CNY"),
    "create": ("创建", "Create"),
    "empty_unlimited": ("留空表示不限。模型用英文逗号分隔。",
                        "Leave empty for no limit. Separate models with commas."),
    "key_created": ("已创建密钥“{name}”", "Key '{name}' created"),
    "key_shown_once": ("请立即复制并妥善保存：此密钥只显示这一次。",
                       "Copy it now and keep it safe: this key is shown only this once."),
    "copy": ("复制", "Copy"),
    "all_keys": ("全部密钥", "All keys"),
    "id": ("ID", "ID"),
    "limits": ("速率限制", "Rate limits"),
    "quota": ("额度", "Quota"),
    "used": ("已用", "Used"),
    "remaining": ("剩余", "remaining"),
    "all_models": ("全部模型", "all models"),
    "master": ("主密钥", "master"),
    "active": ("有效", "active"),
    "revoked": ("已吊销", "revoked"),
    "expired": ("已过期", "expired"),
    "revoke": ("吊销", "Revoke"),
    "revoke_confirm": ("确定吊销密钥“{name}”吗？使用它的应用将立即无法访问。",
                       "Revoke the key '{name}'? Apps using it lose access at once."),
    "key_revoked": ("密钥已吊销。", "The key has been revoked."),
    "no_such_key": ("没有这个密钥。", "There is no such key."),
    "created_at": ("创建时间", "Created"),
    "its_requests": ("查看它的请求", "See its requests"),
    "grants": ("额度追加记录", "Grants"),
    "grants_hint": ("追加的额度计入该密钥的 Token 或金额额度；不限额的单位保持不限。",
                    "A grant adds to the key's token or CNY quota; a unit without a quota stays unlimited."),
    "note": ("备注", "Note"),
    "add_grant": ("追加额度", "Add a grant"),
    "grant_added": ("额度已追加。", "The grant has been added."),
    # usage
    "group_by": ("分组", "Group by"),
    "by_key": ("密钥", "Key"),
    "by_model": ("模型", "Model"),
    "by_provider": ("供应商", "Provider"),
    "by_day": ("日期", "Day"),
    "period": ("时间范围", "Period"),
    "export_csv": ("导出 CSV", "Export CSV"),
    "no_usage": ("这段时间没有请求。", "No requests in this period."),
    "unpriced": ("{n} 个请求的模型在目录中没有价格，按 0 元计。",
                 "{n} requests were to models the catalog has no price for (counted as 0 CNY)."),
    # logs
    "logs_hint": ("最近的请求（来自账本），最新的在前。从不记录提示词或回答。",
                  "The latest requests from the ledger, newest first. Prompts and answers are never kept."),
    "model_asked": ("模型（客户端所请求的）", "Model (as asked)"),
    "status_error": ("失败（≥ 400）", "Failed (≥ 400)"),
    "key": ("密钥", "Key"),
    "time": ("时间", "Time"),
    "request_id": ("请求 ID", "Request id"),
    "endpoint": ("接口", "Endpoint"),
    "upstream": ("上游", "Upstream"),
    "ttft": ("首字延迟（TTFT）", "Time to first token"),
    "cost": ("花费", "Cost"),
    "disconnected": ("断开", "Client left"),
    "estimated": ("本地估算的 Token 数", "token counts estimated locally"),
    "no_requests": ("没有符合条件的请求。", "No request matches."),
    "request": ("请求", "Request"),
    "streamed": ("流式", "streamed"),
    "cached_n": ("其中缓存命中 {n}", "{n} cached"),
    "unpriced_one": ("目录中没有价格", "no catalog price"),
    "no_prompts": ("banjia 不保存提示词和回答，这里只有计量信息。",
                   "banjia keeps no prompts or answers: only what was metered."),
    "no_such_request": ("账本中没有这个请求（可能还在进行中）。",
                        "The ledger has no such request (it may still be running)."),
    # playground
    "playground_hint": ("通过网关与任意模型名对话：别名、供应商/模型均可。请求计入主密钥的用量。",
                        "Chat with any model name through the gateway: an alias or provider/model. "
                        "The request counts as the master key's usage."),
    "system_prompt": ("系统提示词（可选）", "System prompt (optional)"),
    "message": ("消息", "Message"),
    "send": ("发送", "Send"),
    "new_chat": ("新对话", "New chat"),
    "sending": ("发送中…", "Sending…"),
    "you": ("你", "You"),
    "assistant": ("模型", "Assistant"),
    "served_by": ("上游", "Served by"),
}


def pick_lang(*candidates: str | None) -> str:
    """The first candidate that names a language the console speaks, else Chinese."""
    for c in candidates:
        if c:
            found = _ALIASES.get(c.strip().lower())
            if found is not None:
                return found
    return DEFAULT


class Translator:
    __slots__ = ("_i",)

    def __init__(self, lang: str) -> None:
        self._i = LANGS.index(lang) if lang in LANGS else 0

    def __call__(self, key: str) -> str:
        entry = STRINGS.get(key)
        return key if entry is None else entry[self._i]
