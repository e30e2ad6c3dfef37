"""Python sources: what scan-rules.md counts, and the look-alikes it does not."""

from __future__ import annotations

from collections.abc import Callable

from banjia.migrate.scan import Finding
from tests.migrate.conftest import Triples

ScanText = Callable[[str, str], Triples]


def test_client_constructor_and_api_call(scan_text: ScanText) -> None:
    assert scan_text("app.py", """
        from openai import OpenAI
        client = OpenAI()
        resp = client.chat.completions.create(
            model="gpt-4o",
            messages=[],
        )
    """) == {(2, "client"), (3, "call"), (4, "model")}


def test_a_chain_split_over_lines_reports_each_part_on_its_own_line(scan_text: ScanText) -> None:
    assert scan_text("app.py", """
        resp = (
            client.with_options(max_retries=5)
            .chat.completions.create(model=MODEL)
        )
    """) == {(2, "client"), (3, "call")}


def test_with_options_chained_on_one_line_is_client_and_call(scan_text: ScanText) -> None:
    assert scan_text("app.py", """
        r = client.with_options(timeout=5).embeddings.create(input="x", model=m)
    """) == {(1, "client"), (1, "call")}


def test_legacy_module_settings_and_calls(scan_text: ScanText) -> None:
    assert scan_text("bot.py", """
        import openai
        openai.api_key = os.getenv("OPENAI_API_KEY")
        openai.api_base = os.getenv("OPENAI_API_BASE", "https://api.openai.com/v1")
        r = openai.ChatCompletion.create(engine="gpt-35-turbo", messages=[])
        e = await openai.Embedding.acreate(input=["x"], engine="chat-prod")
    """) == {(2, "client"), (2, "env"), (3, "client"), (3, "env"), (3, "endpoint"),
             (4, "call"), (4, "model"), (5, "call")}


def test_import_aliases_are_followed(scan_text: ScanText) -> None:
    assert scan_text("app.py", """
        import openai as oa
        from openai import AsyncOpenAI as Client
        oa.organization = "org-1"
        c = Client()
        d = oa.OpenAI()
    """) == {(3, "client"), (4, "client"), (5, "client")}


def test_wrappers_from_langchain_and_llamaindex_are_clients(scan_text: ScanText) -> None:
    assert scan_text("app.py", """
        from langchain_openai import AzureChatOpenAI, OpenAIEmbeddings
        from llama_index.llms.openai import OpenAI
        a = AzureChatOpenAI(azure_deployment="chat-prod")
        b = OpenAIEmbeddings()
        c = OpenAI(model="o3-mini")
    """) == {(3, "client"), (4, "client"), (5, "client"), (5, "model")}


def test_docstrings_and_comments_are_not_findings(scan_text: ScanText) -> None:
    assert scan_text("app.py", '''
        """Talks to gpt-4o at https://api.openai.com/v1 with OPENAI_API_KEY."""

        def ask():
            """gpt-4o"""
            # client.chat.completions.create(model="gpt-4o")
            return "Powered by gpt-4o"
    ''') == set()


def test_a_model_name_inside_a_longer_string_is_not_a_model(scan_text: ScanText) -> None:
    assert scan_text("app.py", """
        banner = f"Using gpt-4o for {user}"
        models = ["gpt-4o", "deepseek-chat", "claude-3-haiku", "chat-prod"]
        voice = "alloy"
    """) == {(2, "model")}


def test_model_names_count_as_dict_keys_defaults_and_test_literals(scan_text: ScanText) -> None:
    assert scan_text("test_prices.py", """
        PRICES = {
            "gpt-4o-mini": 0.15,
            "text-embedding-3-small": 0.02,
        }
        def price(model="ft:gpt-4o-mini-2024-07-18:acme::abc"):
            assert PRICES["whisper-1"] == 0
    """) == {(2, "model"), (3, "model"), (5, "model"), (6, "model")}


def test_env_names_in_code_but_not_identifiers(scan_text: ScanText) -> None:
    assert scan_text("settings.py", """
        key = os.environ["OPENAI_API_KEY"]
        header = f"Bearer {os.environ['AZURE_OPENAI_API_KEY']}"
        openai_api_key: str = ""
        OPENAI_URL = None
        other = os.getenv("DEEPSEEK_API_KEY")
    """) == {(1, "env"), (2, "env")}


