from dataclasses import dataclass

from openai import AsyncOpenAI, OpenAI


@dataclass
class Config:
    openai_api_key: str = ""
    openai_like: bool = False


OPENAI_URL_SETTING = "openai.base_url"


class Ticket:
    objects: "TicketManager"


class TicketManager:
    def create(self, **fields: str) -> Ticket:
        return Ticket()


def open_ticket(title: str) -> Ticket:
    return Ticket.objects.create(title=title)


def handles(client: OpenAI | AsyncOpenAI) -> str:
    """Return the model for a client.

    >>> handles(OpenAI())
    'gpt-4o'
    """
    # return "gpt-4o"
    return f"model: {type(client).__name__}, like gpt-4o"


async def fetch_page(session, path: str) -> str:
    async with session.get(f"/api/pages/{path}") as r:
        return await r.text()
