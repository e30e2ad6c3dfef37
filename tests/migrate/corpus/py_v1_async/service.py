import asyncio
import os
from typing import Optional

from openai import AsyncOpenAI, RateLimitError
from pydantic import BaseModel, Field


class Settings(BaseModel):
    api_key: str = Field(default="", alias="OPENAI_API_KEY")
    model: str = Field(default="gpt-4.1-mini", alias="OPENAI_MODEL")
    base_url: Optional[str] = os.getenv("OPENAI_BASE_URL")


class Invoice(BaseModel):
    number: str
    total: float


class Assistant:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client: AsyncOpenAI = AsyncOpenAI(
            api_key=settings.api_key,
            base_url=settings.base_url,
            max_retries=2,
        )

    async def reply(self, prompt: str) -> str:
        try:
            resp = await self.client.chat.completions.create(
                model=self.settings.model,
                messages=[{"role": "user", "content": prompt}],
                n=3,
            )
        except RateLimitError:
            await asyncio.sleep(1)
            return ""
        return resp.choices[0].message.content or ""

    async def stream(self, prompt: str) -> str:
        parts = []
        async with self.client.chat.completions.stream(
            model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}]
        ) as events:
            async for event in events:
                if event.type == "content.delta":
                    parts.append(event.delta)
        return "".join(parts)

    async def parse_invoice(self, text: str) -> Invoice | None:
        completion = await self.client.beta.chat.completions.parse(
            model="gpt-4o-2024-08-06",
            messages=[{"role": "user", "content": text}],
            response_format=Invoice,
        )
        return completion.choices[0].message.parsed

    async def think(self, prompt: str) -> str:
        response = await self.client.responses.create(model="o3-mini", input=prompt)
        return response.output_text


def get_client() -> AsyncOpenAI:
    return AsyncOpenAI()


async def quick(prompt: str) -> str:
    resp = await get_client().chat.completions.create(
        model="o1", messages=[{"role": "user", "content": prompt}]
    )
    return resp.choices[0].message.content or ""


async def with_raw(prompt: str) -> dict[str, str]:
    raw = await get_client().chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": prompt}]
    )
    return dict(raw.headers)


async def batch_upload(path: str) -> str:
    client = get_client()
    with open(path, "rb") as f:
        uploaded = await client.files.create(file=f, purpose="batch")
    job = await client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    return job.id


async def tune(file_id: str) -> str:
    job = await get_client().fine_tuning.jobs.create(training_file=file_id, model="gpt-4o-mini-2024-07-18")
    return job.id
