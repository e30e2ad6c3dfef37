import { OpenAI } from "openai";
import Anthropic from "@anthropic-ai/sdk";

const client = new OpenAI();
const anthropic = new Anthropic();

export async function tune(fileId) {
  return client.fineTuning.jobs.create({ training_file: fileId, model: "gpt-4o-mini-2024-07-18" });
}

export async function claudeModels() {
  const page = await anthropic.models.list();
  return page.data;
}

export async function claude(prompt) {
  return anthropic.messages.create({
    model: "claude-3-5-sonnet-latest",
    max_tokens: 256,
    messages: [{ role: "user", content: prompt }],
  });
}

/* Previously: client.chat.completions.create({ model: "gpt-4" }) */
export const title = "Built with gpt-4o";
