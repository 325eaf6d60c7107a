#!/usr/bin/env node
// An OLDER Better Auth as an HTTP server: the package named by BETTER_AUTH_PACKAGE (an npm alias
// of package.json, e.g. `better-auth-1-3`), configured like reference-server.mjs from PORT,
// HOST, BETTER_AUTH_URL, BETTER_AUTH_SECRET, DATABASE_URL, BETTER_AUTH_TRUSTED_ORIGINS and
// BETTER_AUTH_EMAIL_FILE: email and password (reset mails to the outbox file), jwt() and
// bearer(). Runs that version's own migrations, then prints `listening on <port>`.

import { appendFileSync } from "node:fs";
import http from "node:http";
import { openDatabase } from "./reference-config.mjs";

const env = process.env;
const pkg = env.BETTER_AUTH_PACKAGE;
if (!pkg) throw new Error("BETTER_AUTH_PACKAGE is required");
const host = env.HOST || "127.0.0.1";
const port = Number(env.PORT || 3001);
const baseURL = env.BETTER_AUTH_URL || `http://${host}:${port}`;

const { betterAuth } = await import(pkg);
const { jwt, bearer } = await import(`${pkg}/plugins`);
const { toNodeHandler } = await import(`${pkg}/node`);
let getMigrations;
for (const path of [`${pkg}/db/migration`, `${pkg}/db`]) {
  try {
    ({ getMigrations } = await import(path));
    if (getMigrations) break;
  } catch {}
}
if (!getMigrations) throw new Error(`${pkg}: no getMigrations export`);

const outbox = (type) => async ({ user, url, token }) => {
  const line = JSON.stringify({ type, email: user.email, userId: user.id, url, token, at: new Date().toISOString() });
  if (env.BETTER_AUTH_EMAIL_FILE) appendFileSync(env.BETTER_AUTH_EMAIL_FILE, `${line}\n`);
};

const db = await openDatabase(env.DATABASE_URL);
const options = {
  baseURL,
  basePath: "/api/auth",
  secret: env.BETTER_AUTH_SECRET,
  database: db.database,
  trustedOrigins: (env.BETTER_AUTH_TRUSTED_ORIGINS || "").split(",").filter(Boolean),
  emailAndPassword: { enabled: true, sendResetPassword: outbox("reset-password") },
  rateLimit: { enabled: false },
  plugins: [jwt(), bearer()],
  telemetry: { enabled: false },
};
const { runMigrations } = await getMigrations(options);
await runMigrations();
const handler = toNodeHandler(betterAuth(options));
const server = http.createServer((req, res) => {
  if (req.url.startsWith("/api/auth")) return handler(req, res);
  res.statusCode = 404;
  res.end();
});
server.listen(port, host, () => console.log(`listening on ${server.address().port}`));
const shutdown = async () => {
  server.close();
  server.closeAllConnections?.();
  await db.close().catch(() => {});
  process.exit(0);
};
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
