// The anonymous plugin through the official client's `anonymousClient()`, the same assertions
// against better-auth-rs and against the real Better Auth (anonymous() plugin):
//
//   BETTER_AUTH_BIN=../../target/debug/better-auth-rs node --test e2e-anonymous.test.mjs
//   E2E_TARGET=reference node --test e2e-anonymous.test.mjs

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { anonymousClient } from "better-auth/client/plugins";
import { PASSWORD, SESSION_COOKIE, here, newBrowser, startServer, stopAllServers, uniqueEmail } from "./harness.mjs";

const TARGET = process.env.E2E_TARGET === "reference" ? "reference" : "rust";
const dir = mkdtempSync(join(tmpdir(), "ba-e2e-anonymous-"));
after(async () => {
  await stopAllServers();
  rmSync(dir, { recursive: true, force: true });
});

function start() {
  if (TARGET === "reference") return startServer({ target: TARGET, dir, env: { ANONYMOUS: "1" } });
  const config = join(dir, "anonymous.toml");
  writeFileSync(config, `${readFileSync(join(here, "e2e.toml"), "utf8")}\n[plugins.anonymous]\nenabled = true\n`);
  return startServer({ target: TARGET, dir, config });
}

const browser = (server) => newBrowser(server.base, { plugins: [anonymousClient()] });

test(`the anonymous plugin through anonymousClient (${TARGET})`, async () => {
  const server = await start();
  const db = new Database(join(server.dir, "auth.db"));
  const userRow = (id) => db.prepare(`SELECT id, "isAnonymous" FROM "user" WHERE id = ?`).get(id);
  try {
    const b = browser(server);
    let res = await b.client.signIn.anonymous();
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(typeof res.data.token, "string");
    const anon = res.data.user;
    assert.equal(anon.isAnonymous, true);
    assert.equal(anon.name, "Anonymous");
    assert.equal(anon.emailVerified, false);
    assert.match(anon.email, /^[a-z0-9]{32}@anonymous\.placeholder\.invalid$/);
    assert.ok(b.jar.header().includes(`${SESSION_COOKIE}=`));
    assert.equal(userRow(anon.id).isAnonymous, 1);

    res = await b.client.signIn.anonymous();
    assert.equal(res.error.status, 400);
    assert.equal(res.error.code, "ANONYMOUS_USERS_CANNOT_SIGN_IN_AGAIN_ANONYMOUSLY");
    assert.equal(res.error.message, "Anonymous users cannot sign in again anonymously");

    const email = uniqueEmail("linked");
    res = await b.client.signUp.email({ email, password: PASSWORD, name: "Linked" });
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.data.user.isAnonymous, false);
    assert.equal(userRow(anon.id), undefined, "the anonymous user is removed once linked");
    res = await b.client.getSession({ query: { disableCookieCache: true } });
    assert.equal(res.data.user.email, email);

    res = await b.client.deleteAnonymousUser();
    assert.equal(res.error.status, 403);
    assert.equal(res.error.code, "USER_IS_NOT_ANONYMOUS");

    const c = browser(server);
    const second = (await c.client.signIn.anonymous()).data.user;
    res = await c.client.signIn.email({ email, password: "wrong-password-9" });
    assert.equal(res.error.status, 401);
    assert.notEqual(userRow(second.id), undefined, "a failed sign-in keeps it");
    res = await c.client.signIn.email({ email, password: PASSWORD });
    assert.equal(res.error, null);
    assert.equal(userRow(second.id), undefined);

    const d = browser(server);
    const third = (await d.client.signIn.anonymous()).data.user;
    res = await d.client.deleteAnonymousUser();
    assert.deepEqual(res.data, { success: true });
    assert.equal(userRow(third.id), undefined);
    res = await d.client.getSession();
    assert.equal(res.data, null);
  } finally {
    db.close();
    await server.stop();
  }
});
