from openai import AsyncOpenAI

client = AsyncOpenAI()


async def make_assistant() -> str:
    assistant = await client.beta.assistants.create(
        name="Math tutor",
        model="gpt-4-turbo",
        tools=[{"type": "code_interpreter"}],
    )
    thread = await client.beta.threads.create()
    await client.beta.threads.messages.create(thread_id=thread.id, role="user", content="1+1?")
    run = await client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    return run.id
