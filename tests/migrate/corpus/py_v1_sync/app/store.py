"""Persistence for conversations. Not related to OpenAI at all."""


class ConversationStore:
    def __init__(self) -> None:
        self.rows: list[dict[str, str]] = []

    def create(self, title: str, model: str = "local") -> dict[str, str]:
        row = {"title": title, "model": model}
        self.rows.append(row)
        return row


store = ConversationStore()


def create(title: str) -> dict[str, str]:
    # store.create used to call client.chat.completions.create to make a title
    return store.create(title)


def new_conversation() -> dict[str, str]:
    return store.create("New chat")
