// The multi-session plugin through the official client's `multiSessionClient()`, the same
// assertions against better-auth-rs and against the real Better Auth (multiSession() plugin,
// maximumSessions 3):
//
//   BETTER_AUTH_BIN=../../target/debug/better-auth-rs node --test e2e-multi-session.test.mjs
//   E2E_TARGET=reference node --test e2e-multi-session.test.mjs

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { multiSessionClient } from "better-auth/client/plugins";
import { PASSWORD, SESSION_COOKIE, findSetCookie, here, newBrowser, startServer, stopAllServers, uniqueEmail } from "./harness.mjs";

const TARGET = process.env.E2E_TARGET === "reference" ? "reference" : "rust";
const dir = mkdtempSync(join(tmpdir(), "ba-e2e-multi-session-"));
after(async () => {
  await stopAllServers();
  rmSync(dir, { recursive: true, force: true });
});

function start() {
  if (TARGET === "reference") return startServer({ target: TARGET, dir, env: { MULTI_SESSION: "1" } });
  const config = join(dir, "multi-session.toml");
  writeFileSync(
    config,
    `${readFileSync(join(here, "e2e.toml"), "utf8")}\n[plugins.multi_session]\nenabled = true\nmaximum_sessions = 3\n`,
  );
  return startServer({ target: TARGET, dir, config });
}

const browser = (server) => newBrowser(server.base, { plugins: [multiSessionClient()] });
const twin = (token) => `${SESSION_COOKIE}_multi-${token.toLowerCase()}`;

async function signUp(b, name) {
  const email = uniqueEmail(name);
  const res = await b.client.signUp.email({ email, password: PASSWORD, name });
  assert.equal(res.error, null, JSON.stringify(res.error));
  return { email, token: res.data.token };
}

async function emails(b) {
  const res = await b.client.multiSession.listDeviceSessions();
  assert.equal(res.error, null, JSON.stringify(res.error));
  return res.data.map((e) => e.user.email).sort();
}

test(`the multi-session plugin through multiSessionClient (${TARGET})`, async () => {
  const server = await start();
  try {
    const b = browser(server);
    const a = await signUp(b, "a");
    const line = findSetCookie(b.lastResponse("/sign-up/email"), twin(a.token));
    assert.ok(line, await b.describe("/sign-up/email"));
    assert.equal(line.attrs["max-age"], "604800");
    assert.equal(line.attrs.path, "/");
    assert.equal(line.attrs.httponly, true);
    assert.equal(line.attrs.samesite, "Lax");
    assert.equal(line.value, findSetCookie(b.lastResponse("/sign-up/email"), SESSION_COOKIE).value);
    const bb = await signUp(b, "b");
    const c = await signUp(b, "c");
    assert.deepEqual(await emails(b), [a.email, bb.email, c.email].sort());

    // Past the maximum: signed in, but no twin.
    const d = await signUp(b, "d");
    assert.equal(b.jar.get(twin(d.token)), undefined);
    assert.equal((await emails(b)).length, 3);

    let res = await b.client.multiSession.setActive({ sessionToken: a.token });
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.data.session.token, a.token);
    assert.equal(res.data.user.email, a.email);
    res = await b.client.getSession({ query: { disableCookieCache: true } });
    assert.equal(res.data.user.email, a.email);

    // Tokens the browser holds no twin for: refused.
    const other = browser(server);
    const e = await signUp(other, "e");
    for (const token of [d.token, e.token]) {
      res = await b.client.multiSession.setActive({ sessionToken: token });
      assert.equal(res.error.status, 401);
      assert.equal(res.error.code, "INVALID_SESSION_TOKEN");
      assert.equal(res.error.message, "Invalid session token");
      res = await b.client.multiSession.revoke({ sessionToken: token });
      assert.equal(res.error.status, 401);
      assert.equal(res.error.code, "INVALID_SESSION_TOKEN");
    }
    res = await other.client.getSession({ query: { disableCookieCache: true } });
    assert.equal(res.data.user.email, e.email);

    res = await b.client.multiSession.revoke({ sessionToken: bb.token });
    assert.deepEqual(res.data, { status: true });
    assert.equal(b.jar.get(twin(bb.token)), undefined);
    assert.deepEqual(await emails(b), [a.email, c.email].sort());

    // Revoking the active account moves the browser to the next one.
    res = await b.client.multiSession.revoke({ sessionToken: a.token });
    assert.deepEqual(res.data, { status: true });
    res = await b.client.getSession({ query: { disableCookieCache: true } });
    assert.equal(res.data.user.email, c.email);

    // Bad input: 400.
    for (const body of [{}, { sessionToken: 5 }]) {
      for (const path of ["/multi-session/set-active", "/multi-session/revoke"]) {
        res = await b.client.$fetch(path, { method: "POST", body });
        assert.equal(res.error.status, 400, `${path} ${JSON.stringify(body)}`);
      }
    }

    // Sign-out expires every twin.
    const f = await signUp(b, "f");
    res = await b.client.signOut();
    assert.equal(res.error, null);
    for (const token of [c.token, f.token]) {
      const gone = findSetCookie(b.lastResponse("/sign-out"), twin(token));
      assert.equal(gone?.attrs["max-age"], "0", await b.describe("/sign-out"));
    }
    assert.deepEqual(await emails(b), []);
    res = await other.client.multiSession.listDeviceSessions();
    assert.deepEqual(res.data.map((x) => x.user.email), [e.email]);
  } finally {
    await server.stop();
  }
});
