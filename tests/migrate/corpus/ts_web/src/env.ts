const { OPENAI_API_KEY, PORT } = process.env;

export const config = {
  key: OPENAI_API_KEY,
  port: Number(PORT ?? 3000),
  // OPENAI_MODEL is read elsewhere
  model: import.meta.env.VITE_OPENAI_MODEL ?? "gpt-4o-mini",
};
