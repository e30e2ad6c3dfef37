import axios from "axios";
import { ChatOpenAI, OpenAIEmbeddings } from "@langchain/openai";

const OPENAI_BASE = "http://127.0.0.1:8000/v1";
const headers = { Authorization: `Bearer ${process.env.OPENAI_API_KEY}` };

export type ChatModel = "gpt-4o" | "o3-mini";

export async function chat(prompt: string): Promise<string> {
  const r = await fetch("http://127.0.0.1:8000/v1/chat/completions", {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: prompt }],
      stream: true,
      response_format: { type: "json_object" },
    }),
  });
  return r.text();
}

export async function embed(input: string): Promise<number[]> {
  const { data } = await axios.post(`${OPENAI_BASE}/embeddings`, {
    model: "text-embedding-3-small",
    input,
  }, { headers });
  return data.data[0].embedding;
}

export async function ownApi(path: string) {
  return fetch(`/api/${path}`).then((r) => r.json());
}

export function parse(text: string) {
  return JSON.parse(text);
}

export async function hook(url: string, body: unknown) {
  return axios.post(url, body);
}

export const llm = new ChatOpenAI({ model: "gpt-4o", temperature: 0 });
export const vectors = new OpenAIEmbeddings({
  model: "text-embedding-3-large",
  apiKey: process.env["OPENAI_API_KEY"],
});

export const realtime = new WebSocket("wss://api.openai.com/v1/realtime?model=gpt-4o-realtime-preview");
