import os

import openai

openai.api_key = os.getenv("OPENAI_API_KEY")
openai.base_url = os.getenv("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1").rstrip("/") + "/"
openai.organization = "org-acme"


def chat(prompt):
    response = openai.chat.completions.create(
        model="gpt-3.5-turbo",
        messages=[{"role": "user", "content": prompt}],
        temperature=0.2,
    )
    return response.choices[0].message.content


def complete(prompt):
    response = openai.completions.create(model="text-davinci-003", prompt=prompt, max_tokens=64)
    return response.choices[0].text


def embed(text):
    result = openai.embeddings.create(input=[text], model="text-embedding-ada-002")
    return result.data[0].embedding


def stream_chat(prompt):
    for chunk in openai.chat.completions.create(
        model="gpt-4", messages=[{"role": "user", "content": prompt}], stream=True
    ):
        yield (chunk.choices[0].delta.content or "")


async def achat(prompt):
    # banjia: one shared openai.AsyncOpenAI() would reuse connections
    response = await openai.AsyncOpenAI(api_key=openai.api_key, base_url=openai.base_url).chat.completions.create(
        model="gpt-4", messages=[{"role": "user", "content": prompt}]
    )
    return response.choices[0].message.content


def safe_chat(prompt):
    try:
        return chat(prompt)
    except openai.RateLimitError:
        return "busy"
