// The API key plugin through the official client's `apiKeyClient()` (@better-auth/api-key),
// the same assertions against better-auth-rs and against the real Better Auth (apiKey() with
// enableSessionForAPIKeys and enableMetadata):
//
//   BETTER_AUTH_BIN=../../target/debug/better-auth-rs node --test e2e-api-key.test.mjs
//   E2E_TARGET=reference node --test e2e-api-key.test.mjs
//
// Keys are created, read, listed, updated and deleted by their owner only; server-only fields
// are refused to the client; a backend holding the server token creates keys with uses and
// rate limits and verifies them (Better Auth's `auth.api.*` calls, which the reference server
// makes for requests carrying API_KEY_SERVER_TOKEN); `x-api-key` stands for a session. Against
// better-auth-rs, a key the real Better Auth created in a database is then verified there.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { apiKeyClient } from "@better-auth/api-key/client";
import { PASSWORD, here, newBrowser, rememberSecret, startServer, stopAllServers, uniqueEmail } from "./harness.mjs";

const TARGET = process.env.E2E_TARGET === "reference" ? "reference" : "rust";
const SERVER_TOKEN = "server-token-0123456789abcdefghijklmnop";
const dir = mkdtempSync(join(tmpdir(), "ba-e2e-api-key-"));
after(async () => {
  await stopAllServers();
  rmSync(dir, { recursive: true, force: true });
});

function start(target = TARGET, options = {}) {
  if (target === "reference") {
    return startServer({ target, dir, env: { API_KEY: "1", API_KEY_SERVER_TOKEN: SERVER_TOKEN }, ...options });
  }
  const config = join(dir, "api-key.toml");
  writeFileSync(
    config,
    `${readFileSync(join(here, "e2e.toml"), "utf8")}\n[plugins.api_key]\nenabled = true\n` +
      `enable_session_for_api_keys = true\nenable_metadata = true\nserver_token = "${SERVER_TOKEN}"\n`,
  );
  return startServer({ target, dir, config, ...options });
}

const browser = (server) => newBrowser(server.base, { plugins: [apiKeyClient()] });

async function signUp(b) {
  const res = await b.client.signUp.email({ email: uniqueEmail("key"), password: PASSWORD, name: "Key Owner" });
  assert.equal(res.error, null, JSON.stringify(res.error));
  return res.data.user;
}

