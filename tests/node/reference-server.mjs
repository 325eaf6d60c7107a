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
//   verification rows in the database too, ERROR_URL for onAPIError.errorURL.
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

const server = http.createServer((req, res) => {
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
