// The admin plugin through the official client's `adminClient()`, the same assertions against
// better-auth-rs and against the real Better Auth (admin() plugin):
//
//   BETTER_AUTH_BIN=../../target/debug/better-auth-rs node --test e2e-admin.test.mjs
//   E2E_TARGET=reference node --test e2e-admin.test.mjs
//
// The first admin gets its role in the database (both servers read roles from there), then
// lists, creates, bans, unbans, sets passwords, impersonates, checks permissions and removes.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { adminClient } from "better-auth/client/plugins";
import { PASSWORD, here, newBrowser, startServer, stopAllServers, uniqueEmail } from "./harness.mjs";

const TARGET = process.env.E2E_TARGET === "reference" ? "reference" : "rust";
const dir = mkdtempSync(join(tmpdir(), "ba-e2e-admin-"));
after(async () => {
  await stopAllServers();
  rmSync(dir, { recursive: true, force: true });
});

function start() {
  if (TARGET === "reference") return startServer({ target: TARGET, dir, env: { ADMIN: "1" } });
  const config = join(dir, "admin.toml");
  writeFileSync(config, `${readFileSync(join(here, "e2e.toml"), "utf8")}\n[plugins.admin]\nenabled = true\n`);
  return startServer({ target: TARGET, dir, config });
}

const browser = (server) => newBrowser(server.base, { plugins: [adminClient()] });

async function signUp(b, email, name = "User") {
  const res = await b.client.signUp.email({ email, password: PASSWORD, name });
  assert.equal(res.error, null, JSON.stringify(res.error));
  return res.data.user;
}

test(`the admin plugin through adminClient (${TARGET})`, async () => {
  const server = await start();
  const db = new Database(join(server.dir, "auth.db"));
  try {
    const admin = browser(server);
    const adminUser = await signUp(admin, uniqueEmail("admin"), "Ada");
    const user = browser(server);
    const userEmail = uniqueEmail("plain");
    const plain = await signUp(user, userEmail);
    assert.equal(plain.role, "user");

    let res = await admin.client.admin.listUsers({ query: {} });
    assert.equal(res.error.status, 403);
    assert.equal(res.error.code, "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS");

    db.prepare(`UPDATE "user" SET role = 'admin' WHERE id = ?`).run(adminUser.id);

    res = await admin.client.admin.listUsers({ query: { searchValue: userEmail, limit: 10 } });
    assert.equal(res.error, null);
    assert.equal(res.data.total, 1);
    assert.equal(res.data.limit, 10);
    assert.equal(res.data.users[0].email, userEmail);
    assert.equal(res.data.users[0].banned, false);

    res = await admin.client.admin.getUser({ query: { id: plain.id } });
    assert.equal(res.data.email, userEmail);

    const createdEmail = uniqueEmail("created");
    res = await admin.client.admin.createUser({ email: createdEmail, password: PASSWORD, name: "New", role: "user" });
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.data.user.email, createdEmail);
    assert.equal(res.data.user.role, "user");
    res = await admin.client.admin.createUser({ email: createdEmail, password: PASSWORD, name: "Again" });
    assert.equal(res.error.code, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL");
    const created = browser(server);
    assert.equal((await created.client.signIn.email({ email: createdEmail, password: PASSWORD })).error, null);

    res = await admin.client.admin.banUser({ userId: plain.id, banReason: "spam" });
    assert.equal(res.data.user.banned, true);
    assert.equal(res.data.user.banReason, "spam");
    res = await user.client.getSession({ query: { disableCookieCache: true } });
    assert.equal(res.data, null, "the banned user's sessions are gone");
    res = await user.client.signIn.email({ email: userEmail, password: PASSWORD });
    assert.equal(res.error.status, 403);
    assert.equal(res.error.code, "BANNED_USER");
    assert.equal(
      res.error.message,
      "You have been banned from this application. Please contact support if you believe this is an error.",
    );
    res = await admin.client.admin.banUser({ userId: adminUser.id });
    assert.equal(res.error.code, "YOU_CANNOT_BAN_YOURSELF");
    res = await admin.client.admin.unbanUser({ userId: plain.id });
    assert.equal(res.data.user.banned, false);

    res = await admin.client.admin.setUserPassword({ userId: plain.id, newPassword: "another-password-1" });
    assert.deepEqual(res.data, { status: true });
    assert.equal((await user.client.signIn.email({ email: userEmail, password: PASSWORD })).error.status, 401);
    assert.equal((await user.client.signIn.email({ email: userEmail, password: "another-password-1" })).error, null);

    res = await admin.client.admin.setRole({ userId: plain.id, role: ["user", "editor"] });
    assert.equal(res.data.user.role, "user,editor");

    res = await admin.client.admin.hasPermission({ permissions: { user: ["list"] } });
    assert.deepEqual(res.data, { error: null, success: true });
    res = await user.client.admin.hasPermission({ permissions: { user: ["list"] } });
    assert.deepEqual(res.data, { error: null, success: false });

    res = await admin.client.admin.impersonateUser({ userId: plain.id });
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.data.session.impersonatedBy, adminUser.id);
    assert.ok(admin.jar.header().includes("better-auth.admin_session="));
    res = await admin.client.getSession({ query: { disableCookieCache: true } });
    assert.equal(res.data.user.id, plain.id);
    const list = await user.client.listSessions();
    assert.ok(list.data.every((s) => !s.impersonatedBy), "impersonation is not listed to the user");
    res = await admin.client.admin.stopImpersonating();
    assert.equal(res.data.user.id, adminUser.id);
    res = await admin.client.getSession({ query: { disableCookieCache: true } });
    assert.equal(res.data.user.id, adminUser.id);
    res = await admin.client.admin.stopImpersonating();
    assert.equal(res.error.status, 400);
    assert.equal(res.error.message, "You are not impersonating anyone");

    res = await admin.client.admin.listUserSessions({ userId: plain.id });
    assert.ok(res.data.sessions.length >= 1);
    res = await admin.client.admin.revokeUserSessions({ userId: plain.id });
    assert.deepEqual(res.data, { success: true });
    res = await user.client.getSession({ query: { disableCookieCache: true } });
    assert.equal(res.data, null);

    res = await admin.client.admin.updateUser({ userId: plain.id, data: { name: "Renamed" } });
    assert.equal(res.data.name, "Renamed");
    res = await admin.client.admin.updateUser({ userId: plain.id, data: {} });
    assert.equal(res.error.code, "NO_DATA_TO_UPDATE");

    res = await admin.client.admin.removeUser({ userId: adminUser.id });
    assert.equal(res.error.code, "YOU_CANNOT_REMOVE_YOURSELF");
    res = await admin.client.admin.removeUser({ userId: plain.id });
    assert.deepEqual(res.data, { success: true });
    res = await admin.client.admin.getUser({ query: { id: plain.id } });
    assert.equal(res.error.status, 404);
    assert.equal(res.error.code, "USER_NOT_FOUND");

    const anonymous = browser(server);
    res = await anonymous.client.admin.listUsers({ query: {} });
    assert.equal(res.error.status, 401);
  } finally {
    db.close();
    await server.stop();
  }
});