/** A backend's call with the server token. */
async function serverCall(server, path, body, token = SERVER_TOKEN) {
  const res = await fetch(`${server.base}/api/auth${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-server-token": token },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** A machine client's request with `x-api-key`. */
async function withKey(server, path, key) {
  const res = await fetch(`${server.base}/api/auth${path}`, { headers: { "x-api-key": key } });
  return { status: res.status, body: await res.json().catch(() => null), cookies: res.headers.getSetCookie() };
}

test(`the API key plugin through apiKeyClient (${TARGET})`, async () => {
  const server = await start();
  const owner = browser(server);
  const user = await signUp(owner);

  let res = await owner.client.apiKey.create({ name: "ci", prefix: "pk_", metadata: { team: "a" } });
  assert.equal(res.error, null, JSON.stringify(res.error));
  const created = res.data;
  rememberSecret(created.key);
  assert.match(created.key, /^pk_[A-Za-z]{64}$/);
  assert.equal(created.start, created.key.slice(0, 6));
  assert.equal(created.prefix, "pk_");
  assert.equal(created.name, "ci");
  assert.equal(created.referenceId, user.id);
  assert.equal(created.configId, "default");
  assert.equal(created.enabled, true);
  assert.equal(created.rateLimitEnabled, true);
  assert.equal(created.rateLimitMax, 10);
  assert.equal(created.rateLimitTimeWindow, 86_400_000);
  assert.equal(created.requestCount, 0);
  assert.equal(created.remaining, null);
  assert.equal(created.expiresAt, null);
  assert.deepEqual(created.metadata, { team: "a" });
  assert.equal(created.permissions, null);

  res = await owner.client.apiKey.get({ query: { id: created.id } });
  assert.equal(res.error, null, JSON.stringify(res.error));
  assert.equal(res.data.id, created.id);
  assert.equal(res.data.key, undefined, "the key is shown once");
  assert.deepEqual(res.data.metadata, { team: "a" });

  res = await owner.client.apiKey.list();
  assert.equal(res.data.total, 1);
  assert.equal(res.data.apiKeys[0].id, created.id);
  assert.equal(res.data.apiKeys[0].key, undefined);
  res = await owner.client.apiKey.list({ query: { limit: 0 } });
  assert.deepEqual([res.data.apiKeys, res.data.total, res.data.limit], [[], 1, 0]);

  res = await owner.client.apiKey.update({ keyId: created.id, name: "renamed" });
  assert.equal(res.error, null, JSON.stringify(res.error));
  assert.equal(res.data.name, "renamed");
  res = await owner.client.apiKey.update({ keyId: created.id });
  assert.deepEqual([res.error.status, res.error.code], [400, "NO_VALUES_TO_UPDATE"]);

  res = await owner.client.apiKey.create({ remaining: 5 });
  assert.deepEqual([res.error.status, res.error.code], [400, "SERVER_ONLY_PROPERTY"]);
  res = await owner.client.apiKey.create({ expiresIn: 60 });
  assert.deepEqual([res.error.status, res.error.code], [400, "EXPIRES_IN_IS_TOO_SMALL"]);
  res = await owner.client.apiKey.create({ name: "x".repeat(33) });
  assert.deepEqual([res.error.status, res.error.code], [400, "INVALID_NAME_LENGTH"]);
  res = await browser(server).client.apiKey.create({});
  assert.deepEqual([res.error.status, res.error.code], [401, "UNAUTHORIZED_SESSION"]);

  // Another user: the key does not exist for them.
  const other = browser(server);
  await signUp(other);
  res = await other.client.apiKey.get({ query: { id: created.id } });
  assert.deepEqual([res.error.status, res.error.code, res.error.message], [404, "KEY_NOT_FOUND", "API Key not found"]);
  res = await other.client.apiKey.update({ keyId: created.id, name: "mine" });
  assert.deepEqual([res.error.status, res.error.code], [404, "KEY_NOT_FOUND"]);
  res = await other.client.apiKey.delete({ keyId: created.id });
  assert.deepEqual([res.error.status, res.error.code], [404, "KEY_NOT_FOUND"]);
  assert.equal((await other.client.apiKey.list()).data.total, 0);

  // x-api-key stands for a session of the owner (each request a counted use).
  let r = await withKey(server, "/get-session", created.key);
  assert.equal(r.status, 200);
  assert.deepEqual(r.cookies, []);
  assert.equal(r.body.user.id, user.id);
  assert.equal(r.body.session.id, created.id);
  assert.equal(r.body.session.userId, user.id);
  r = await withKey(server, "/token", created.key);
  assert.equal(r.status, 200);
  assert.equal(typeof r.body.token, "string");
  r = await withKey(server, "/api-key/list", created.key);
  assert.deepEqual([r.status, r.body.total], [200, 1]);
  res = await owner.client.apiKey.get({ query: { id: created.id } });
  assert.equal(res.data.requestCount, 3);
  r = await withKey(server, "/get-session", `${created.key.slice(0, -1)}${created.key.endsWith("A") ? "B" : "A"}`);
  assert.deepEqual([r.status, r.body.code, r.body.message], [401, "INVALID_API_KEY", "Invalid API key."]);
  r = await withKey(server, "/get-session", "short");
  assert.deepEqual([r.status, r.body.code], [403, "INVALID_API_KEY"]);

  // A backend with the server token: verify, uses, the per-key rate limit.
  let s = await serverCall(server, "/api-key/verify", { key: created.key }, "wrong-token");
  assert.equal(s.status, 404, "verify is no client route");
  s = await serverCall(server, "/api-key/create", { userId: user.id, remaining: 1 });
  assert.equal(s.status, 200, JSON.stringify(s.body));
  assert.equal(s.body.remaining, 1);
  const once = s.body.key;
  rememberSecret(once);
  s = await serverCall(server, "/api-key/verify", { key: once });
  assert.equal(s.body.valid, true);
  assert.equal(s.body.error, null);
  assert.equal(s.body.key.remaining, 0);
  assert.equal(s.body.key.key, undefined);
  s = await serverCall(server, "/api-key/verify", { key: once });
  assert.deepEqual(s.body, {
    valid: false,
    error: { message: "API Key has reached its usage limit", code: "USAGE_EXCEEDED" },
    key: null,
  });
  s = await serverCall(server, "/api-key/verify", { key: `${once}x` });
  assert.deepEqual(s.body.error, { message: "Invalid API key.", code: "INVALID_API_KEY" });

  s = await serverCall(server, "/api-key/create", { userId: user.id, rateLimitMax: 1, rateLimitTimeWindow: 60_000 });
  const limited = s.body.key;
  rememberSecret(limited);
  assert.equal((await serverCall(server, "/api-key/verify", { key: limited })).body.valid, true);
  s = await serverCall(server, "/api-key/verify", { key: limited });
  assert.equal(s.body.valid, false);
  assert.equal(s.body.error.code, "RATE_LIMITED");
  assert.equal(s.body.error.message, "Rate limit exceeded.");
  assert.ok(s.body.error.details.tryAgainIn > 0 && s.body.error.details.tryAgainIn <= 60_000);
  r = await withKey(server, "/get-session", limited);
  assert.deepEqual([r.status, r.body.code], [429, "RATE_LIMITED"]);

  s = await serverCall(server, "/api-key/update", { keyId: created.id, userId: user.id, enabled: false });
  assert.equal(s.body.enabled, false);
  s = await serverCall(server, "/api-key/verify", { key: created.key });
  assert.deepEqual(s.body.error, { message: "API Key is disabled", code: "KEY_DISABLED" });
  s = await serverCall(server, "/api-key/delete-all-expired-api-keys", {});
  assert.deepEqual(s.body, { success: true, error: null });

  res = await owner.client.apiKey.delete({ keyId: created.id });
  assert.deepEqual(res.data, { success: true });
  res = await owner.client.apiKey.get({ query: { id: created.id } });
  assert.equal(res.error.status, 404);
  await server.stop();
});

test("a key the real Better Auth created verifies in better-auth-rs on the same database", { skip: TARGET !== "rust" }, async () => {
  const shared = mkdtempSync(join(dir, "shared-"));
  const databaseUrl = `sqlite://${join(shared, "auth.db")}?mode=rwc`;
  const reference = await start("reference", { databaseUrl, logName: "reference" });
  const owner = browser(reference);
  const user = await signUp(owner);
  const res = await owner.client.apiKey.create({ name: "from-node", metadata: { from: "node" } });
  assert.equal(res.error, null, JSON.stringify(res.error));
  rememberSecret(res.data.key);
  await reference.stop();

  const rust = await start("rust", { databaseUrl, logName: "rust" });
  const s = await serverCall(rust, "/api-key/verify", { key: res.data.key });
  assert.equal(s.body.valid, true, JSON.stringify(s.body));
  assert.equal(s.body.key.id, res.data.id);
  assert.equal(s.body.key.referenceId, user.id);
  assert.deepEqual(s.body.key.metadata, { from: "node" });
  assert.equal(s.body.key.requestCount, 1);
  const r = await withKey(rust, "/get-session", res.data.key);
  assert.equal(r.status, 200);
  assert.equal(r.body.user.id, user.id);
  const listed = await withKey(rust, "/api-key/list", res.data.key);
  assert.equal(listed.body.apiKeys[0].name, "from-node");
  await rust.stop();
});
