// The last-login-method plugin through the official client's `lastLoginMethodClient()`, the
// same assertions against better-auth-rs and against the real Better Auth:
//
//   BETTER_AUTH_BIN=../../target/debug/better-auth-rs node --test e2e-last-login-method.test.mjs
//   E2E_TARGET=reference node --test e2e-last-login-method.test.mjs

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { lastLoginMethodClient } from "better-auth/client/plugins";
import { PASSWORD, findSetCookie, here, newBrowser, startServer, stopAllServers, uniqueEmail } from "./harness.mjs";

const TARGET = process.env.E2E_TARGET === "reference" ? "reference" : "rust";
const COOKIE = "better-auth.last_used_login_method";
const dir = mkdtempSync(join(tmpdir(), "ba-e2e-last-login-"));
after(async () => {
  await stopAllServers();
  rmSync(dir, { recursive: true, force: true });
});

function start() {
  if (TARGET === "reference") return startServer({ target: TARGET, dir, env: { LAST_LOGIN_METHOD: "1" } });
  const config = join(dir, "last-login.toml");
  writeFileSync(
    config,
    `${readFileSync(join(here, "e2e.toml"), "utf8")}\n[plugins.last_login_method]\nenabled = true\nstore_in_database = true\n`,
  );
  return startServer({ target: TARGET, dir, config });
}

test(`the last-login-method plugin through lastLoginMethodClient (${TARGET})`, async () => {
  const server = await start();
  try {
    const b = newBrowser(server.base, { plugins: [lastLoginMethodClient()] });
    const email = uniqueEmail("last");
    let res = await b.client.signUp.email({ email, password: PASSWORD, name: "L" });
    assert.equal(res.error, null);
    const set = findSetCookie(b.lastResponse("/sign-up/email"), COOKIE);
    assert.ok(set, "the method cookie");
    assert.equal(set.value, "email");
    assert.equal(set.attrs["max-age"], "2592000");
    assert.equal(set.attrs.path, "/");
    assert.equal(set.attrs.samesite.toLowerCase(), "lax");
    assert.equal(set.attrs.httponly, undefined, "readable by scripts");
    res = await b.client.getSession({ query: { disableCookieCache: true } });
    assert.equal(res.data.user.lastLoginMethod, "email");

    const other = newBrowser(server.base, { plugins: [lastLoginMethodClient()] });
    res = await other.client.signIn.email({ email, password: "wrong-password-3" });
    assert.equal(res.error.status, 401);
    assert.equal(findSetCookie(other.lastResponse("/sign-in/email"), COOKIE), undefined);
    res = await other.client.signIn.email({ email, password: PASSWORD });
    assert.equal(findSetCookie(other.lastResponse("/sign-in/email"), COOKIE).value, "email");
    res = await other.client.getSession({ query: { disableCookieCache: true } });
    assert.equal(res.data.user.lastLoginMethod, "email");
  } finally {
    await server.stop();
  }
});
