// A fleet: the REAL Better Auth (Node, the version in package.json) and better-auth-rs serving
// one PostgreSQL database and one Redis at the same time, with clients whose requests alternate
// between the two, then the rollback (Node alone on the database):
//
//   BETTER_AUTH_BIN=../../target/debug/better-auth-rs node --test fleet.test.mjs
//
// Node starts first (its migrations create the tables); better-auth-rs adopts them, so its
// `[storage] format = "auto"` writes in Better Auth's formats, and it creates the JWT signing key
// both sides then use (sealed as Better Auth seals keys). Sessions and verification values live
// in Redis on both sides (Better Auth's secondaryStorage), rate-limit counters too (its
// "secondary-storage" rate-limit storage, `[rate_limit] storage = "redis"` here).
//
// Env: TEST_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/postgres), REDIS_URL
// (redis://127.0.0.1:6379), BETTER_AUTH_BIN, CI=true (an unreachable server fails instead of
// skipping).

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import pg from "pg";
import http from "node:http";
import { betterAuth } from "better-auth";
import { toNodeHandler } from "better-auth/node";
import { createClient } from "redis";
import { buildAuthOptions, openDatabase, redisStorage } from "./reference-config.mjs";
import {
  PASSWORD,
  SESSION_COOKIE,
  CookieJar,
  TRUSTED_ORIGIN,
  freePort,
  here,
  newBrowser,
  readOutbox,
  startServer,
  stopAllServers,
  uniqueEmail,
} from "./harness.mjs";

const PG_ADMIN_URL = process.env.TEST_POSTGRES_URL || "postgres://postgres@127.0.0.1:5432/postgres";
const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";
const IN_CI = process.env.CI === "true";
const SCRYPT_HASH = /^[0-9a-f]{32}:[0-9a-f]{128}$/;
const NEW_PASSWORD = "another-horse-battery";
const USERS = 4;

const stats = { requests: 0 };
let dir;
let admin;
let dbName;
let redis;
let prefix;

after(async () => {
  await stopAllServers();
  if (redis) {
    for await (const keys of redis.scanIterator({ MATCH: `${prefix}*` })) if (keys.length) await redis.del(keys);
    await redis.quit();
  }
  if (admin) {
    await admin.query(`drop database if exists "${dbName}" with (force)`).catch(() => {});
    await admin.end();
  }
  if (dir && process.env.E2E_KEEP_TMP !== "1") rmSync(dir, { recursive: true, force: true });
});

