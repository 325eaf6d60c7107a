// The username plugin through the official client's `usernameClient()`, the same assertions
// against better-auth-rs and against the real Better Auth (username() plugin):
//
//   BETTER_AUTH_BIN=../../target/debug/better-auth-rs node --test e2e-username.test.mjs
//   E2E_TARGET=reference node --test e2e-username.test.mjs

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { usernameClient } from "better-auth/client/plugins";
import { PASSWORD, SESSION_COOKIE, here, newBrowser, startServer, stopAllServers, uniqueEmail } from "./harness.mjs";

const TARGET = process.env.E2E_TARGET === "reference" ? "reference" : "rust";
const dir = mkdtempSync(join(tmpdir(), "ba-e2e-username-"));
after(async () => {
  await stopAllServers();
  rmSync(dir, { recursive: true, force: true });
});

function start() {
  if (TARGET === "reference") return startServer({ target: TARGET, dir, env: { USERNAME: "1" } });
  const config = join(dir, "username.toml");
  writeFileSync(config, `${readFileSync(join(here, "e2e.toml"), "utf8")}\n[plugins.username]\nenabled = true\n`);
  return startServer({ target: TARGET, dir, config });
}

const browser = (server) => newBrowser(server.base, { plugins: [usernameClient()] });
let counter = 0;
const uniqueName = (prefix) => `${prefix}_${process.pid}_${Date.now() % 100000}${++counter}`.slice(0, 30);

test(`the username plugin through usernameClient (${TARGET})`, async () => {
  const server = await start();
  try {
    const ada = browser(server);
    const given = uniqueName("Ada.L");
    const email = uniqueEmail("ada");
    let res = await ada.client.signUp.email({ email, password: PASSWORD, name: "Ada", username: given });
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.data.user.username, given.toLowerCase());
    assert.equal(res.data.user.displayUsername, given);

    const other = browser(server);
    res = await other.client.signUp.email({
      email: uniqueEmail("other"),
      password: PASSWORD,
      name: "Other",
      username: given.toUpperCase(),
    });
    assert.equal(res.error.status, 400);
    assert.equal(res.error.code, "USERNAME_IS_ALREADY_TAKEN");
    assert.equal(res.error.message, "Username is already taken. Please try another.");
    for (const [username, code] of [
      ["ab", "USERNAME_TOO_SHORT"],
      ["a".repeat(31), "USERNAME_TOO_LONG"],
      ["white space", "INVALID_USERNAME"],
    ]) {
      res = await other.client.signUp.email({ email: uniqueEmail("bad"), password: PASSWORD, name: "B", username });
      assert.equal(res.error.status, 400, username);
      assert.equal(res.error.code, code);
    }

    const fresh = browser(server);
    res = await fresh.client.signIn.username({ username: given.toUpperCase(), password: PASSWORD });
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.data.redirect, false);
    assert.equal(res.data.user.email, email);
    assert.equal(typeof res.data.token, "string");
    assert.ok(fresh.jar.header().includes(`${SESSION_COOKIE}=`));
    res = await fresh.client.getSession({ query: { disableCookieCache: true } });
    assert.equal(res.data.user.username, given.toLowerCase());

    const stranger = browser(server);
    const wrong = await stranger.client.signIn.username({ username: given, password: "wrong-password-1" });
    const unknown = await stranger.client.signIn.username({ username: uniqueName("nobody"), password: PASSWORD });
    for (const r of [wrong, unknown]) {
      assert.equal(r.error.status, 401);
      assert.equal(r.error.code, "INVALID_USERNAME_OR_PASSWORD");
      assert.equal(r.error.message, "Invalid username or password");
    }
    res = await stranger.client.signIn.username({ username: "x!", password: PASSWORD });
    assert.equal(res.error.status, 422);
    assert.equal(res.error.code, "USERNAME_TOO_SHORT");
    assert.equal(stranger.jar.header(), "");

    res = await stranger.client.isUsernameAvailable({ username: given.toUpperCase() });
    assert.deepEqual(res.data, { available: false });
    res = await stranger.client.isUsernameAvailable({ username: uniqueName("free") });
    assert.deepEqual(res.data, { available: true });
    res = await stranger.client.isUsernameAvailable({ username: "bad name" });
    assert.equal(res.error.status, 422);
    assert.equal(res.error.code, "INVALID_USERNAME");

    const renamed = uniqueName("Countess");
    res = await ada.client.updateUser({ username: renamed });
    assert.equal(res.error, null, JSON.stringify(res.error));
    res = await ada.client.getSession({ query: { disableCookieCache: true } });
    assert.equal(res.data.user.username, renamed.toLowerCase());
    res = await ada.client.updateUser({ username: "a" });
    assert.equal(res.error.status, 400);
    assert.equal(res.error.code, "USERNAME_TOO_SHORT");
    const grace = browser(server);
    const graceName = uniqueName("Grace");
    await grace.client.signUp.email({ email: uniqueEmail("grace"), password: PASSWORD, name: "G", username: graceName });
    res = await ada.client.updateUser({ username: graceName });
    assert.equal(res.error.code, "USERNAME_IS_ALREADY_TAKEN");
    res = await stranger.client.signIn.username({ username: renamed, password: PASSWORD });
    assert.equal(res.error, null, "the new username signs in");
  } finally {
    await server.stop();
  }
});
