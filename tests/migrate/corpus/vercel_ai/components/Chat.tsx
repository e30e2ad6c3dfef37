"use client";

import { useState } from "react";

type Props = { model?: "gpt-4o" | "gpt-4o-mini" };

export function Chat({ model = "gpt-4o" }: Props) {
  const [reply, setReply] = useState("");

  async function send(text: string) {
    // Calls our own route, which talks to OpenAI.
    const r = await fetch("/api/chat", {
      method: "POST",
      body: JSON.stringify({ messages: [{ role: "user", content: text }], model }),
    });
    setReply(await r.text());
  }

  return (
    <div className="chat" data-model="gpt-4o-mini">
      <p>Powered by gpt-4o</p>
      <button onClick={() => send("hi")}>{reply || "Send"}</button>
    </div>
  );
}