/** PostgreSQL and Redis, or a skip (a failure in CI). */
async function provision(t) {
  admin = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5_000 });
  admin.on("error", () => {});
  const client = createClient({ url: REDIS_URL, socket: { connectTimeout: 2_000, reconnectStrategy: false } });
  client.on("error", () => {});
  try {
    await admin.connect();
    await client.connect();
  } catch (err) {
    admin = null;
    if (IN_CI) throw err;
    t.skip(`PostgreSQL or Redis unreachable: ${err.message}`);
    return null;
  }
  redis = client;
  dbName = `fleet_${randomBytes(6).toString("hex")}`;
  await admin.query(`create database "${dbName}"`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${dbName}`;
  prefix = `fleet-${randomBytes(4).toString("hex")}:`;
  dir = mkdtempSync(join(tmpdir(), "ba-fleet-"));
  return url.toString();
}

/** Reads the shared database directly. */
async function query(databaseUrl, sql, params = []) {
  const conn = new pg.Client({ connectionString: databaseUrl });
  await conn.connect();
  try {
    return (await conn.query(sql, params)).rows;
  } finally {
    await conn.end();
  }
}

/**
 * A pair on the shared database and Redis: Node ("theirs") and ours, with `cookieCache` (a
 * strategy) or without; the servers' own logs and outboxes in `dir`.
 */
async function startPair(databaseUrl, secret, name, cookieCache) {
  const config = join(dir, `${name}.toml`);
  writeFileSync(
    config,
    `${readFileSync(join(here, "e2e.toml"), "utf8").replace(/\[rate_limit\]\nenabled = false\n/, "")}\n` +
      `[redis]\nkey_prefix = "${prefix}"\n\n[rate_limit]\nenabled = true\nstorage = "redis"\n`,
  );
  const env = { REDIS_URL, REDIS_KEY_PREFIX: prefix, RATE_LIMIT: "1", RATE_LIMIT_STORAGE: "secondary-storage" };
  const common = { secret, databaseUrl, env, cookieCache };
  const theirs = await startServer({ ...common, target: "reference", dir: join(dir), logName: `${name}-node` });
  const ours = await startServer({ ...common, target: "rust", config, dir: join(dir), logName: `${name}-rs` });
  return { theirs, ours };
}

/**
 * A Better Auth with a cookie cache `strategy` in this process (its modules are loaded once,
 * not per server), on the shared database and Redis, with a fresh server of ours beside it.
 */
async function startCachePair(databaseUrl, secret, strategy) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    BETTER_AUTH_URL: base,
    BETTER_AUTH_SECRET: secret,
    BETTER_AUTH_TRUSTED_ORIGINS: TRUSTED_ORIGIN,
    BETTER_AUTH_EMAIL_FILE: join(dir, `cache-${strategy}-node.outbox.jsonl`),
    COOKIE_CACHE: strategy,
  };
  const db = await openDatabase(databaseUrl);
  const storage = redisStorage(REDIS_URL, prefix);
  const auth = betterAuth(buildAuthOptions({ env, database: db.database, secondaryStorage: storage.storage }));
  const server = http.createServer(toNodeHandler(auth));
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  const theirs = {
    target: "reference",
    base,
    async stop() {
      server.close();
      server.closeAllConnections();
      await db.close();
      await storage.close();
    },
  };
  const config = join(dir, `cache-${strategy}.toml`);
  writeFileSync(config, `${readFileSync(join(here, "e2e.toml"), "utf8")}\n[redis]\nkey_prefix = "${prefix}"\n`);
  const ours = await startServer({
    target: "rust",
    secret,
    databaseUrl,
    config,
    cookieCache: strategy,
    env: { REDIS_URL },
    dir,
    logName: `cache-${strategy}-rs`,
  });
  return { theirs, ours };
}

let ipCounter = 0;
/** One person: one cookie jar and one client IP, a browser on each server. */
function person(pair) {
  ipCounter += 1;
  const jar = new CookieJar();
  const headers = { "x-forwarded-for": `198.51.100.${ipCounter}` };
  const on = {
    ours: newBrowser(pair.ours.base, { jar, headers }),
    theirs: newBrowser(pair.theirs.base, { jar, headers }),
  };
  return { jar, on, email: uniqueEmail("fleet") };
}

/** Counts a call's request, and asserts it succeeded. */
async function ok(promise, what) {
  stats.requests += 1;
  const { data, error } = await promise;
  assert.equal(error, null, `${what}: ${JSON.stringify(error)}`);
  return data;
}

async function counted(promise) {
  stats.requests += 1;
  return promise;
}

async function jwksOf(server) {
  const res = await counted(fetch(`${server.base}/api/auth/jwks`));
  assert.equal(res.status, 200);
  return createLocalJWKSet(await res.json());
}

function lastMail(server, type, email) {
  const mail = readOutbox(server).findLast((m) => m.type === type && m.email === email);
  assert.ok(mail, `a ${type} mail to ${email} from ${server.target}`);
  return mail;
}

test("a Node Better Auth and better-auth-rs serve one database and one Redis, then Node alone", async (t) => {
  const databaseUrl = await provision(t);
  if (!databaseUrl) return;
  const started = Date.now();
  const phases = [];
  const phase = (name) => phases.push(`${name} ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const secret = randomBytes(24).toString("base64url");
  const pair = await startPair(databaseUrl, secret, "fleet");
  const servers = ["ours", "theirs"];
  phase("pair started");
  const log = readFileSync(pair.ours.stdoutLog, "utf8") + readFileSync(pair.ours.stderrLog, "utf8");
  assert.match(log, /storage format: better-auth/, "ours adopted Node's tables in Better Auth's format");

  // The JWT key ours created at start is the one both sign with.
  const keys = await query(databaseUrl, `select "privateKey" from "jwks"`);
  assert.equal(keys.length, 1, "one key, made by ours");
  assert.match(JSON.parse(keys[0].privateKey), /^[0-9a-f]+$/, "sealed with Better Auth's symmetricEncrypt");

  // ---- Users: each step alternates between the servers ---------------------------------
  const people = [];
  for (let i = 0; i < USERS; i += 1) {
    const p = person(pair);
    const [a, b] = i % 2 === 0 ? servers : [...servers].reverse();
    p.signedUpOn = a;
    const up = await ok(p.on[a].client.signUp.email({ email: p.email, password: PASSWORD, name: `User ${i}` }), `sign-up on ${a}`);
    p.id = up.user.id;
    const [hash] = await query(databaseUrl, `select "password" from "account" where "userId" = $1`, [p.id]);
    assert.match(hash.password, SCRYPT_HASH, `the hash written by ${a} is Better Auth's scrypt`);
    const inOn = await ok(p.on[b].client.signIn.email({ email: p.email, password: PASSWORD }), `sign-in on ${b}`);
    assert.equal(inOn.user.id, p.id);
    const token = inOn.token;
    // get-session and /token on both; every JWT verifies with both JWKS.
    const jwts = [];
    for (const s of servers) {
      const session = await ok(p.on[s].client.getSession(), `get-session on ${s}`);
      assert.equal(session.session.token, token, `${s} sees the session ${b} made`);
      assert.equal(session.user.email, p.email);
      const header = p.on[s].lastResponse("/get-session").headers.get("set-auth-jwt");
      assert.ok(header, `${s} sends set-auth-jwt`);
      jwts.push(header);
      const { token: jwt } = await ok(p.on[s].client.token(), `/token on ${s}`);
      jwts.push(jwt);
    }
    for (const s of servers) {
      const jwks = await jwksOf(pair[s]);
      for (const jwt of jwts) {
        const { payload } = await jwtVerify(jwt, jwks);
        assert.equal(payload.sub, p.id);
        assert.equal(payload.email, p.email);
      }
    }
    assert.equal(new Set(jwts.map((j) => decodeProtectedHeader(j).kid)).size, 1, "one key signs on both");
    // update-user on one, seen by the other.
    await ok(p.on[a].client.updateUser({ name: `Renamed ${i}` }), `update-user on ${a}`);
    const renamed = await ok(p.on[b].client.getSession(), `get-session on ${b}`);
    assert.equal(renamed.user.name, `Renamed ${i}`, `${b} sees the name ${a} wrote`);
    // Sign-out on one: the other sees it at once.
    const cookie = p.jar.get(SESSION_COOKIE);
    await ok(p.on[b].client.signOut(), `sign-out on ${b}`);
    p.jar.set(SESSION_COOKIE, cookie);
    const gone = await ok(p.on[a].client.getSession(), `get-session on ${a} after sign-out`);
    assert.equal(gone, null, `${a} sees the sign-out on ${b}`);
    people.push(p);
  }

  phase("users");
  // ---- Links issued by one, completed on the other -------------------------------------
  for (const [i, p] of people.slice(0, 4).entries()) {
    const [a, b] = i % 2 === 0 ? servers : [...servers].reverse();
    await ok(p.on[a].client.requestPasswordReset({ email: p.email, redirectTo: "/reset" }), `request-password-reset on ${a}`);
    const reset = lastMail(pair[a], "reset-password", p.email);
    await ok(p.on[b].client.resetPassword({ newPassword: NEW_PASSWORD, token: reset.token }), `reset-password on ${b}`);
    p.password = NEW_PASSWORD;
    const signedIn = await ok(p.on[a].client.signIn.email({ email: p.email, password: NEW_PASSWORD }), `sign-in on ${a}`);
    assert.equal(signedIn.user.id, p.id);
    const [hash] = await query(databaseUrl, `select "password" from "account" where "userId" = $1`, [p.id]);
    assert.match(hash.password, SCRYPT_HASH, `the reset on ${b} wrote Better Auth's scrypt`);

    await ok(p.on[a].client.sendVerificationEmail({ email: p.email }), `send-verification-email on ${a}`);
    const verify = lastMail(pair[a], "verify-email", p.email);
    await ok(p.on[b].client.verifyEmail({ query: { token: verify.token } }), `verify-email on ${b}`);
    const session = await ok(p.on[a].client.getSession({ query: { disableCookieCache: true } }), `get-session on ${a}`);
    assert.equal(session.user.emailVerified, true, `${a} sees the verification completed on ${b}`);
  }
  for (const p of people) p.password ??= PASSWORD;

  phase("links");
  // ---- Rate limits: one budget across the fleet ----------------------------------------
  for (const first of servers) {
    const p = person(pair);
    const order = first === "ours" ? ["ours", "theirs", "ours", "theirs"] : ["theirs", "ours", "theirs", "ours"];
    const statuses = [];
    for (const s of order) {
      stats.requests += 1;
      const { error } = await p.on[s].client.signIn.email({ email: p.email, password: "wrong-password-1" });
      statuses.push(error?.status);
    }
    assert.deepEqual(statuses, [401, 401, 401, 429], `sign-in attempts alternating from ${first}: one shared limit`);
  }

  // ---- Cookie caches read by both ------------------------------------------------------
  phase("rate limits");
  const strategies = ["compact", "jwt", "jwe"];
  const cachedPairs = await Promise.all(strategies.map((s) => startCachePair(databaseUrl, secret, s)));
  phase("cache pairs started");
  for (const [k, strategy] of strategies.entries()) {
    const cached = cachedPairs[k];
    for (const [a, b] of [["ours", "theirs"], ["theirs", "ours"]]) {
      const p = person(cached);
      await ok(p.on[a].client.signUp.email({ email: p.email, password: PASSWORD, name: "Cached" }), `sign-up on ${a}`);
      p.id = (await ok(p.on[a].client.getSession(), "get-session")).user.id;
      p.password = PASSWORD;
      people.push(p);
      const token = decodeURIComponent(p.jar.get(SESSION_COOKIE)).split(".")[0];
      assert.ok(p.jar.get("better-auth.session_data"), `${a} sets the ${strategy} cache cookie`);
      // The session leaves the storage: only the cache cookie ${a} wrote can answer now.
      assert.equal(await redis.del(`${prefix}${token}`), 1);
      const fromCache = await ok(p.on[b].client.getSession(), `get-session on ${b}`);
      assert.equal(fromCache?.user?.email, p.email, `${b} reads the ${strategy} cache ${a} wrote`);
      const bypass = await ok(p.on[b].client.getSession({ query: { disableCookieCache: true } }), `get-session on ${b}`);
      assert.equal(bypass, null, "the session itself is gone");
    }
    await cached.ours.stop();
    await cached.theirs.stop();
  }

  phase("cookie caches");
  // ---- Rollback: Node alone ------------------------------------------------------------
  await pair.ours.stop();
  const node = pair.theirs;
  for (const p of people) {
    const b = newBrowser(node.base, { headers: { "x-forwarded-for": `203.0.113.${(people.indexOf(p) % 250) + 1}` } });
    const signedIn = await ok(b.client.signIn.email({ email: p.email, password: p.password }), `sign-in of ${p.email} on Node alone`);
    assert.equal(signedIn.user.id, p.id);
    await ok(b.client.getSession(), "get-session on Node alone");
    assert.ok(b.lastResponse("/get-session").headers.get("set-auth-jwt"), "Node signs with the key ours made");
    await ok(b.client.token(), "/token on Node alone");
  }
  const hashes = await query(databaseUrl, `select "password" from "account" where "providerId" = 'credential'`);
  assert.equal(hashes.length, people.length);
  for (const { password } of hashes) assert.match(password, SCRYPT_HASH);

  phase("rollback");
  t.diagnostic(`phases (cumulative): ${phases.join(", ")}`);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  t.diagnostic(`fleet: ${stats.requests} requests across both servers (${people.length} users), ${seconds} s including 2 + 3 server processes started`);
});
