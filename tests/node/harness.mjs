// Shared helpers of the Node-side tests (e2e.test.mjs, shared-database.test.mjs):
// starting either server (the real Better Auth or the Rust binary) on a free
// loopback port, a minimal cookie jar, and the official client wired to it.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { createAuthClient } from "better-auth/client";
import { jwtClient } from "better-auth/client/plugins";

export const here = dirname(fileURLToPath(import.meta.url));
export const SECRET = "e2e-test-secret-0123456789abcdefghijklmn"; // 40 characters
export const TRUSTED_ORIGIN = "http://localhost:3000";
export const SESSION_COOKIE = "better-auth.session_token";
export const DONT_REMEMBER_COOKIE = "better-auth.dont_remember";
export const PASSWORD = "correct-horse-battery";
export const READY_TIMEOUT_MS = 15_000;

// ---------------------------------------------------------------------------
// Secrets seen on the wire, and the check that no server log holds one
// ---------------------------------------------------------------------------

/** Every secret this process sent or received: passwords, tokens, cookie values, JWTs. */
const secretsSeen = new Set([SECRET, PASSWORD]);
const pendingBodies = [];
const SECRET_FIELDS = new Set(["password", "newPassword", "currentPassword", "token", "accessToken", "refreshToken", "idToken"]);

/** Adds a value (and its decoded and unsigned forms) to the secrets no log may contain. */
export function rememberSecret(value) {
  if (typeof value !== "string" || value.length < 8) return;
  secretsSeen.add(value);
  try {
    const decoded = decodeURIComponent(value);
    secretsSeen.add(decoded);
    // A signed cookie is `<token>.<signature>`; the token alone is the secret part.
    const dot = decoded.lastIndexOf(".");
    if (dot >= 16 && !decoded.startsWith("ey")) secretsSeen.add(decoded.slice(0, dot));
  } catch {
    // not URI-encoded
  }
}

function rememberFields(value) {
  if (Array.isArray(value)) value.forEach(rememberFields);
  else if (value && typeof value === "object") {
    for (const [key, inner] of Object.entries(value)) {
      if (SECRET_FIELDS.has(key)) rememberSecret(inner);
      rememberFields(inner);
    }
  }
}

function rememberJson(text) {
  try {
    rememberFields(JSON.parse(text));
  } catch {
    // not JSON
  }
}

// Every fetch of this process (the official client's included) passes through here.
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init = {}) => {
  if (typeof init.body === "string") rememberJson(init.body);
  const response = await realFetch(input, init);
  for (const cookie of response.headers.getSetCookie()) rememberSecret(parseSetCookie(cookie).value);
  for (const header of ["set-auth-token", "set-auth-jwt"]) rememberSecret(response.headers.get(header) ?? undefined);
  if ((response.headers.get("content-type") ?? "").includes("json")) {
    pendingBodies.push(response.clone().text().then(rememberJson, () => {}));
  }
  return response;
};

/** The secrets seen so far that appear in `text` (shown shortened, never whole). */
export async function secretsIn(text) {
  await Promise.all(pendingBodies);
  return [...secretsSeen].filter((s) => text.includes(s)).map((s) => `${s.slice(0, 4)}…(${s.length} chars)`);
}

/** Throws when the server's stdout/stderr hold any secret seen on the wire. */
export async function assertLogsHoldNoSecret(server) {
  const logs = [server.stdoutLog, server.stderrLog]
    .filter((f) => existsSync(f))
    .map((f) => readFileSync(f, "utf8"))
    .join("\n");
  const leaked = await secretsIn(logs);
  assert.deepEqual(leaked, [], `the ${server.target} server's log holds secrets: ${leaked.join(", ")}`);
}

// ---------------------------------------------------------------------------
// Server process
// ---------------------------------------------------------------------------

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

/** Path of the Rust binary: $BETTER_AUTH_BIN or target/debug/better-auth-rs. */
export function rustBinary() {
  return resolve(process.env.BETTER_AUTH_BIN || join(here, "..", "..", "target", "debug", "better-auth-rs"));
}

/** [command, args] of the server: target "reference" (the real Better Auth) or "rust". */
export function serverCommand(target) {
  if (target === "reference") {
    return [process.execPath, [join(here, "reference-server.mjs")]];
  }
  // An older Better Auth, installed as an npm alias (versioned-server.mjs).
  if (target.startsWith("better-auth-")) {
    return [process.execPath, [join(here, "versioned-server.mjs")]];
  }
  const bin = rustBinary();
  if (!existsSync(bin)) {
    throw new Error(`Rust binary not found at ${bin}; build it or set BETTER_AUTH_BIN (or E2E_TARGET=reference)`);
  }
  return [bin, ["serve"]];
}

