// A Deno app for `runtimectl deploy`: it answers on $PORT, which runtimekit
// assigns to each release.
import { greeting } from "./greeting.ts";

const port = Number(Deno.env.get("PORT") ?? "8000");

Deno.serve({ port, hostname: "0.0.0.0" }, (req: Request): Response => {
  const url = new URL(req.url);
  if (url.pathname === "/healthz") {
    return new Response("ok\n");
  }
  return new Response(`${greeting(Deno.env.get("GREETING"))}\n`, {
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
});
