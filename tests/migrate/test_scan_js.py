"""JavaScript and TypeScript sources, read with the tree-sitter grammars."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from banjia.migrate.scan import Finding, scan
from tests.migrate.conftest import Triples

ScanText = Callable[[str, str], Triples]


def test_openai_node_client_call_and_env(scan_text: ScanText) -> None:
    assert scan_text("index.ts", """
        import OpenAI from "openai";
        const client = new OpenAI({
          apiKey: process.env.OPENAI_API_KEY,
          baseURL: "https://api.openai.com/v1",
        });
        const r = await client.chat.completions.create({ model: "gpt-4o-mini", messages });
    """) == {(2, "client"), (3, "env"), (4, "endpoint"), (6, "call"), (6, "model")}


def test_a_default_import_under_another_name_is_still_the_client(scan_text: ScanText) -> None:
    assert scan_text("a.mjs", """
        import OAI from "openai";
        export const c = new OAI();
    """) == {(2, "client")}


def test_with_options_and_a_chain_split_over_lines(scan_text: ScanText) -> None:
    assert scan_text("a.js", """
        const r = await client
          .withOptions({ maxRetries: 1 })
          .embeddings.create({ input: "x", model });
    """) == {(2, "client"), (3, "call")}


def test_v3_configuration_counts_only_when_imported_from_openai(scan_text: ScanText) -> None:
    assert scan_text("v3.js", """
        const { Configuration, OpenAIApi } = require("openai");
        const api = new OpenAIApi(new Configuration({ apiKey: process.env["OPENAI_API_KEY"] }));
        api.createChatCompletion({ model: "gpt-3.5-turbo", messages, n: 2 });
    """) == {(2, "client"), (2, "env"), (3, "call"), (3, "model")}
    assert scan_text("settings.js", """
        const { Configuration } = require("./settings");
        const c = new Configuration({ region: "eu" });
    """) == set()


def test_vercel_ai_sdk_factories_and_the_default_provider_are_clients(
        scan_text: ScanText) -> None:
    # the default `openai` provider is a client where it is used; a provider the app made
    # itself with createOpenAI counts once, where it is made (scan-rules.md, extension 3)
    assert scan_text("route.ts", """
        import { createOpenAI, openai } from "@ai-sdk/openai";
        const gw = createOpenAI({ baseURL: process.env.OPENAI_BASE_URL });
        const m = openai("gpt-4o");
        const e = openai.embedding("text-embedding-3-small");
        const g = gw("gpt-4o-mini");
    """) == {(2, "client"), (2, "env"), (3, "client"), (3, "model"), (4, "client"), (4, "model"),
             (5, "model")}


def test_fetch_and_axios_to_openai_are_calls(scan_text: ScanText) -> None:
    assert scan_text("api.ts", """
        const BASE = "https://api.openai.com/v1";
        await fetch(`${BASE}/chat/completions`, { method: "POST" });
        await axios.post(BASE + "/embeddings", { input: "x" });
        await fetch("/api/chat", { method: "POST" });
        await axios.post(url, body);
        JSON.parse(text);
    """) == {(1, "endpoint"), (2, "call"), (3, "call")}


def test_fetch_reports_features_from_its_json_body(
        scan_findings: Callable[[str, str], list[Finding]]) -> None:
    findings = scan_findings("api.js", """
        fetch("https://api.openai.com/v1/chat/completions", {
          body: JSON.stringify({ model: m, stream: true, tools: [] }),
        });
    """)
    call = next(f for f in findings if f.kind == "call")
    assert call.features == ("streaming", "tools")


def test_comments_and_jsdoc_are_not_findings(scan_text: ScanText) -> None:
    assert scan_text("a.ts", """
        /**
         * Uses gpt-4o via https://api.openai.com/v1 and OPENAI_API_KEY.
         */
        // const c = new OpenAI();
        /* client.chat.completions.create({ model: "gpt-4o" }) */
        export const title = "Built with gpt-4o";
    """) == set()


def test_jsx_attribute_literals_count_but_jsx_text_does_not(scan_text: ScanText) -> None:
    assert scan_text("Chat.tsx", """
        export const Chat = () => (
          <div data-model="gpt-4o">
            <p>Powered by gpt-4o</p>
          </div>
        );
    """) == {(2, "model")}


def test_other_vendors_sdks_are_not_calls(scan_text: ScanText) -> None:
    assert scan_text("claude.mjs", """
        import Anthropic from "@anthropic-ai/sdk";
        const anthropic = new Anthropic();
        await anthropic.models.list();
        await anthropic.messages.create({ model: "claude-3-5-haiku-latest", messages });
    """) == set()


def test_process_env_reads_name_variables_in_every_form(scan_text: ScanText) -> None:
    assert scan_text("env.ts", """
        const { OPENAI_API_KEY, PORT } = process.env;
        const org = process.env["OPENAI_ORG_ID"];
        const m = import.meta.env.VITE_OPENAI_MODEL;
        const other = process.env.DEEPSEEK_API_KEY;
        const config = { OPENAI_API_KEY };
    """) == {(1, "env"), (2, "env"), (3, "env")}


def test_a_file_with_syntax_errors_is_still_read_and_flagged(tmp_path: Path) -> None:
    (tmp_path / "broken.js").write_text('const c = new OpenAI({ model: "gpt-4o" ;\n')
    report = scan(tmp_path)
    assert report.recovered == ["broken.js"]
    assert {(f.line, f.kind) for f in report.findings} >= {(1, "model")}


def test_v3_method_names_count_only_in_files_using_the_sdk(scan_text: ScanText) -> None:
    assert scan_text("orders.js", """
        const orders = require("./orders");
        orders.createCompletion({ id: 1 });
    """) == set()
