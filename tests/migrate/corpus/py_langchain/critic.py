from langchain_anthropic import ChatAnthropic

# A second opinion from another vendor; not an OpenAI dependency.
critic = ChatAnthropic(model="claude-3-5-sonnet-latest", max_tokens=256)


def review(text: str) -> str:
    return str(critic.invoke(f"Review: {text}").content)
