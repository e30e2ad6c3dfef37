"""Chat helpers for the support bot.

Uses gpt-4o through the official SDK; see OPENAI_API_KEY in the README.
"""

import json
import os

from openai import OpenAI

DEFAULT_MODEL = "gpt-4o-mini"
EMBEDDING_MODEL = "text-embedding-3-small"
# FALLBACK = "gpt-3.5-turbo"  (kept for reference)

PRICES = {
    "gpt-4o": 2.5,
    "gpt-4o-mini": 0.15,
}

client = OpenAI(api_key=os.environ["OPENAI_API_KEY"])

WEATHER_TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
}


def answer(question: str, model: str = DEFAULT_MODEL) -> str:
    """Answer one question with gpt-4o-mini."""
    resp = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": question}],
        tools=[WEATHER_TOOL],
    )
    return resp.choices[0].message.content or ""


def stream_answer(question: str):
    stream = client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": question}],
        stream=True,
    )
    for chunk in stream:
        yield chunk.choices[0].delta.content or ""


def extract(text: str) -> dict:
    resp = client.with_options(timeout=20).chat.completions.create(
        model="gpt-4o-2024-08-06",
        messages=[{"role": "user", "content": text}],
        response_format={"type": "json_object"},
        n=1,
    )
    return json.loads(resp.choices[0].message.content or "{}")


def describe(image_url: str) -> str:
    resp = client.chat.completions.create(
        model="gpt-4o",
        messages=[{
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this picture?"},
                {"type": "image_url", "image_url": {"url": image_url}},
            ],
        }],
        logprobs=True,
        top_logprobs=3,
    )
    return resp.choices[0].message.content or ""


def embed(texts: list[str]) -> list[list[float]]:
    result = client.embeddings.create(model=EMBEDDING_MODEL, input=texts)
    return [d.embedding for d in result.data]


def list_models() -> list[str]:
    return [m.id for m in client.models.list()]


def banner() -> str:
    return "Powered by gpt-4o"
