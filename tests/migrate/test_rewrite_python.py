"""Python rewriting rules, one at a time (libcst keeps everything else as written)."""

from __future__ import annotations

import textwrap

import pytest

from banjia.migrate._rewrite_python import rewrite_python
from banjia.migrate._rewrite_rules import Rules


def rewrite(source: str, **options: object) -> str:
    rules = Rules(**options)  # type: ignore[arg-type]
    new = rewrite_python(textwrap.dedent(source).lstrip("\n"), rules)
    compile(new, "sample.py", "exec")
    assert rewrite_python(new, rules) == new, "a second rewrite must change nothing"
    return new


def test_a_hard_coded_base_url_points_at_the_gateway() -> None:
    assert rewrite("""
        client = OpenAI(base_url="https://api.openai.com/v1", api_key=KEY)  # prod
    """) == 'client = OpenAI(base_url="http://127.0.0.1:8000/v1", api_key=KEY)  # prod\n'


def test_other_vendors_base_urls_and_prose_are_left_alone() -> None:
    source = """
        DEEPSEEK = OpenAI(base_url="https://api.deepseek.com")
        HELP = "Get a key at https://platform.openai.com/api-keys"
        NOTE = "Calls https://api.openai.com/v1 in production"
        RAW = b"https://api.openai.com/v1"
    """
    assert rewrite(source) == textwrap.dedent(source).lstrip("\n")


def test_urls_split_over_strings_and_f_string_prefixes_move() -> None:
    assert rewrite("""
        URL = (
            "https://api.openai.com"
            "/v1/chat/completions"
        )
        ONE = f"https://api.openai.com/v1/{path}"
    """) == textwrap.dedent("""
        URL = (
            "http://127.0.0.1:8000/v1/chat/completions"
        )
        ONE = f"http://127.0.0.1:8000/v1/{path}"
    """).lstrip("\n")


def test_legacy_calls_become_v1_calls_and_results_become_objects() -> None:
    assert rewrite("""
        import openai as oa

        def ask(q):
            r = oa.ChatCompletion.create(engine="gpt-4", messages=q, request_timeout=9)
            return r["choices"][0]["message"]["content"]
    """) == textwrap.dedent("""
        import openai as oa

        def ask(q):
            r = oa.chat.completions.create(model="gpt-4", messages=q, timeout=9)
            return r.choices[0].message.content
    """).lstrip("\n")


def test_legacy_audio_arguments_become_keywords() -> None:
    assert rewrite("""
        import openai
        text = openai.Audio.transcribe("whisper-1", f)["text"]
    """) == textwrap.dedent("""
        import openai
        text = openai.audio.transcriptions.create(model="whisper-1", file=f).text
    """).lstrip("\n")


def test_an_api_gone_in_v1_gets_a_note_and_stays() -> None:
    assert rewrite("""
        import openai
        def fix(text):
            return openai.Edit.create(model="text-davinci-edit-001", input=text)
    """) == textwrap.dedent("""
        import openai
        def fix(text):
            # banjia: the Edits API is gone in openai>=1; use chat completions or fine_tuning.jobs
            return openai.Edit.create(model="text-davinci-edit-001", input=text)
    """).lstrip("\n")


def test_legacy_exceptions_get_their_v1_names() -> None:
    assert rewrite("""
        import openai
        from openai.error import InvalidRequestError, RateLimitError
        try:
            go()
        except (openai.error.Timeout, InvalidRequestError, RateLimitError):
            pass
    """) == textwrap.dedent("""
        import openai
        from openai import BadRequestError as InvalidRequestError, RateLimitError
        try:
            go()
        except (openai.APITimeoutError, InvalidRequestError, RateLimitError):
            pass
    """).lstrip("\n")


def test_azure_module_settings_go_and_a_block_left_empty_passes() -> None:
    assert rewrite("""
        import openai

        def configure():
            openai.api_type = "azure"
            openai.api_version = "2023-05-15"

        openai.api_key = KEY
    """) == textwrap.dedent("""
        import openai

        def configure():
            pass

        openai.api_key = KEY
    """).lstrip("\n")


def test_module_base_url_keeps_the_trailing_slash_v1_needs() -> None:
    assert rewrite("""
        import openai
        openai.api_base = settings.api_base
    """) == textwrap.dedent("""
        import openai
        openai.base_url = settings.api_base.rstrip("/") + "/"
    """).lstrip("\n")


def test_azure_clients_become_openai_clients_without_azure_options() -> None:
    assert rewrite("""
        from openai import AsyncAzureOpenAI, AzureOpenAI, OpenAI

        def make() -> AzureOpenAI:
            return AzureOpenAI(
                azure_endpoint=os.environ["AZURE_OPENAI_ENDPOINT"],
                api_key=os.environ["AZURE_OPENAI_API_KEY"],
                api_version="2024-02-01",
            )

        late = AsyncAzureOpenAI(azure_endpoint="https://x.openai.azure.com", api_version="v")
    """) == textwrap.dedent("""
        from openai import AsyncOpenAI, OpenAI

        def make() -> OpenAI:
            return OpenAI(
                api_key=os.environ["OPENAI_API_KEY"],
            )

        late = AsyncOpenAI(base_url="http://127.0.0.1:8000/v1")
    """).lstrip("\n")


def test_a_dropped_azure_deployment_leaves_a_note() -> None:
    new = rewrite("""
        from openai import AzureOpenAI
        client = AzureOpenAI(azure_deployment="chat-prod", api_version="v")
    """)
    assert new == textwrap.dedent("""
        from openai import OpenAI
        # banjia: requests now name the model: alias deployment 'chat-prod' in banjia's models:
        client = OpenAI()
    """).lstrip("\n")


def test_langchain_azure_deployment_becomes_the_model() -> None:
    assert rewrite("""
        from langchain_openai import AzureChatOpenAI as Chat
        llm = Chat(deployment_name="gpt-35-turbo", openai_api_version="2024-02-01")
    """) == textwrap.dedent("""
        from langchain_openai import ChatOpenAI as Chat
        llm = Chat(model="gpt-3.5-turbo")
    """).lstrip("\n")


@pytest.mark.parametrize(("before", "after"), [
    ('m = "gpt-4o"', 'm = "qwen-plus"'),
    ('m = "gpt-4o-mini"', 'm = "gpt-4o-mini"'),
    ('m = f"gpt-4o"', 'm = f"gpt-4o"'),
])
def test_model_names_follow_the_map_only(before: str, after: str) -> None:
    assert rewrite(before + "\n", model_map={"gpt-4o": "qwen-plus"}) == after + "\n"
