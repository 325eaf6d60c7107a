// Sessions and verification values in Redis shared with the real Better Auth:
// the server under test (E2E_TARGET: our binary by default, or the reference)
// and a reference Better Auth configured with `secondaryStorage` on the same
// Redis, key prefix and secret (reference-config.mjs redisStorage).
//
// Sessions: each reads the sessions the other created, sees the other's
// revocations, and both write the same key layout; each server of that pair
// has its own SQLite database, only Redis is shared.
//
// Verification values (reset-password and delete-account tokens): per storage
// mode (Redis only, and storeInDatabase / `[verification] store_in_database`)
// a pair sharing Redis AND one SQLite database (the user must exist on both):
// a reset link mailed by one resets the password on the other, both ways; in
// the first mode also an email verification and an account deletion issued by
// one are completed on the other. Links come from each server's outbox
// (BETTER_AUTH_EMAIL_FILE: our `file` transport, the reference's send* hooks).
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
import {
  PASSWORD,
  SESSION_COOKIE,
  here,
  newBrowser,
  readOutbox,
  startServer,
  stopAllServers,
  uniqueEmail,
} from "./harness.mjs";

const TARGET = process.env.E2E_TARGET === "reference" ? "reference" : "rust";
const REDIS_URL = process.env.TEST_REDIS_URL || process.env.REDIS_URL || "redis://127.0.0.1:6379";
const PREFIX = `e2e-redis-${process.pid}-${Date.now()}:`;

const NEW_PASSWORD = "a-brand-new-passphrase";

/** Verification storage modes: the setting on each side. */
const MODES = [
  { name: "in Redis only", toml: "", env: {} },
  {
    name: "with storeInDatabase",
    toml: "[verification]\nstore_in_database = true\n",
    env: { VERIFICATION_STORE_IN_DATABASE: "1" },
  },
];

let redis = null;
let skip = false;
let ours;
let theirs;
let dir;
/** Per mode: { ours, theirs } on one SQLite database and one Redis. */
const pairs = [];

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
  for (const [i, mode] of MODES.entries()) {
    const modeConfig = join(dir, `e2e-redis-${i}.toml`);
    writeFileSync(modeConfig, `${readFileSync(config, "utf8")}\n${mode.toml}`);
    const databaseUrl = `sqlite://${join(dir, `shared-${i}.db`)}?mode=rwc`;
    const modeEnv = { ...env, ...mode.env };
    // The reference first: its migrations make the schema, ours adopt it; and its JWKS key,
    // which both sign with (a key of ours is sealed for ours only, see shared-database.test.mjs).
    const reference = await startServer({ target: "reference", env: modeEnv, databaseUrl });
    assert.equal((await fetch(`${reference.base}/api/auth/jwks`)).status, 200);
    pairs.push({ theirs: reference, ours: await startServer({ target: TARGET, env: modeEnv, databaseUrl, config: modeConfig }) });
  }
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

// ---------------------------------------------------------------------------
// Verification values
// ---------------------------------------------------------------------------

/** The newest mail of `type` to `email` in the server's outbox. */
function lastMail(server, type, email) {
  const mail = readOutbox(server).findLast((m) => m.type === type && m.email === email);
  assert.ok(mail, `a ${type} mail to ${email} from ${server.target}`);
  return mail;
}

async function signIn(server, email, password) {
  return newBrowser(server.base).client.signIn.email({ email, password });
}

/**
 * One test each way on the pair `pairOf()`: `run(from, to)`, where `from` mails the link and
 * `to` completes it; `title(from, to)` names the two servers.
 */
function bothWays(title, pairOf, run) {
  const names = { ours: "the server under test", theirs: "the reference" };
  for (const [from, to] of [["theirs", "ours"], ["ours", "theirs"]]) {
    test(title(names[from], names[to]), async (t) => {
      if (skip) return t.skip("Redis unreachable");
      await run(pairOf()[from], pairOf()[to]);
    });
  }
}

