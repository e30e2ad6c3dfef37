import { createAzure } from "@ai-sdk/azure";
import { createOpenAI, openai } from "@ai-sdk/openai";
import { streamText } from "ai";

const gateway = createOpenAI({
  baseURL: process.env.OPENAI_BASE_URL,
  apiKey: process.env.OPENAI_API_KEY,
});

const azure = createOpenAI({ baseURL: process.env.OPENAI_BASE_URL, apiKey: process.env.OPENAI_API_KEY });

export async function POST(req: Request) {
  const { messages } = await req.json();
  const result = streamText({
    model: process.env.USE_GATEWAY ? gateway("gpt-4o-mini") : openai("gpt-4o"),
    messages,
  });
  return result.toDataStreamResponse();
}

export const fallback = azure("gpt-3.5-turbo");
export const embedder = openai.embedding("text-embedding-3-small");
