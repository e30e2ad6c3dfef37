import { OpenAI } from "openai";
import { createOpenAI } from "@ai-sdk/openai";
import { generateText } from "ai";

// banjia: requests now name the model, not the Azure deployment
const client = new OpenAI({
  apiKey: process.env.OPENAI_API_KEY,
});

const azure = createOpenAI({ baseURL: process.env.OPENAI_BASE_URL, apiKey: process.env.OPENAI_API_KEY });

export async function summarize(text: string): Promise<string> {
  const r = await client.chat.completions.create({
    model: "gpt-4o",
    messages: [{ role: "user", content: text }],
  });
  return r.choices[0].message.content ?? "";
}

export async function title(text: string): Promise<string> {
  const { text: out } = await generateText({ model: azure("gpt-3.5-turbo"), prompt: text });
  return out;
}

export function describe(c: OpenAI): string {
  return c.baseURL;
}
