import { AzureOpenAI } from "openai";
import { createAzure } from "@ai-sdk/azure";
import { generateText } from "ai";

const client = new AzureOpenAI({
  endpoint: process.env.AZURE_OPENAI_ENDPOINT,
  apiKey: process.env.AZURE_OPENAI_API_KEY,
  apiVersion: "2024-10-21",
  deployment: "gpt-4o",
});

const azure = createAzure({ resourceName: "contoso", apiKey: process.env.AZURE_OPENAI_API_KEY });

export async function summarize(text: string): Promise<string> {
  const r = await client.chat.completions.create({
    model: "gpt-4o",
    messages: [{ role: "user", content: text }],
  });
  return r.choices[0].message.content ?? "";
}

export async function title(text: string): Promise<string> {
  const { text: out } = await generateText({ model: azure("gpt-35-turbo"), prompt: text });
  return out;
}

export function describe(c: AzureOpenAI): string {
  return c.baseURL;
}
