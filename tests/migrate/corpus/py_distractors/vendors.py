"""Other vendors' SDKs. Nothing here depends on OpenAI.

Example from the docs: client.chat.completions.create(model="gpt-4o")
"""

import os

import anthropic
import stripe
from zhipuai import ZhipuAI

stripe.api_key = os.environ["STRIPE_API_KEY"]
claude = anthropic.Anthropic(api_key=os.environ["ANTHROPIC_API_KEY"])
zhipu = ZhipuAI(api_key=os.environ["ZHIPUAI_API_KEY"])
DEEPSEEK_MODEL = "deepseek-chat"


def refund(charge_id: str) -> None:
    stripe.Refund.create(charge=charge_id)


def ask_claude(prompt: str) -> str:
    msg = claude.messages.create(
        model="claude-3-5-sonnet-latest",
        max_tokens=512,
        messages=[{"role": "user", "content": prompt}],
    )
    return msg.content[0].text


def claude_models() -> list[str]:
    return [m.id for m in claude.models.list()]


def ask_glm(prompt: str) -> str:
    resp = zhipu.chat.completions.create(
        model="glm-4-plus", messages=[{"role": "user", "content": prompt}]
    )
    return resp.choices[0].message.content


def cheap_claude() -> anthropic.Anthropic:
    return claude.with_options(max_retries=5)
