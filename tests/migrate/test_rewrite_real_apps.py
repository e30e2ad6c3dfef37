"""What rewrite broke on real apps (issue 16), each from a small reproduction: the result parses,
runs on openai>=1 where that can be told without a server, and a second rewrite changes nothing."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import httpx
import openai
import pytest

from banjia.migrate._rewrite_js import rewrite_js
from banjia.migrate._rewrite_python import rewrite_python
from banjia.migrate._rewrite_rules import Rules
from banjia.migrate._scan_js import parse_js
from banjia.migrate.rewrite import main_rewrite, plan

RULES = Rules()


def py(source: str) -> str:
    new = rewrite_python(textwrap.dedent(source).lstrip("\n"), RULES)
    ast.parse(new)
    assert rewrite_python(new, RULES) == new  # a second run changes nothing
    return new


def files(tmp_path: Path, **contents: str) -> dict[str, str]:
    """Writes the files (``__`` in a name stands for ``/``) and returns the planned changes."""
    for name, text in contents.items():
        path = tmp_path / name.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return {c.path: c.new for c in plan(tmp_path)}


# -- openai<1 → openai>=1 ------------------------------------------------------------------------
def test_import_openai_error_goes_and_the_v0_pin_is_lifted(tmp_path: Path) -> None:
    changes = files(tmp_path, **{
        "bot.py": """
            import openai.error
            def ask(q):
                try:
                    return openai.ChatCompletion.create(model="gpt-4o", messages=[])
                except openai.error.RateLimitError:
                    return None
        """,
        "requirements.txt": "openai==0.27.8\nrequests>=2\n",
    })
    assert changes["requirements.txt"] == "openai>=1.17\nrequests>=2\n"
    assert changes["bot.py"].startswith("import openai\n")
    assert "openai.error" not in changes["bot.py"]
    ns: dict[str, object] = {}
    exec(compile(changes["bot.py"], "bot.py", "exec"), ns)  # imports on openai>=1


def test_v0_stream_loops_read_chunks_as_objects() -> None:
    new = py("""
        import openai
        def ask(q):
            response = openai.ChatCompletion.create(model="gpt-4o", messages=[], stream=True)
            text = ""
            for chunk in response:
                delta = chunk["choices"][0]["delta"]
                if "content" in delta:
                    text += delta["content"]
                if chunk["choices"][0]["finish_reason"] == "stop":
                    break
            return text
    """)
    assert "delta = chunk.choices[0].delta" in new
    assert "if delta.content is not None:" in new and "text += delta.content" in new
    assert 'chunk.choices[0].finish_reason == "stop"' in new


def test_v0_only_keys_of_spread_kwargs_dicts_follow_the_call() -> None:
    new = py("""
        import openai
        class Bot:
            def __init__(self):
                self.args = {"model": "gpt-4o", "request_timeout": 30, "api_type": "azure"}
            def azure(self):
                self.args["deployment_id"] = "chat-prod"
            def reply(self, messages, args=None):
                if args is None:
                    args = self.args
                return openai.ChatCompletion.create(messages=messages, **args)
    """)
    assert 'self.args = {"model": "gpt-4o", "timeout": 30}' in new
    assert 'self.args["model"] = "chat-prod"' in new


def test_openai_proxy_becomes_an_http_client_with_that_proxy() -> None:
    new = py("""
        import openai
        openai.proxy = "http://127.0.0.1:7890"
    """)
    assert new == ('import openai\n'
                   'openai.http_client = openai.DefaultHttpxClient(proxy="http://127.0.0.1:7890")\n')


def test_v0_exceptions_raised_with_a_message_get_v1_signatures() -> None:
    new = py("""
        import openai
        import openai.error
        def check():
            raise openai.error.RateLimitError("RateLimitError: rate limit exceeded")
    """)
    ns: dict[str, object] = {}
    exec(compile(new, "bot.py", "exec"), ns)
    with pytest.raises(openai.RateLimitError) as caught:
        ns["check"]()  # type: ignore[operator]
    assert caught.value.status_code == 429
    assert isinstance(caught.value.response, httpx.Response)
    assert str(caught.value) == "RateLimitError: rate limit exceeded"


# -- base URLs -----------------------------------------------------------------------------------
def test_a_host_only_base_url_that_the_app_appends_v1_to_gets_the_gateway_root(
        tmp_path: Path) -> None:
    changes = files(tmp_path, **{
        "src__chat.ts": """
            const BASE = process.env.OPENAI_API_BASE_URL ?? "https://api.openai.com";
            export const ask = (body: string) =>
              fetch(`${BASE}/v1/chat/completions`, { method: "POST", body });
        """,
        "deploy.yaml": "env:\n  - name: OPENAI_API_BASE_URL\n    value: https://api.openai.com\n",
    })
    assert '?? "http://127.0.0.1:8000";' in changes["src/chat.ts"]
    assert "value: http://127.0.0.1:8000\n" in changes["deploy.yaml"]  # not …/v1/v1/chat/…


# -- JavaScript objects ----------------------------------------------------------------------------
@pytest.mark.parametrize(("before", "after"), [
    ('new AzureOpenAI({ apiVersion: "v", deployment: "d" })', "new OpenAI({})"),
    ('new AzureOpenAI({ apiKey: k, apiVersion: "v", deployment: "d" })', "new OpenAI({ apiKey: k })"),
    ('new AzureOpenAI({ apiVersion: "v", apiKey: k, deployment: "d", })',
     "new OpenAI({ apiKey: k, })"),
])
def test_removing_the_last_properties_of_a_one_line_object_leaves_it_well_formed(
        before: str, after: str) -> None:
    source = f'import {{ AzureOpenAI }} from "openai";\nconst c = {before};\n'
    new = rewrite_js(source, "ts", RULES)
    assert f"const c = {after};" in new
    assert not parse_js(new.encode(), "ts").root_node.has_error


# -- strings that are data -----------------------------------------------------------------------
def test_python_strings_used_as_data_keep_their_text() -> None:
    source = """
        import os
        from enum import Enum
        class Setting(str, Enum):
            ENDPOINT = "AZURE_OPENAI_ENDPOINT"
        CONTEXT = {"gpt-35-turbo": 4096, "https://api.openai.com/v1": "openai"}
        def limit(model, url):
            if model == "gpt-35-turbo" or model in ["gpt-35-turbo-16k"]:
                return CONTEXT.get("gpt-35-turbo")
            return CONTEXT["https://api.openai.com/v1"] if url != "https://api.openai.com/v1" else 0
        key = os.environ["AZURE_OPENAI_API_KEY"]
    """
    new = py(source)
    assert new == textwrap.dedent(source).lstrip("\n").replace(
        'os.environ["AZURE_OPENAI_API_KEY"]', 'os.environ["OPENAI_API_KEY"]')


def test_typescript_strings_used_as_data_keep_their_text() -> None:
    source = textwrap.dedent("""
        enum Key { Endpoint = "AZURE_OPENAI_ENDPOINT" }
        type Name = "AZURE_OPENAI_API_KEY" | "OPENAI_API_KEY";
        const LIMITS: Record<string, number> = { "gpt-35-turbo": 4096 };
        const hosts = new Map([["https://api.openai.com/v1", 1]]);
        export const known = (u: string, m: string) =>
          u === "https://api.openai.com/v1" || hosts.get("https://api.openai.com/v1") ||
          ["gpt-35-turbo"].includes(m) || LIMITS["gpt-35-turbo"];
    """).lstrip("\n")
    assert rewrite_js(source, "ts", Rules(model_map={"gpt-35-turbo": "qwen-plus"})) == source


# -- OPENAI_BASE_URL only where something reads it -------------------------------------------------
def test_an_app_reading_its_own_base_url_variable_gets_that_variable_not_openai_base_url(
        tmp_path: Path) -> None:
    changes = files(tmp_path, **{
        "service__index.ts": """
            import { ChatGPTAPI } from "chatgpt";
            const base = process.env.OPENAI_API_BASE_URL;
            export const api = new ChatGPTAPI({ apiKey: process.env.OPENAI_API_KEY,
                                                apiBaseUrl: `${base}/v1` });
        """,
        "service__.env": "OPENAI_API_KEY=sk-1\nOPENAI_API_BASE_URL=\n",
    })
    assert changes == {"service/.env": "OPENAI_API_KEY=sk-1\nOPENAI_API_BASE_URL=http://127.0.0.1:8000\n"}


def test_an_old_ai_sdk_gets_no_openai_base_url_and_the_hint_says_why(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    changes = files(tmp_path, **{
        "route.ts": """
            import { openai } from "@ai-sdk/openai";
            import { streamText } from "ai";
            export const POST = () => streamText({ model: openai("gpt-4o"), prompt: "hi" });
        """,
        ".env.example": "OPENAI_API_KEY=\n",
        "package.json": '{"dependencies": {"@ai-sdk/openai": "^0.0.9", "ai": "^3.1.0"}}',
    })
    assert changes == {}
    assert main_rewrite(str(tmp_path)) == 0
    err = capsys.readouterr().err
    assert "@ai-sdk/openai ^0.0.9 ignores OPENAI_BASE_URL" in err
    assert "createOpenAI({ baseURL: process.env.OPENAI_BASE_URL })" in err


def test_an_app_reading_openai_api_base_itself_keeps_it_and_the_hint_names_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "app.ts").write_text(
        'const base = process.env.OPENAI_API_BASE ?? "https://api.openai.com/v1";\n'
        'await fetch(`${base}/chat/completions`, { method: "POST" });\n')
    (tmp_path / ".env").write_text("OPENAI_API_KEY=sk-1\n")
    assert main_rewrite(str(tmp_path), apply=True) == 0
    err = capsys.readouterr().err
    assert (tmp_path / ".env").read_text() == "OPENAI_API_KEY=sk-1\n"  # nothing reads OPENAI_BASE_URL
    assert "process.env.OPENAI_API_BASE ??" in (tmp_path / "app.ts").read_text()
    assert ("reads its OpenAI base URL from OPENAI_API_BASE, not OPENAI_BASE_URL: set "
            "OPENAI_API_BASE=http://127.0.0.1:8000/v1") in " ".join(err.split())


# -- the new file types ----------------------------------------------------------------------------
def test_notebooks_vue_files_and_dockerfiles_are_rewritten_in_place(tmp_path: Path) -> None:
    import json

    notebook = {"cells": [{"cell_type": "code", "metadata": {}, "outputs": [],
                           "execution_count": None, "source": [
                               "%pip install openai\n", "import openai\n",
                               "openai.api_base = \"https://api.openai.com/v1\"\n",
                               "r = openai.ChatCompletion.create(model=\"gpt-4o\", messages=[])"]}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    changes = files(tmp_path, **{
        "demo.ipynb": json.dumps(notebook, indent=1),
        "Chat.vue": """
            <template><p>https://api.openai.com/v1</p></template>
            <script setup lang="ts">
            const base = "https://api.openai.com/v1";
            </script>
        """,
        "Dockerfile": "FROM node:20\n# https://api.openai.com/v1\nENV OPENAI_BASE_URL=https://api.openai.com/v1\n",
    })
    cells = json.loads(changes["demo.ipynb"])["cells"][0]["source"]
    assert cells == ["%pip install openai\n", "import openai\n",
                     'openai.base_url = "http://127.0.0.1:8000/v1/"\n',
                     'r = openai.chat.completions.create(model="gpt-4o", messages=[])']
    assert '<p>https://api.openai.com/v1</p>' in changes["Chat.vue"]  # the template is prose
    assert 'const base = "http://127.0.0.1:8000/v1";' in changes["Chat.vue"]
    assert changes["Dockerfile"] == ("FROM node:20\n# https://api.openai.com/v1\n"
                                     "ENV OPENAI_BASE_URL=http://127.0.0.1:8000/v1\n")
    for name, text in changes.items():
        (tmp_path / name).write_text(text)
    assert plan(tmp_path) == []
