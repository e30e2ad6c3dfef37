import os

from openai import AsyncOpenAI, OpenAI

DEPLOYMENT = os.getenv("AZURE_OPENAI_DEPLOYMENT", "gpt-3.5-turbo")


def make_client() -> OpenAI:
    return OpenAI(
        api_key=os.environ["OPENAI_API_KEY"],
    )


def summarize(text: str) -> str:
    client = make_client()
    resp = client.chat.completions.create(
        model=DEPLOYMENT,
        messages=[{"role": "system", "content": "Summarize."}, {"role": "user", "content": text}],
    )
    return resp.choices[0].message.content or ""


async def classify(text: str) -> str:
    # banjia: requests now name the model: alias deployment 'chat-prod' in banjia's models:
    client = AsyncOpenAI(
        base_url="http://127.0.0.1:8000/v1/",
        api_key=os.environ["OPENAI_API_KEY"],
    )
    resp = await client.chat.completions.create(
        model="chat-prod", messages=[{"role": "user", "content": text}]
    )
    return resp.choices[0].message.content or ""
