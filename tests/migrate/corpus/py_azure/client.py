import os

from openai import AsyncAzureOpenAI, AzureOpenAI

DEPLOYMENT = os.getenv("AZURE_OPENAI_DEPLOYMENT", "gpt-35-turbo")


def make_client() -> AzureOpenAI:
    return AzureOpenAI(
        azure_endpoint=os.environ["AZURE_OPENAI_ENDPOINT"],
        api_key=os.environ["AZURE_OPENAI_API_KEY"],
        api_version="2024-02-01",
    )


def summarize(text: str) -> str:
    client = make_client()
    resp = client.chat.completions.create(
        model=DEPLOYMENT,
        messages=[{"role": "system", "content": "Summarize."}, {"role": "user", "content": text}],
    )
    return resp.choices[0].message.content or ""


async def classify(text: str) -> str:
    client = AsyncAzureOpenAI(
        azure_endpoint="https://contoso-eastus.openai.azure.com/",
        api_key=os.environ["AZURE_OPENAI_API_KEY"],
        api_version="2024-06-01",
        azure_deployment="chat-prod",
    )
    resp = await client.chat.completions.create(
        model="chat-prod", messages=[{"role": "user", "content": text}]
    )
    return resp.choices[0].message.content or ""
