"""What scan missed on real apps (issue 16; scan-rules.md, "Extensions (real apps, 2026-12)"),
each from a small reproduction."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from banjia.migrate.scan import scan
from tests.migrate.conftest import Triples

ScanText = Callable[[str, str], Triples]


# -- more files ----------------------------------------------------------------------------------
def test_notebook_code_cells_are_python_on_the_notebook_lines_that_store_them(
        tmp_path: Path) -> None:
    notebook = {"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["Uses gpt-4o at https://api.openai.com/v1"]},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": [
            "%pip install openai\n", "from openai import OpenAI\n", "client = OpenAI()\n",
            "r = client.chat.completions.create(model=\"gpt-4o\", messages=[])"]},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    text = json.dumps(notebook, indent=1)
    (tmp_path / "demo.ipynb").write_text(text)
    lines = text.splitlines()
    line_of = {s: next(i for i, line in enumerate(lines, 1) if s in line)
               for s in ("client = OpenAI()", "r = client.chat")}
    assert {(f.line, f.kind) for f in scan(tmp_path).findings} == {
        (line_of["client = OpenAI()"], "client"), (line_of["r = client.chat"], "call"),
        (line_of["r = client.chat"], "model")}


def test_dockerfile_env_and_arg_entries_are_config(scan_text: ScanText) -> None:
    assert scan_text("Dockerfile", """
        FROM python:3.11
        # OPENAI_API_KEY comes at run time
        ARG OPENAI_MODEL=gpt-4o-mini
        ENV OPENAI_BASE_URL=https://api.openai.com/v1 \\
            LOG=debug
        ENV OPENAI_ORG_ID org-1
        RUN echo OPENAI_API_KEY
    """) == {(3, "env"), (3, "model"), (4, "env"), (4, "endpoint"), (6, "env")}


def test_shell_assignments_exports_quoted_words_and_defaults(scan_text: ScanText) -> None:
    assert scan_text("run.sh", """
        #!/bin/sh
        # export OPENAI_API_KEY=sk-commented
        export OPENAI_API_KEY="$KEY"
        MODEL="${CHAT_MODEL:-gpt-4o}"
        curl -H "Authorization: Bearer $OPENAI_API_KEY" https://api.openai.com/v1/models
        python app.py --model 'gpt-4o-mini'
    """) == {(3, "env"), (4, "model"), (5, "env"), (5, "endpoint"), (6, "model")}


def test_vue_script_blocks_are_js_and_import_meta_env_counts(scan_text: ScanText) -> None:
    assert scan_text("Chat.vue", """
        <template><p>gpt-4o at https://api.openai.com/v1</p></template>
        <script setup lang="ts">
        import OpenAI from "openai";
        const client = new OpenAI({ apiKey: import.meta.env.VITE_OPENAI_API_KEY });
        const r = await client.chat.completions.create({ model: "gpt-4o", messages: [] });
        </script>
    """) == {(4, "client"), (4, "env"), (5, "call"), (5, "model")}


def test_terraform_names_keys_and_values(scan_text: ScanText) -> None:
    assert scan_text("main.tf", """
        variable "openai_api_key" {
          type = string
        }
        # OPENAI_BASE_URL in a comment
        resource "kubernetes_secret" "llm" {
          data = {
            OPENAI_API_KEY = var.openai_api_key
            endpoint       = "https://contoso.openai.azure.com/"
          }
        }
    """) == {(1, "env"), (7, "env"), (8, "endpoint")}


def test_example_env_and_star_env_files_are_dotenv(tmp_path: Path) -> None:
    (tmp_path / "example.env").write_text("OPENAI_API_KEY=sk-1\n")
    (tmp_path / "prod.env").write_text("# OPENAI_MODEL=x\nCHAT_MODEL=gpt-4o\n")
    assert {(f.path, f.line, f.kind) for f in scan(tmp_path).findings} == {
        ("example.env", 1, "env"), ("prod.env", 2, "model")}


def test_ini_entries_but_not_section_headers(scan_text: ScanText) -> None:
    assert scan_text("settings.ini", """
        [openai]
        ; openai_api_key = commented
        openai_api_key = sk-1
        model = gpt-4o
        base: https://api.openai.com/v1
    """) == {(3, "env"), (4, "model"), (5, "endpoint")}


def test_a_dotenv_named_file_that_holds_yaml_is_read_as_yaml(tmp_path: Path) -> None:
    (tmp_path / ".env.gcp.yaml.example").write_text(
        "OPENAI_API_KEY: sk-1\nOPENAI_MODEL: gpt-4o\nother:\n  url: https://api.openai.com/v1\n")
    (tmp_path / ".env.staging").write_text(
        "OPENAI_API_KEY: sk-1\nnested:\n  model: gpt-4o-mini\n")
    report = scan(tmp_path)
    assert report.skipped == []
    assert {(f.path, f.line, f.kind) for f in report.findings} == {
        (".env.gcp.yaml.example", 1, "env"), (".env.gcp.yaml.example", 2, "env"),
        (".env.gcp.yaml.example", 2, "model"), (".env.gcp.yaml.example", 4, "endpoint"),
        (".env.staging", 1, "env"), (".env.staging", 3, "model")}


# -- raw HTTP through URLs built at run time ----------------------------------------------------
def test_python_requests_to_a_url_built_from_a_base_and_an_api_path(scan_text: ScanText) -> None:
    assert scan_text("relay.py", """
        import requests, httpx, urllib.request
        DEFAULT_API_BASE = "https://api.openai.com/v1"
        class Bot:
            def __init__(self, api_base=None):
                self.api_base = api_base or DEFAULT_API_BASE
            def ask(self, body):
                url = f"{self.api_base}/chat/completions"
                return requests.post(url, json=body)
        def relay(base, body):
            httpx.post(base + "/v1/embeddings", json=body)
            req = urllib.request.Request(f"{base}/openai/deployments/{dep}/chat/completions")
            return requests.post(f"{base}/api/session", json=body)
        def own(body):
            return requests.post("/v1/chat/completions", json=body)
    """) == {(2, "endpoint"), (8, "call"), (10, "call"), (11, "call")}


def test_js_fetch_and_fetch_wrappers_to_an_appended_api_path(scan_text: ScanText) -> None:
    assert scan_text("api.mjs", """
        export async function ask(apiUrl, options) {
          await fetchSSE(`${apiUrl}/v1/completions`, { method: "POST" });
          const url = `${apiUrl}/chat/completions`;
          await options.fetch(url, { method: "POST" });
          await fetch(`${apiUrl}/api/session`);
          await fetch("/api/chat/completions");
        }
    """) == {(2, "call"), (4, "call")}


# -- more client forms -------------------------------------------------------------------------
def test_the_chatgpt_packages_client_and_its_send_message(scan_text: ScanText) -> None:
    assert scan_text("chat.ts", """
        import { ChatGPTAPI } from "chatgpt";
        let api: ChatGPTAPI;
        api = new ChatGPTAPI({ apiKey: key });
        const reply = await api.sendMessage(text, { parentMessageId });
        other.sendMessage(text);
    """) == {(3, "client"), (4, "call")}


def test_ai_sdk_calls_with_an_openai_model_are_calls(scan_text: ScanText) -> None:
    assert scan_text("actions.tsx", """
        import { openai } from "@ai-sdk/openai";
        import { anthropic } from "@ai-sdk/anthropic";
        import { streamText, generateText } from "ai";
        import { streamUI } from "ai/rsc";
        const a = streamText({ model: openai("gpt-4o"), messages });
        const b = await streamUI({ model: openai.chat(m), tools: { x } });
        const c = await generateText({ model: anthropic("claude-3-5-haiku-latest"), prompt });
    """) == {(5, "call"), (5, "client"), (5, "model"), (6, "call"), (6, "client")}


def test_langchain_wrappers_used_as_values_and_init_chat_model_are_clients(
        scan_text: ScanText) -> None:
    assert scan_text("llms.py", """
        from langchain_openai import ChatOpenAI
        from langchain.chat_models import init_chat_model
        REGISTRY = {"openai": ChatOpenAI}
        def make(cls=ChatOpenAI, **kw) -> ChatOpenAI:
            return cls(**kw)
        m = init_chat_model("gpt-4o", model_provider="openai")
        ok = isinstance(m, ChatOpenAI)
    """) == {(3, "client"), (4, "client"), (6, "client"), (6, "model")}


def test_every_sdk_method_of_assistants_threads_files_and_vector_stores(
        scan_text: ScanText) -> None:
    assert scan_text("assistants.py", """
        from openai import OpenAI
        client = OpenAI()
        client.beta.assistants.retrieve("asst_1")
        client.beta.threads.messages.list("thread_1")
        client.beta.threads.runs.submit_tool_outputs(run_id="r", thread_id="t", tool_outputs=[])
        client.files.delete("file_1")
        client.vector_stores.files.list("vs_1")
        store.files.list()
    """) == {(2, "client"), (3, "call"), (4, "call"), (5, "call"), (6, "call"), (7, "call")}


def test_other_vendors_openai_shaped_sdks_are_not_clients_or_calls(scan_text: ScanText) -> None:
    assert scan_text("vendors.py", """
        from zai import ZhipuAiClient
        from volcenginesdkarkruntime import Ark
        glm = ZhipuAiClient(api_key="x")
        ark = Ark(api_key="y")
        glm.chat.completions.create(model="glm-4.5", messages=[])
        ark.chat.completions.create(model="doubao-pro-32k", messages=[])
    """) == set()


def test_a_dict_lookup_or_comparison_on_an_openai_url_is_an_endpoint_not_a_call(
        scan_text: ScanText) -> None:
    assert scan_text("prices.py", """
        PRICES = {"https://api.openai.com/v1/chat/completions": 1}
        p = PRICES.get("https://api.openai.com/v1/chat/completions")
        q = table.get("https://api.openai.com/v1/embeddings", 0)
        same = url == "https://api.openai.com/v1/chat/completions"
    """) == {(1, "endpoint"), (2, "endpoint"), (3, "endpoint"), (4, "endpoint")}
