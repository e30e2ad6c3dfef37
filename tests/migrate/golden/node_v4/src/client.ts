import OpenAI from "openai";
import type { ChatCompletionMessageParam } from "openai/resources/chat/completions";

/**
 * Shared OpenAI client. Defaults to gpt-4o; set OPENAI_API_KEY.
 */
export const openai = new OpenAI({
  apiKey: process.env.OPENAI_API_KEY,
  baseURL: "http://127.0.0.1:8000/v1",
  organization: process.env["OPENAI_ORG_ID"],
});

export const MODEL = process.env.OPENAI_MODEL ?? "gpt-4o";

// const legacy = new OpenAI({ baseURL: "https://api.openai.com/v1" });

export async function ask(messages: ChatCompletionMessageParam[]): Promise<string> {
  const completion = await openai.chat.completions.create({
    model: MODEL,
    messages,
    tools: [{ type: "function", function: { name: "lookup", parameters: {} } }],
    tool_choice: "auto",
  });
  return completion.choices[0]?.message?.content ?? "";
}

export async function* stream(messages: ChatCompletionMessageParam[]) {
  const s = await openai.withOptions({ timeout: 30_000 }).chat.completions.create({
    model: "gpt-4o-mini",
    messages,
    stream: true,
  });
  for await (const chunk of s) {
    yield chunk.choices[0]?.delta?.content ?? "";
  }
}

export async function embed(input: string[]): Promise<number[][]> {
  const res = await openai.embeddings.create({ model: "text-embedding-3-small", input });
  return res.data.map((d) => d.embedding);
}

export async function respond(input: string): Promise<string> {
  const r = await openai.responses.create({
    model: "gpt-4.1",
    input,
    text: { format: { type: "json_schema", name: "answer", schema: {} } },
  });
  return r.output_text;
}

export async function variation(image: File) {
  return openai.images.createVariation({ image, model: "dall-e-2" });
}