def test_other_vendors_sdks_are_not_findings(scan_text: ScanText) -> None:
    assert scan_text("vendors.py", """
        import anthropic
        import stripe
        from zhipuai import ZhipuAI
        stripe.api_key = "sk_live"
        claude = anthropic.Anthropic()
        glm = ZhipuAI(api_key="x")
        claude.models.list()
        claude.messages.create(model="claude-3-5-sonnet-latest", messages=[])
        glm.chat.completions.create(model="glm-4", messages=[])
        stripe.Refund.create(charge="ch_1")
        slow = claude.with_options(timeout=60)
    """) == set()


def test_a_name_bound_to_openai_somewhere_is_not_foreign(scan_text: ScanText) -> None:
    assert scan_text("two.py", """
        class A:
            def __init__(self):
                self.client = anthropic.Anthropic()
        class B:
            def __init__(self):
                self.client = OpenAI()
            def ask(self):
                return self.client.models.list()
    """) == {(6, "client"), (8, "call")}


def test_unrelated_create_functions_and_annotations_are_not_findings(scan_text: ScanText) -> None:
    assert scan_text("store.py", """
        from openai import AsyncOpenAI, OpenAI, RateLimitError
        def create(title): ...
        def handle(client: OpenAI | AsyncOpenAI) -> OpenAI:
            store.create(title="x")
            Ticket.objects.create(title="y")
            drive.files().create(body={})
            try:
                pass
            except RateLimitError:
                raise openai.APIError("boom")
    """) == set()


def test_raw_http_calls_to_openai_urls(scan_text: ScanText) -> None:
    assert scan_text("raw.py", """
        BASE = os.getenv("OPENAI_BASE", "https://api.openai.com/v1")
        requests.post(f"{BASE}/chat/completions", json={"stream": True})
        httpx.post("https://api.openai.com/v1/embeddings", json={})
        session.request("POST", BASE + "/responses")
        requests.post("https://hooks.slack.com/x", json={})
        client.post("/v1/chat/completions")
    """) == {(1, "env"), (1, "endpoint"), (2, "call"), (3, "call"), (3, "endpoint"),
             (4, "call")}


def test_a_url_passed_in_as_a_parameter_is_not_a_call(scan_text: ScanText) -> None:
    assert scan_text("raw.py", """
        def forward(url, payload):
            return requests.post(url, json=payload)
        def openai_chat():
            url = "https://api.openai.com/v1/chat/completions"
            return requests.post(url, json={})
    """) == {(4, "endpoint"), (5, "call")}


def test_endpoints_include_azure_hosts_and_f_string_hosts(scan_text: ScanText) -> None:
    assert scan_text("urls.py", """
        a = "https://contoso.openai.azure.com/"
        b = f"https://{resource}.openai.azure.com/openai/deployments/{name}"
        c = "wss://api.openai.com/v1/realtime"
        d = "https://platform.openai.com/api-keys"
        e = "/v1/chat/completions"
        f = "https://api.deepseek.com"
    """) == {(1, "endpoint"), (2, "endpoint"), (3, "endpoint")}


def test_raw_http_call_detail_names_the_full_url(
        scan_findings: Callable[[str, str], list[Finding]]) -> None:
    findings = scan_findings("raw.py", """
        BASE = "https://api.openai.com/v1"
        r = requests.post(f"{BASE}/embeddings", json={"model": "m"})
    """)
    call = next(f for f in findings if f.kind == "call")
    assert call.detail == "requests.post https://api.openai.com/v1/embeddings"
    assert call.features == ("embeddings",)


def test_with_options_of_a_mongodb_collection_is_not_a_client(scan_text: ScanText) -> None:
    assert scan_text("sessions.py", """
        from pymongo import ReadPreference
        sessions = db.sessions.with_options(read_preference=ReadPreference.PRIMARY)
    """) == set()


def test_a_mapping_lookup_keyed_by_an_openai_url_is_not_a_call(scan_text: ScanText) -> None:
    assert scan_text("claims.py", """
        NAMESPACE = "https://api.openai.com/auth"
        auth = claims.get(NAMESPACE) or {}
    """) == {(1, "endpoint")}
