// Rate limiting as the OFFICIAL client sees it, against a server with rate
// limiting on (the reference: RATE_LIMIT=1; ours: e2e-ratelimit.toml):
//
//   E2E_TARGET=reference node --test e2e-ratelimit.test.mjs
//   BETTER_AUTH_BIN=../../target/debug/better-auth-rs node --test e2e-ratelimit.test.mjs

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { PASSWORD, here, newBrowser, startServer, uniqueEmail } from "./harness.mjs";

const TARGET = process.env.E2E_TARGET === "reference" ? "reference" : "rust";

let server;
before(async () => {
  server = await startServer({
    target: TARGET,
    env: { RATE_LIMIT: "1" },
    config: join(here, "e2e-ratelimit.toml"),
  });
});
after(async () => {
  await server?.stop();
});

test("the fourth sign-in within 10 s is refused with 429, Better Auth's message and X-Retry-After", async () => {
  const { client, lastResponse, describe } = newBrowser(server.base);
  const email = uniqueEmail("limited");
  for (let i = 0; i < 3; i += 1) {
    const { error } = await client.signIn.email({ email, password: PASSWORD });
    assert.equal(error?.status, 401, `attempt ${i + 1}`);
  }
  const { data, error } = await client.signIn.email({ email, password: PASSWORD });
  assert.equal(data, null);
  assert.equal(error.status, 429);
  assert.equal(error.message, "Too many requests. Please try again later.");
  assert.equal(error.code, undefined);
  const response = lastResponse("/sign-in/email");
  // Whole seconds until the window (10 s from the last allowed attempt) ends; a slow machine
  // may take over a second per attempt.
  const retryAfter = response.headers.get("x-retry-after");
  assert.match(retryAfter, /^\d+$/);
  assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 10, retryAfter);
  assert.equal(response.headers.get("retry-after"), null);
  assert.equal(response.headers.get("content-type"), "application/json");
  const exchange = await describe("/sign-in/email");
  assert.ok(exchange.endsWith('body: {"message":"Too many requests. Please try again later."}'), exchange);
});

test("another client IP has its own sign-in budget, and other paths are not affected", async () => {
  const { client } = newBrowser(server.base);
  const email = uniqueEmail("other");
  const { error } = await client.signIn.email(
    { email, password: PASSWORD },
    { headers: { "x-forwarded-for": "203.0.113.50" } },
  );
  assert.equal(error?.status, 401);
  const session = await client.getSession();
  assert.equal(session.error, null);
});