for (const [i, mode] of MODES.entries()) {
  const pair = () => pairs[i];
  bothWays(
    (from, to) => `${to} resets with a link ${from} mailed (${mode.name})`,
    pair,
    async (from, to) => {
      const account = await signUp(from);
      const asked = await account.client.requestPasswordReset({ email: account.email, redirectTo: "/reset" });
      assert.equal(asked.error, null);
      const { token } = lastMail(from, "reset-password", account.email);
      const key = `${PREFIX}verification:reset-password:${token}`;
      const stored = JSON.parse(await redis.get(key));
      assert.equal(stored.value, account.userId);

      const link = await fetch(`${to.base}/api/auth/reset-password/${token}?callbackURL=%2Freset`, { redirect: "manual" });
      assert.equal(link.status, 302);
      assert.equal(link.headers.get("location"), `${to.base}/reset?token=${token}`);
      const reset = await newBrowser(to.base).client.resetPassword({ newPassword: NEW_PASSWORD, token });
      assert.equal(reset.error, null);
      assert.deepEqual(reset.data, { status: true });
      assert.equal(await redis.get(key), null, "spent");
      assert.equal((await signIn(to, account.email, NEW_PASSWORD)).error, null);

      const reuse = await newBrowser(from.base).client.resetPassword({ newPassword: "another-passphrase", token });
      assert.equal(reuse.error?.code, "INVALID_TOKEN");
    },
  );

  test(`both write the same verification value, member for member, with the same TTL (${mode.name})`, async (t) => {
    if (skip) return t.skip("Redis unreachable");
    const written = [];
    for (const server of [pair().ours, pair().theirs]) {
      const account = await signUp(server);
      await account.client.requestPasswordReset({ email: account.email });
      const { token } = lastMail(server, "reset-password", account.email);
      const key = `${PREFIX}verification:reset-password:${token}`;
      const value = JSON.parse(await redis.get(key));
      const ttl = await redis.ttl(key);
      assert.ok(ttl > 3_590 && ttl <= 3_600, `${server.target} TTL ${ttl}`);
      assert.equal(value.identifier, `reset-password:${token}`);
      // Better Auth takes the expiry a moment before `createdAt`: a millisecond or so less.
      const lifetime = Date.parse(value.expiresAt) - Date.parse(value.createdAt);
      assert.ok(lifetime > 3_599_000 && lifetime <= 3_600_000, `${server.target} lifetime ${lifetime} ms`);
      written.push(Object.keys(value));
    }
    assert.deepEqual(written[0], written[1], "the same members in the same order");
    assert.equal(written[0].includes("id"), mode.env.VERIFICATION_STORE_IN_DATABASE === "1", "an id only with the row");
  });
}

bothWays(
  (from, to) => `an email verification mailed by ${from} completes on ${to}`,
  () => pairs[0],
  async (from, to) => {
    const account = await signUp(from);
    assert.equal((await account.client.sendVerificationEmail({ email: account.email })).error, null);
    const { token } = lastMail(from, "verify-email", account.email);
    const verify = await newBrowser(to.base).client.verifyEmail({ query: { token } });
    assert.equal(verify.error, null);
    assert.equal(verify.data.status, true);
    const other = carrying(to, account);
    const { data } = await other.client.getSession();
    assert.equal(data.user.emailVerified, true);
    assert.equal(data.session.token, account.token);
  },
);

bothWays(
  (from, to) => `an account deletion mailed by ${from} completes on ${to}`,
  () => pairs[0],
  async (from, to) => {
    const account = await signUp(from);
    const asked = await account.client.deleteUser({ callbackURL: "/goodbye" });
    assert.equal(asked.error, null);
    const { token } = lastMail(from, "delete-account", account.email);
    const key = `${PREFIX}verification:delete-account-${token}`;
    assert.equal(JSON.parse(await redis.get(key)).value, account.userId);

    const other = carrying(to, account);
    const res = await fetch(`${to.base}/api/auth/delete-user/callback?token=${token}&callbackURL=%2Fgoodbye`, {
      headers: { cookie: other.jar.header(), origin: to.base },
      redirect: "manual",
    });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get("location"), "/goodbye");
    assert.equal(await redis.get(key), null, "spent");
    assert.equal((await signIn(from, account.email, PASSWORD)).error?.status, 401, "the user is gone");
  },
);
