#!/usr/bin/env node
// The REAL Better Auth (the version pinned in package.json) as an HTTP server,
// configured from the same environment variables as better-auth-rs:
//
//   PORT (3001), HOST (127.0.0.1), BETTER_AUTH_URL (http://HOST:PORT),
//   BETTER_AUTH_SECRET, DATABASE_URL (sqlite://better-auth.db?mode=rwc),
//   BETTER_AUTH_TRUSTED_ORIGINS (comma list), RATE_LIMIT=1 to enable rate
//   limiting (RATE_LIMIT_STORAGE=memory|database, default memory), JWT_ALG
//   (the jwt plugin's key pair algorithm, default EdDSA), USER_FIELDS and
//   COOKIE_CACHE (see reference-config.mjs), REDIS_URL for sessions and
//   verification values in Redis (secondaryStorage) under REDIS_KEY_PREFIX
//   (default better-auth:), VERIFICATION_STORE_IN_DATABASE=1 to keep the
//   verification rows in the database too, ERROR_URL for onAPIError.errorURL,
//   API_KEY=1 for the API key plugin (API_KEY_RATE_LIMIT=0: the keys' own rate limit off)
//   and API_KEY_SERVER_TOKEN: a POST to /api-key/{create,update,verify,
//   delete-all-expired-api-keys} carrying it in `x-server-token` is made as a
//   server-side `auth.api.*` call (no headers), as better-auth-rs serves
//   `[plugins.api_key] server_token`. GITHUB_BASE_URL (tests only) turns the
//   GitHub provider on and sends its requests to github.com / api.github.com to
//   that local fake (see reference-config.mjs).
//
// Plugins jwt() and bearer(), email+password enabled, additional user fields
// `role` (default "user", input:false) and `nickname`. Runs Better Auth's own
// migrations at start, then prints `listening on <port>`.

import http from "node:http";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";
import { buildAuthOptions, openDatabase, redisStorage } from "./reference-config.mjs";

const env = process.env;

// GITHUB_BASE_URL (tests only): Better Auth's GitHub provider has fixed URLs; its server-side
// requests to github.com and api.github.com go to this local fake instead, path and query kept.
if (env.GITHUB_BASE_URL) {
  const fake = new URL(env.GITHUB_BASE_URL);
  const realFetch = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.protocol === "https:" && (url.host === "github.com" || url.host === "api.github.com")) {
      const local = new URL(`${url.pathname}${url.search}`, fake);
      return input instanceof Request ? realFetch(new Request(local, input), init) : realFetch(local, init);
    }
    return realFetch(input, init);
  };
}

const host = env.HOST || "127.0.0.1";
const port = Number(env.PORT || 3001);
if (!env.BETTER_AUTH_URL) env.BETTER_AUTH_URL = `http://${host}:${port}`;

const db = await openDatabase(env.DATABASE_URL || "sqlite://better-auth.db?mode=rwc");
const redis = env.REDIS_URL ? redisStorage(env.REDIS_URL, env.REDIS_KEY_PREFIX) : null;
const options = buildAuthOptions({ env, database: db.database, secondaryStorage: redis?.storage });

const { runMigrations } = await getMigrations(options);
await runMigrations();

const auth = betterAuth(options);
const handler = toNodeHandler(auth);
const basePath = options.basePath;

/** Better Auth's server-side calls, for requests carrying API_KEY_SERVER_TOKEN. */
const serverCalls = {
  "/api-key/create": "createApiKey",
  "/api-key/update": "updateApiKey",
  "/api-key/verify": "verifyApiKey",
  "/api-key/delete-all-expired-api-keys": "deleteAllExpiredApiKeys",
};

async function serverCall(req, res, name) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString("utf8");
  let status = 200;
  let body;
  try {
    body = await auth.api[name]({ body: text ? JSON.parse(text) : {} });
  } catch (err) {
    status = err?.statusCode ?? 500;
    body = err?.body ?? { message: String(err?.message ?? err) };
  }
  res.statusCode = status;
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify(body));
}

const server = http.createServer((req, res) => {
  const path = req.url.split("?")[0].slice(basePath.length);
  const token = env.API_KEY_SERVER_TOKEN;
  if (token && req.method === "POST" && req.headers["x-server-token"] === token && serverCalls[path]) {
    return void serverCall(req, res, serverCalls[path]);
  }
  if (req.url === basePath || req.url.startsWith(`${basePath}/`)) return handler(req, res);
  res.statusCode = 404;
  res.end();
});
server.keepAliveTimeout = 65_000;

server.listen(port, host, () => {
  console.log(`listening on ${server.address().port}`);
});

let closing = false;
async function shutdown() {
  if (closing) return;
  closing = true;
  server.close();
  server.closeAllConnections?.();
  await db.close().catch(() => {});
  await redis?.close().catch(() => {});
  process.exit(0);
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
