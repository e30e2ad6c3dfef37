import json
import os

import httpx
import requests

OPENAI_URL = "http://127.0.0.1:8000/v1/chat/completions"
EMBED_URL = OPENAI_URL.replace("chat/completions", "embeddings")
SLACK_WEBHOOK = "https://hooks.slack.com/services/T000/B000/XXXX"
BASE = os.environ.get("OPENAI_BASE", "http://127.0.0.1:8000/v1")
HEADERS = {"Authorization": f"Bearer {os.environ['OPENAI_API_KEY']}"}


def chat(prompt: str) -> str:
    r = requests.post(
        OPENAI_URL,
        headers=HEADERS,
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}]},
        timeout=30,
    )
    r.raise_for_status()
    return r.json()["choices"][0]["message"]["content"]


def stream(prompt: str):
    body = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": prompt}]}
    with httpx.stream("POST", f"{BASE}/chat/completions", headers=HEADERS, json=body) as r:
        yield from r.iter_lines()


async def embed(text: str) -> list[float]:
    async with httpx.AsyncClient(timeout=10) as client:
        r = await client.post("http://127.0.0.1:8000/v1/embeddings", headers=HEADERS,
                              json={"model": "text-embedding-3-small", "input": text})
    return r.json()["data"][0]["embedding"]


def azure_chat(prompt: str) -> str:
    session = requests.Session()
    # banjia: send "model" (was deployment 'gpt-4o') in the body and "Authorization: Bearer <key>"
    url = ("http://127.0.0.1:8000/v1/chat/completions")
    r = session.post(url, headers={"api-key": os.environ["OPENAI_API_KEY"]},
                     data=json.dumps({"messages": [{"role": "user", "content": prompt}]}))
    return r.json()["choices"][0]["message"]["content"]


def notify(text: str) -> None:
    requests.post(SLACK_WEBHOOK, json={"text": text}, timeout=5)


def forward(url: str, payload: dict) -> dict:
    return requests.post(url, json=payload, timeout=30).json()


def keys_page() -> str:
    return requests.get("https://platform.openai.com/api-keys", timeout=5).text


def relative(client: httpx.Client) -> dict:
    return client.post("/v1/chat/completions", json={"model": "x"}).json()
