"""Config and JavaScript rewriting rules: the smallest edits, with the layout kept."""

from __future__ import annotations

import textwrap

import pytest

from banjia.migrate._rewrite_config import rewrite_env, rewrite_json, rewrite_toml, rewrite_yaml
from banjia.migrate._rewrite_js import rewrite_js
from banjia.migrate._rewrite_rules import Rules, gateway_url

RULES = Rules()


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


@pytest.mark.parametrize(("url", "moved"), [
    ("https://api.openai.com/v1", "http://127.0.0.1:8000/v1"),
    ("https://api.openai.com/v1/chat/completions", "http://127.0.0.1:8000/v1/chat/completions"),
    # a host alone: the app appends /v1/… itself, so the gateway's root (issue 16: /v1/v1)
    ("https://api.openai.com", "http://127.0.0.1:8000"),
    ("https://api.openai.com/", "http://127.0.0.1:8000/"),
    ("https://res.openai.azure.com/", "http://127.0.0.1:8000/v1/"),
    ("https://res.openai.azure.com/openai/deployments/gpt-4o/embeddings?api-version=2024-02-01",
     "http://127.0.0.1:8000/v1/embeddings"),
    ("wss://api.openai.com/v1/realtime", None),
    ("https://platform.openai.com/docs", None),
    ("https://api.deepseek.com/v1", None),
])
def test_gateway_url_keeps_the_api_path(url: str, moved: str | None) -> None:
    assert gateway_url(url, "http://127.0.0.1:8000/v1") == moved


def test_env_file_renames_legacy_variables_and_points_at_the_gateway() -> None:
    assert rewrite_env(dedent("""
        # settings
        export OPENAI_API_BASE="https://api.openai.com/v1"  # prod
        OPENAI_API_KEY=sk-1
        AZURE_OPENAI_API_KEY=abc
        OPENAI_API_TYPE=azure
        MODEL=gpt-35-turbo
    """), RULES) == dedent("""
        # settings
        export OPENAI_BASE_URL="http://127.0.0.1:8000/v1"  # prod
        OPENAI_API_KEY=sk-1
        AZURE_OPENAI_API_KEY=abc
        OPENAI_API_TYPE=openai
        MODEL=gpt-3.5-turbo
    """)


def test_env_file_gains_a_base_url_next_to_its_api_key() -> None:
    assert rewrite_env("LOG=1\nexport OPENAI_API_KEY=sk-1\nPORT=80", RULES) == (
        "LOG=1\nexport OPENAI_API_KEY=sk-1\nexport OPENAI_BASE_URL=http://127.0.0.1:8000/v1\n"
        "PORT=80")


def test_env_file_without_openai_settings_is_unchanged() -> None:
    assert rewrite_env("DEEPSEEK_API_KEY=sk\n", RULES) == "DEEPSEEK_API_KEY=sk\n"


def test_compose_environment_gains_a_base_url_in_either_form() -> None:
    assert rewrite_yaml(dedent("""
        services:
          api:
            image: app
            environment:
              - OPENAI_API_KEY=${AZURE_OPENAI_API_KEY}  # from the host
              - DEBUG=1
          worker:
            build: .
            environment:
              OPENAI_API_KEY: "${OPENAI_API_KEY}"
    """), RULES) == dedent("""
        services:
          api:
            image: app
            environment:
              - OPENAI_API_KEY=${OPENAI_API_KEY}  # from the host
              - OPENAI_BASE_URL=http://127.0.0.1:8000/v1
              - DEBUG=1
          worker:
            build: .
            environment:
              OPENAI_API_KEY: "${OPENAI_API_KEY}"
              OPENAI_BASE_URL: http://127.0.0.1:8000/v1
    """)


def test_kubernetes_env_gains_an_entry_after_the_api_key() -> None:
    assert rewrite_yaml(dedent("""
        containers:
          - name: app
            image: app:1
            env:
              - name: OPENAI_API_KEY
                valueFrom:
                  secretKeyRef: {name: llm, key: key}
              - name: AZURE_OPENAI_ENDPOINT
                value: "https://res.openai.azure.com/"
    """), RULES) == dedent("""
        containers:
          - name: app
            image: app:1
            env:
              - name: OPENAI_API_KEY
                valueFrom:
                  secretKeyRef: {name: llm, key: key}
              - name: OPENAI_BASE_URL
                value: "http://127.0.0.1:8000/v1"
    """)


def test_ci_environments_are_not_pointed_at_a_local_gateway() -> None:
    workflow = dedent("""
        jobs:
          test:
            runs-on: ubuntu-latest
            env:
              OPENAI_API_KEY: ${{ secrets.OPENAI_API_KEY }}
    """)
    assert rewrite_yaml(workflow, RULES) == workflow


def test_json_and_toml_values_move_in_place() -> None:
    assert rewrite_json('{"base": "https://api.openai.com/v1", // x\n "m": "gpt-4o"}', RULES) \
        == '{"base": "http://127.0.0.1:8000/v1", // x\n "m": "gpt-4o"}'
    assert rewrite_toml("[llm]\nbase = 'https://api.openai.com/v1'  # x\n", RULES) \
        == "[llm]\nbase = 'http://127.0.0.1:8000/v1'  # x\n"


def test_js_base_url_literals_templates_and_env_reads() -> None:
    assert rewrite_js(dedent("""
        const c = new OpenAI({ baseURL: "https://api.openai.com/v1" });
        const u = `https://api.openai.com/v1/${path}`;
        const k = process.env.AZURE_OPENAI_API_KEY;
        // see https://api.openai.com/v1
    """), "ts", RULES) == dedent("""
        const c = new OpenAI({ baseURL: "http://127.0.0.1:8000/v1" });
        const u = `http://127.0.0.1:8000/v1/${path}`;
        const k = process.env.OPENAI_API_KEY;
        // see https://api.openai.com/v1
    """)


def test_js_azure_client_becomes_an_openai_client() -> None:
    assert rewrite_js(dedent("""
        import { AzureOpenAI } from "openai";
        const c = new AzureOpenAI({ apiKey: k, endpoint: "https://r.openai.azure.com", v: 1 });
        const d = new AzureOpenAI({ apiKey: k, apiVersion: "2024-10-21" });
    """), "ts", RULES) == dedent("""
        import { OpenAI } from "openai";
        const c = new OpenAI({ apiKey: k, baseURL: "http://127.0.0.1:8000/v1", v: 1 });
        const d = new OpenAI({ apiKey: k });
    """)


def test_vercel_azure_provider_becomes_the_openai_provider() -> None:
    assert rewrite_js(dedent("""
        import { createAzure } from "@ai-sdk/azure";
        export const azure = createAzure({ resourceName: "contoso", apiKey: k });
    """), "ts", RULES) == dedent("""
        import { createOpenAI } from "@ai-sdk/openai";
        export const azure = createOpenAI({ baseURL: process.env.OPENAI_BASE_URL, apiKey: k });
    """)


def test_js_with_syntax_errors_is_left_alone() -> None:
    broken = 'const c = new OpenAI({ baseURL: "https://api.openai.com/v1" ;\n'
    assert rewrite_js(broken, "js", RULES) == broken
