import os

import openai

openai.api_key = os.getenv("OPENAI_API_KEY")
openai.api_base = os.getenv("OPENAI_API_BASE", "https://api.openai.com/v1")
openai.organization = "org-acme"


def chat(prompt):
    response = openai.ChatCompletion.create(
        model="gpt-3.5-turbo",
        messages=[{"role": "user", "content": prompt}],
        temperature=0.2,
    )
    return response["choices"][0]["message"]["content"]


def complete(prompt):
    response = openai.Completion.create(engine="text-davinci-003", prompt=prompt, max_tokens=64)
    return response["choices"][0]["text"]


def embed(text):
    result = openai.Embedding.create(input=[text], model="text-embedding-ada-002")
    return result["data"][0]["embedding"]


def stream_chat(prompt):
    for chunk in openai.ChatCompletion.create(
        model="gpt-4", messages=[{"role": "user", "content": prompt}], stream=True
    ):
        yield chunk["choices"][0]["delta"].get("content", "")


async def achat(prompt):
    response = await openai.ChatCompletion.acreate(
        model="gpt-4", messages=[{"role": "user", "content": prompt}]
    )
    return response["choices"][0]["message"]["content"]


def safe_chat(prompt):
    try:
        return chat(prompt)
    except openai.error.RateLimitError:
        return "busy"
