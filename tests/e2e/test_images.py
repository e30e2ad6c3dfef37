"""Images sent to a target that reads text only are refused, never dropped without a word: the chain
moves on to an entry that reads images if it has one, else the client gets a 400 naming the image.

Text-only is what banjia knows for certain: the local model (it reads text only, whatever the
GGUF), and models the catalog lists without ``vision``. A model the catalog does not know is
forwarded as it is: the upstream decides.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.conftest import fake_provider, strict_client
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, Gateway

PIXEL = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
WITH_IMAGE: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "be brief"},
    {"role": "user", "content": [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": PIXEL}},
    ]},
]


@pytest.fixture(scope="module")
def gw(fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp: Path = tmp_path_factory.mktemp("images")
    g = Gateway({
        "server": {"master_key": MASTER_KEY},
        "store": {"url": f"sqlite:///{tmp / 'banjia.db'}"},
        "providers": {
            "local": {"type": "local", "n_ctx": 2048},
            # a DeepSeek account (at the fake): the catalog lists deepseek-chat without vision
            "deepseek": fake_provider(fake, "deepseek"),
            "fake": fake_provider(fake),
        },
        "models": {
            "local-only": ["local/default"],
            "local-then-vision": ["local/default", "fake/echo"],
            "text-only-chain": ["deepseek/deepseek-chat", "local/default"],
        },
    })
    yield g
    g.stop()


@pytest.fixture(scope="module")
def client(gw: Gateway) -> openai.OpenAI:
    return strict_client(gw)


def test_an_image_for_the_local_model_is_a_400_naming_it(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="local-only", messages=WITH_IMAGE)
    body: Any = e.value.body
    assert body["param"] == "messages[1].content[1]"
    assert "messages[1].content[1]: image input is not supported by local/default" in e.value.message


def test_an_image_in_a_stream_for_the_local_model_is_a_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="local-only", messages=WITH_IMAGE, stream=True)
    assert "image input is not supported" in e.value.message


def test_an_image_moves_on_to_an_entry_that_may_read_it(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    r = client.chat.completions.create(model="local-then-vision", messages=WITH_IMAGE)
    assert r.choices[0].message.content == "echo: what is this [image]"  # the fake saw it
    sent = fake.state.requests[-1].body["messages"][1]["content"]
    assert sent[1]["image_url"]["url"] == PIXEL  # forwarded as it was


def test_a_catalog_model_without_vision_refuses_an_image(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    before = len(fake.state.requests)
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="text-only-chain", messages=WITH_IMAGE)
    assert "not supported by" in e.value.message
    assert len(fake.state.requests) == before  # nothing was sent to be ignored


def test_an_image_through_the_responses_api_is_refused_too(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.responses.create(model="local-only", input=[{"role": "user", "content": [
            {"type": "input_text", "text": "what is this"},
            {"type": "input_image", "image_url": PIXEL, "detail": "auto"},
        ]}])
    assert "image input is not supported by local/default" in e.value.message


def test_text_for_the_local_model_still_works(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(
        model="local-only", messages=[{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        max_tokens=2,
    )
    assert r.choices[0].message.content is not None
