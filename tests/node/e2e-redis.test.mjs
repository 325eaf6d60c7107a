// Sessions in Redis shared with the real Better Auth: the server under test
// (E2E_TARGET: our binary by default, or the reference) and a reference Better
// Auth configured with `secondaryStorage` on the same Redis, key prefix and
// secret (reference-config.mjs redisStorage). Each reads the sessions the other
// created, sees the other's revocations, and both write the same key layout.
// Each server has its own SQLite database: only Redis is shared.
//
//   BETTER_AUTH_BIN=../../target/debug/better-auth-rs node --test e2e-redis.test.mjs
//   E2E_TARGET=reference node --test e2e-redis.test.mjs
//
// Redis: REDIS_URL / TEST_REDIS_URL (default redis://127.0.0.1:6379); when it
// is unreachable the tests are skipped, or fail with CI=true.

import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createClient } from "redis";
import { PASSWORD, SESSION_COOKIE, here, newBrowser, startServer, stopAllServers, uniqueEmail } from "./harness.mjs";

const TARGET = process.env.E2E_TARGET === "reference" ? "reference" : "rust";
const REDIS_URL = process.env.TEST_REDIS_URL || process.env.REDIS_URL || "redis://127.0.0.1:6379";
const PREFIX = `e2e-redis-${process.pid}-${Date.now()}:`;

let redis = null;
let skip = false;
let ours;
let theirs;
let dir;

before(async () => {
  const client = createClient({ url: REDIS_URL, socket: { connectTimeout: 2_000, reconnectStrategy: false } });
  client.on("error", () => {});
  try {
    await client.connect();
    redis = client;
  } catch (err) {
    if (process.env.CI === "true") throw new Error(`Redis unreachable at ${REDIS_URL} and CI=true: ${err.message}`);
    console.log(`SKIPPED e2e-redis: Redis unreachable at ${REDIS_URL} (${err.message})`);
    skip = true;
    return;
  }
  dir = mkdtempSync(join(tmpdir(), "ba-e2e-redis-"));
  const config = join(dir, "e2e-redis.toml");
  writeFileSync(config, `${readFileSync(join(here, "e2e.toml"), "utf8")}\n[redis]\nkey_prefix = "${PREFIX}"\n`);
  const env = { REDIS_URL, REDIS_KEY_PREFIX: PREFIX };
  ours = await startServer({ target: TARGET, env, config });
  theirs = await startServer({ target: "reference", env });
});

after(async () => {
  await stopAllServers();
  if (redis) {
    for await (const keys of redis.scanIterator({ MATCH: `${PREFIX}*` })) {
      if (keys.length) await redis.del(keys);
    }
    await redis.quit();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function signUp(server) {
  const browser = newBrowser(server.base);
  const email = uniqueEmail("redis");
  const { data, error } = await browser.client.signUp.email({ email, password: PASSWORD, name: "Redis" });
  assert.equal(error, null);
  return { ...browser, email, token: data.token, userId: data.user.id };
}

/** A browser at `server` holding the session cookie issued by the other server. */
function carrying(server, from) {
  const browser = newBrowser(server.base);
  browser.jar.set(SESSION_COOKIE, from.jar.get(SESSION_COOKIE));
  return browser;
}

async function entry(token) {
  const raw = await redis.get(PREFIX + token);
  return raw && JSON.parse(raw);
}

for (const [name, creator, reader] of [
  ["the reference reads a session the server under test created", () => ours, () => theirs],
  ["the server under test reads a session the reference created", () => theirs, () => ours],
]) {
  test(name, async (t) => {
    if (skip) return t.skip("Redis unreachable");
    const user = await signUp(creator());
    const other = carrying(reader(), user);
    const { data, error } = await other.client.getSession();
    assert.equal(error, null);
    assert.equal(data?.session?.token, user.token);
    assert.equal(data.user.email, user.email);
    assert.equal(data.user.role, "user");
  });

  test(`${name}, and sees it revoked by its creator`, async (t) => {
    if (skip) return t.skip("Redis unreachable");
    const user = await signUp(creator());
    const other = carrying(reader(), user);
    assert.equal((await other.client.getSession()).data?.session?.token, user.token);
    const { error } = await user.client.revokeSessions();
    assert.equal(error, null);
    assert.equal((await other.client.getSession()).data, null);
    assert.equal(await redis.get(PREFIX + user.token), null);
  });
}

test("both write the same key layout, values and TTLs", async (t) => {
  if (skip) return t.skip("Redis unreachable");
  const a = await signUp(ours);
  const b = await signUp(theirs);
  const [ea, eb] = [await entry(a.token), await entry(b.token)];
  assert.deepEqual(Object.keys(ea).sort(), ["session", "user"]);
  assert.deepEqual(Object.keys(ea.session).sort(), Object.keys(eb.session).sort());
  assert.deepEqual(Object.keys(ea.user).sort(), Object.keys(eb.user).sort());
  for (const user of [a, b]) {
    const ttl = await redis.ttl(PREFIX + user.token);
    assert.ok(ttl > 604_790 && ttl <= 604_800, `token TTL ${ttl}`);
    const list = JSON.parse(await redis.get(`${PREFIX}active-sessions-${user.userId}`));
    assert.equal(list.length, 1);
    assert.equal(list[0].token, user.token);
    assert.equal(typeof list[0].expiresAt, "number");
    const listTtl = await redis.ttl(`${PREFIX}active-sessions-${user.userId}`);
    assert.ok(listTtl > 604_790 && listTtl <= 604_800, `list TTL ${listTtl}`);
  }
});
