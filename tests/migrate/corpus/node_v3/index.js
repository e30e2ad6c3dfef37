const { Configuration, OpenAIApi } = require("openai");

const configuration = new Configuration({
  apiKey: process.env.OPENAI_API_KEY,
  basePath: "https://api.openai.com/v1",
});
const openai = new OpenAIApi(configuration);

async function chat(prompt) {
  const completion = await openai.createChatCompletion({
    model: "gpt-3.5-turbo",
    messages: [{ role: "user", content: prompt }],
    n: 2,
  });
  return completion.data.choices[0].message.content;
}

async function complete(prompt) {
  const res = await openai.createCompletion({ model: "text-davinci-003", prompt, logprobs: 5 });
  return res.data.choices[0].text;
}

async function embed(input) {
  const res = await openai.createEmbedding({ model: "text-embedding-ada-002", input });
  return res.data.data[0].embedding;
}

module.exports = { chat, complete, embed };
