"""Config files: .env, YAML (compose, Kubernetes, CI), TOML and JSON."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from banjia.migrate.scan import scan
from tests.migrate.conftest import Triples

ScanText = Callable[[str, str], Triples]


def test_env_file_keys_values_and_comments(scan_text: ScanText) -> None:
    assert scan_text(".env.production", """
        # OPENAI_API_KEY=commented-out
        OPENAI_API_KEY=sk-1
        export OPENAI_API_BASE="https://api.openai.com/v1"
        CHAT_MODEL=gpt-4o-mini  # the cheap one
        KEY_NAME=OPENAI_API_KEY
        openai_org = org-1
        PROMPT="Answer like gpt-4o"
        DEEPSEEK_API_KEY=sk-2
    """) == {(2, "env"), (3, "env"), (3, "endpoint"), (4, "model"), (5, "env"), (6, "env")}


def test_compose_environment_in_list_and_mapping_form(scan_text: ScanText) -> None:
    assert scan_text("docker-compose.yml", """
        services:
          api:
            environment:
              - OPENAI_API_KEY=${OPENAI_API_KEY}
              - MODEL=gpt-4o
          worker:
            environment:
              OPENAI_BASE_URL: https://api.openai.com/v1
              QUEUE: jobs
    """) == {(4, "env"), (5, "model"), (8, "env"), (8, "endpoint")}


def test_kubernetes_env_entries_and_secrets(scan_text: ScanText) -> None:
    assert scan_text("deploy.yaml", """
        env:
          - name: OPENAI_API_KEY
            valueFrom:
              secretKeyRef: {name: openai-secret, key: OPENAI_API_KEY}
          - name: MODEL
            value: o3-mini
        ---
        kind: Secret
        stringData:
          AZURE_OPENAI_API_KEY: abc
    """) == {(2, "env"), (4, "env"), (6, "model"), (10, "env")}


def test_section_headers_are_not_settings(scan_text: ScanText) -> None:
    assert scan_text("config.yaml", """
        openai:
          model: gpt-4o
        openai_settings:
          retries: 3
    """) == {(2, "model")}


def test_a_multi_line_script_reports_each_line(scan_text: ScanText) -> None:
    assert scan_text(".github/workflows/ci.yml", """
        jobs:
          smoke:
            steps:
              - run: |
                  echo start
                  curl https://api.openai.com/v1/models -H "Authorization: Bearer $OPENAI_API_KEY"
    """) == {(6, "endpoint"), (6, "env")}


def test_toml_values_keys_and_dependency_tables(scan_text: ScanText) -> None:
    assert scan_text("pyproject.toml", """
        [project]
        dependencies = ["openai>=1.40"]

        [tool.poetry.dependencies]
        openai = "^1.40"

        [tool.app]
        openai_api_base = "https://api.openai.com/v1"  # the default
        key_env = "OPENAI_API_KEY"
        models = [
          "gpt-4o",
          "qwen-plus",
        ]
        llm = { openai_model = "gpt-4o-mini" }
    """) == {(8, "env"), (8, "endpoint"), (9, "env"), (11, "model"), (14, "env"),
             (14, "model")}


def test_json_with_comments_and_trailing_commas(scan_text: ScanText) -> None:
    assert scan_text("settings.json", """
        {
          // the model: gpt-4o
          "model": "gpt-4o-mini",
          "OPENAI_API_KEY": "sk-1",
          "endpoints": ["https://api.openai.com/v1",],
          "openai_extra": {"x": 1},
        }
    """) == {(3, "model"), (4, "env"), (5, "endpoint")}


def test_dependency_declarations_and_prose_are_not_scanned(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"dependencies": {"openai": "^4"}, "m": "gpt-4o"}')
    (tmp_path / "requirements.txt").write_text("openai==1.51.0\n")
    (tmp_path / "README.md").write_text("Set OPENAI_API_KEY; we use gpt-4o.\n")
    report = scan(tmp_path)
    assert report.findings == []
    assert report.files_scanned == 0