/** Child environment: ours only, minus anything that would switch Better Auth into test mode. */
export function childEnv(extra) {
  const env = { ...process.env, ...extra };
  for (const key of ["NODE_ENV", "TEST", "NODE_TEST_CONTEXT", "NODE_OPTIONS", "RATE_LIMIT", "COOKIE_CACHE", "VERIFICATION_STORE_IN_DATABASE"]) delete env[key];
  return env;
}

/** Polls GET <base>/api/auth/ok until it answers 2xx; fails if the child exits or after timeoutMs. */
export async function waitUntilReady(base, child, timeoutMs = READY_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  let exited = null;
  child.once("exit", (code, signal) => {
    exited = { code, signal };
  });
  child.once("error", (err) => {
    exited = { error: err.message };
  });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`server exited early (${JSON.stringify(exited)})`);
    try {
      const res = await fetch(`${base}/api/auth/ok`, { signal: AbortSignal.timeout(1_000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`server not ready after ${timeoutMs} ms`);
}

/** Every server started and not yet stopped, so `after` hooks can kill leftovers. */
const running = new Set();

/** Stops every server still running (for `after` hooks). */
export async function stopAllServers() {
  await Promise.all([...running].map((s) => s.stop()));
}

/**
 * Starts a server on a free loopback port. Its stdout/stderr go to
 * `<logName>.stdout.log` / `<logName>.stderr.log` in `dir` (`stdout.log` /
 * `stderr.log` without logName).
 *
 * Without `dir`, a temp dir is created, the database defaults to a fresh
 * SQLite file in it, and `stop()` removes the dir (unless E2E_KEEP_TMP=1).
 * With `dir`, the caller owns it and `stop()` leaves it alone.
 *
 * `env` is merged last into the child's environment; a key set to undefined
 * is removed from it.
 *
 * `cookieCache` ("compact" | "jwt" | "jwe") turns the session cookie cache on:
 * `COOKIE_CACHE` for the reference (reference-config.mjs), the same settings
 * as a `[session.cookie_cache]` section appended to a copy of `config` for Rust.
 */
export async function startServer({
  target,
  secret = SECRET,
  databaseUrl,
  dir,
  logName,
  env = {},
  config = join(here, "e2e.toml"),
  cookieCache,
} = {}) {
  rememberSecret(secret);
  for (const [key, value] of Object.entries(env)) if (/SECRET/.test(key)) rememberSecret(value);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const [cmd, args] = serverCommand(target);
  const ownsDir = !dir;
  const workDir = dir ?? mkdtempSync(join(tmpdir(), `ba-e2e-${target}-`));
  const prefix = logName ? `${logName}.` : "";
  const stdoutLog = join(workDir, `${prefix}stdout.log`);
  const stderrLog = join(workDir, `${prefix}stderr.log`);
  if (cookieCache) {
    env = { COOKIE_CACHE: cookieCache, ...env };
    const withCache = join(workDir, `${prefix}cookie-cache.toml`);
    writeFileSync(
      withCache,
      `${readFileSync(config, "utf8")}\n[session.cookie_cache]\nenabled = true\nstrategy = "${cookieCache}"\n`,
    );
    config = withCache;
  }
  const childEnvironment = childEnv({
    ...(target.startsWith("better-auth-") ? { BETTER_AUTH_PACKAGE: target } : {}),
    PORT: String(port),
    HOST: "127.0.0.1",
    BETTER_AUTH_URL: base,
    BETTER_AUTH_SECRET: secret,
    DATABASE_URL: databaseUrl ?? `sqlite://${join(workDir, "auth.db")}?mode=rwc`,
    BETTER_AUTH_TRUSTED_ORIGINS: TRUSTED_ORIGIN,
    BETTER_AUTH_CONFIG: config,
    // Debug logs, so that the log scan at stop() sees everything the service might log.
    ...(target === "rust" ? { RUST_LOG: "debug" } : {}),
    BETTER_AUTH_EMAIL_FILE: join(workDir, "outbox.jsonl"),
  });
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete childEnvironment[key];
    else childEnvironment[key] = value;
  }
  const child = spawn(cmd, args, {
    cwd: workDir,
    env: childEnvironment,
    stdio: ["ignore", openSync(stdoutLog, "a"), openSync(stderrLog, "a")],
  });
  let stopping = null;
  const server = {
    target,
    base,
    dir: workDir,
    stdoutLog,
    stderrLog,
    outbox: childEnvironment.BETTER_AUTH_EMAIL_FILE,
    child,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((r) => child.once("exit", r));
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
          await exited;
          clearTimeout(timer);
        }
        running.delete(server);
        if (target === "rust") {
          try {
            await assertLogsHoldNoSecret(server);
          } catch (err) {
            process.exitCode = 1;
            console.error(err.message);
            throw err;
          }
        }
        if (ownsDir && process.env.E2E_KEEP_TMP !== "1") rmSync(workDir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
  running.add(server);
  try {
    await waitUntilReady(base, child);
  } catch (err) {
    child.kill("SIGKILL");
    running.delete(server);
    err.message += ` — see ${stderrLog}`;
    throw err;
  }
  return server;
}

/** Every mail the server has written to its outbox (BETTER_AUTH_EMAIL_FILE), oldest first. */
export function readOutbox(server) {
  if (!existsSync(server.outbox)) return [];
  return readFileSync(server.outbox, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

// ---------------------------------------------------------------------------
// Cookies
// ---------------------------------------------------------------------------

/** Parses one Set-Cookie line into {name, value, attrs}; attribute names lower-cased, flags = true. */
export function parseSetCookie(line) {
  const [pair, ...rest] = line.split(";");
  const eq = pair.indexOf("=");
  const attrs = {};
  for (const part of rest) {
    const [k, ...v] = part.trim().split("=");
    if (k) attrs[k.toLowerCase()] = v.length ? v.join("=") : true;
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attrs };
}

export function setCookies(response) {
  return response.headers.getSetCookie().map(parseSetCookie);
}

export function findSetCookie(response, name) {
  return setCookies(response).find((c) => c.name === name);
}

/** The minimal cookie jar Node's fetch lacks: one origin, no expiry beyond Max-Age=0. */
export class CookieJar {
  #cookies = new Map();

  store(response) {
    for (const cookie of setCookies(response)) {
      if (cookie.attrs["max-age"] === "0" || cookie.value === "") this.#cookies.delete(cookie.name);
      else this.#cookies.set(cookie.name, cookie.value);
    }
  }

  /** Puts a cookie in by hand (e.g. one issued by another server). */
  set(name, value) {
    this.#cookies.set(name, value);
  }

  get(name) {
    return this.#cookies.get(name);
  }

  header() {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }
}

/** Expected signed cookie value: encodeURIComponent(raw + "." + base64(HMAC-SHA256(secret, raw))). */
export function signedCookieValue(raw, secret = SECRET) {
  return encodeURIComponent(`${raw}.${createHmac("sha256", secret).update(raw).digest("base64")}`);
}

// ---------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------

/**
 * A "browser" for the server at `base`: the official client with its own
 * cookie jar (or the one given). Every request carries a trusted Origin
 * (Node's fetch sends Sec-Fetch-Mode: cors). `responses` records every raw
 * Response, newest last.
 */
/** A browser-like client on `base`: the official client with `jwtClient()` and `plugins`. */
export function newBrowser(base, { jar = new CookieJar(), plugins = [], headers: extraHeaders = {} } = {}) {
  const responses = [];
  const exchanges = new WeakMap(); // response → what was sent, and a copy of the body
  const client = createAuthClient({
    baseURL: base,
    plugins: [jwtClient(), ...plugins],
    fetchOptions: {
      headers: { origin: base, ...extraHeaders },
      customFetchImpl: async (input, init = {}) => {
        const headers = new Headers(init.headers);
        const cookie = jar.header();
        if (cookie) headers.set("cookie", cookie);
        const response = await fetch(input, { ...init, headers });
        exchanges.set(response, {
          method: init.method ?? "GET",
          url: String(input instanceof Request ? input.url : input),
          headers,
          body: typeof init.body === "string" ? init.body : undefined,
          text: response.clone().text().catch((err) => `(unreadable body: ${err.message})`),
        });
        jar.store(response);
        responses.push(response);
        return response;
      },
    },
  });
  const lastResponse = (path) => {
    const found = responses.findLast((r) => new URL(r.url).pathname === `/api/auth${path}`);
    assert.ok(found, `no response recorded for ${path}`);
    return found;
  };
  /** The last exchange with `path`, spelled out: request line, cookie, body → status, Set-Cookie, body. */
  const describe = async (path) => {
    const response = lastResponse(path);
    const sent = exchanges.get(response);
    const lines = [`${sent.method} ${sent.url}`];
    const cookie = sent.headers.get("cookie");
    if (cookie) lines.push(`  cookie: ${cookie}`);
    if (sent.body !== undefined) lines.push(`  body: ${sent.body}`);
    lines.push(`→ ${response.status} ${response.statusText}`);
    for (const line of response.headers.getSetCookie()) lines.push(`  set-cookie: ${line}`);
    lines.push(`  body: ${await sent.text}`);
    return lines.join("\n");
  };
  return { client, jar, responses, lastResponse, describe };
}

let emailCounter = 0;
export function uniqueEmail(local = "user") {
  emailCounter += 1;
  return `${local}-${process.pid}-${Date.now()}-${emailCounter}@example.com`;
}
