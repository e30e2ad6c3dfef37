from pathlib import Path

import openai

client = openai.OpenAI()


def draw(prompt: str) -> str:
    img = client.images.generate(model="dall-e-3", prompt=prompt, size="1024x1024")
    return img.data[0].url or ""


def transcribe(path: Path) -> str:
    with path.open("rb") as f:
        return client.audio.transcriptions.create(model="whisper-1", file=f).text


def speak(text: str) -> bytes:
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input=text
    ) as response:
        return response.read()


def is_flagged(text: str) -> bool:
    return client.moderations.create(input=text).results[0].flagged
