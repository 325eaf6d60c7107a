// Session and account management with the OFFICIAL Better Auth client, and the
// cookie cache read by independent code:
//
//   E2E_TARGET=reference node --test e2e-account.test.mjs   # the real Better Auth
//   BETTER_AUTH_BIN=../../target/debug/better-auth-rs node --test e2e-account.test.mjs
//
// Every assertion holds against the real Better Auth (package.json pins the
// version), so a failure against the Rust binary is a compatibility bug. The
// database is the server's SQLite file, read here with better-sqlite3.

import assert from "node:assert/strict";
import { createHmac, hkdfSync } from "node:crypto";
import { join } from "node:path";
import { after, before, test } from "node:test";
import Database from "better-sqlite3";
import { base64url, calculateJwkThumbprint, decodeProtectedHeader, jwtDecrypt, jwtVerify } from "jose";
import {
  PASSWORD,
  SECRET,
  SESSION_COOKIE,
  findSetCookie,
  newBrowser as newBrowserAt,
  rustBinary,
  startServer,
  stopAllServers,
  uniqueEmail,
} from "./harness.mjs";

const TARGET = process.env.E2E_TARGET === "reference" ? "reference" : "rust";
const DATA_COOKIE = "better-auth.session_data";

let server;
let db;
before(async () => {
  server = await startServer({ target: TARGET });
  db = new Database(join(server.dir, "auth.db"), { readonly: true, fileMustExist: true, timeout: 5_000 });
});
after(async () => {
  db?.close();
  await stopAllServers();
});

function newBrowser(at = server) {
  return newBrowserAt(at.base);
}

/** Signs up a fresh user in a fresh browser. */
async function signedUpBrowser(at = server) {
  const browser = newBrowser(at);
  const email = uniqueEmail("acct");
  const { data, error } = await browser.client.signUp.email({ email, password: PASSWORD, name: "Ada" });
  assert.equal(error, null);
  return { ...browser, email, signUp: data };
}

/** A second browser signed in as the same user. */
async function secondBrowser(email) {
  const browser = newBrowser();
  const { data, error } = await browser.client.signIn.email({ email, password: PASSWORD });
  assert.equal(error, null);
  return { ...browser, token: data.token };
}

const sessionTokens = (userId) =>
  db.prepare('SELECT token FROM "session" WHERE "userId" = ? ORDER BY token').all(userId).map((r) => r.token);
const userRow = (id) => db.prepare('SELECT * FROM "user" WHERE id = ?').get(id);
const accountRows = (userId) => db.prepare('SELECT * FROM "account" WHERE "userId" = ?').all(userId);

function assertApiError(error, { status, code, message }) {
  assert.ok(error, "expected an error");
  assert.equal(error.status, status);
  assert.equal(error.code, code);
  assert.equal(error.message, message);
}

function assertExpired(response, name) {
  const cookie = findSetCookie(response, name);
  assert.ok(cookie, `${name} is expired`);
  assert.equal(cookie.value, "");
  assert.equal(cookie.attrs["max-age"], "0");
}

// ---------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------

test("listSessions returns the user's active sessions with their tokens", async () => {
  const { client, email, signUp } = await signedUpBrowser();
  const other = await secondBrowser(email);

  const { data, error } = await client.listSessions();

  assert.equal(error, null);
  assert.deepEqual(data.map((s) => s.token).sort(), [signUp.token, other.token].sort());
  for (const session of data) {
    assert.equal(session.userId, signUp.user.id);
    assert.ok(session.expiresAt instanceof Date);
    assert.equal(typeof session.id, "string");
  }
  assert.deepEqual(sessionTokens(signUp.user.id), [signUp.token, other.token].sort());
});

test("listSessions without a session is 401 UNAUTHORIZED", async () => {
  const { error } = await newBrowser().client.listSessions();
  assertApiError(error, { status: 401, code: "UNAUTHORIZED", message: "Unauthorized" });
});

test("revokeSession deletes another session of the user; that browser is signed out", async () => {
  const { client, email, signUp, lastResponse } = await signedUpBrowser();
  const other = await secondBrowser(email);

  const { data, error } = await client.revokeSession({ token: other.token });

  assert.equal(error, null);
  assert.deepEqual(data, { status: true });
  assert.equal(findSetCookie(lastResponse("/revoke-session"), SESSION_COOKIE), undefined);
  assert.deepEqual(sessionTokens(signUp.user.id), [signUp.token]);
  assert.equal((await other.client.getSession()).data, null);
  assert.equal((await client.getSession()).data.session.token, signUp.token);
});

test("revokeSession of the current session expires its cookies", async () => {
  const { client, signUp, lastResponse } = await signedUpBrowser();

  const { data, error } = await client.revokeSession({ token: signUp.token });

  assert.equal(error, null);
  assert.deepEqual(data, { status: true });
  assertExpired(lastResponse("/revoke-session"), SESSION_COOKIE);
  assert.deepEqual(sessionTokens(signUp.user.id), []);
  assert.equal((await client.getSession()).data, null);
});

test("revokeSession with another user's token does nothing", async () => {
  const { client } = await signedUpBrowser();
  const stranger = await signedUpBrowser();

  const { data, error } = await client.revokeSession({ token: stranger.signUp.token });

  assert.equal(error, null);
  assert.deepEqual(data, { status: true });
  assert.deepEqual(sessionTokens(stranger.signUp.user.id), [stranger.signUp.token]);
  assert.equal((await stranger.client.getSession()).data.session.token, stranger.signUp.token);
});

test("revokeSessions deletes every session of the user, the current one included", async () => {
  const { client, email, signUp, lastResponse } = await signedUpBrowser();
  const other = await secondBrowser(email);

  const { data, error } = await client.revokeSessions();

  assert.equal(error, null);
  assert.deepEqual(data, { status: true });
  assertExpired(lastResponse("/revoke-sessions"), SESSION_COOKIE);
  assert.deepEqual(sessionTokens(signUp.user.id), []);
  assert.equal((await other.client.getSession()).data, null);
});

test("revokeOtherSessions keeps only the current session", async () => {
  const { client, email, signUp } = await signedUpBrowser();
  const other = await secondBrowser(email);

  const { data, error } = await client.revokeOtherSessions();

  assert.equal(error, null);
  assert.deepEqual(data, { status: true });
  assert.deepEqual(sessionTokens(signUp.user.id), [signUp.token]);
  assert.equal((await other.client.getSession()).data, null);
  assert.equal((await client.getSession()).data.session.token, signUp.token);
});

test("updateSession without session additional fields has nothing to update", async () => {
  const { client, signUp } = await signedUpBrowser();
  const before = db.prepare('SELECT * FROM "session" WHERE token = ?').get(signUp.token);

  const { error } = await client.updateSession({ expiresAt: new Date(0).toISOString() });

  assert.ok(error);
  assert.equal(error.status, 400);
  assert.equal(error.message, "No fields to update");
  assert.equal(error.code, undefined);
  assert.deepEqual(db.prepare('SELECT * FROM "session" WHERE token = ?').get(signUp.token), before);
});

// ---------------------------------------------------------------------------
// User and accounts
// ---------------------------------------------------------------------------

test("updateUser changes name, image and a custom field; get-session shows them", async () => {
  const { client, signUp, lastResponse } = await signedUpBrowser();

  const { data, error } = await client.updateUser({ name: "Grace", image: "https://img.example/g.png", nickname: "amazing" });

  assert.equal(error, null);
  assert.deepEqual(data, { status: true });
  assert.ok(findSetCookie(lastResponse("/update-user"), SESSION_COOKIE), "session cookie re-set");
  const row = userRow(signUp.user.id);
  assert.equal(row.name, "Grace");
  assert.equal(row.image, "https://img.example/g.png");
  assert.equal(row.nickname, "amazing");
  assert.equal(row.role, "user");
  assert.equal(row.email, signUp.user.email);
  const session = await client.getSession();
  assert.equal(session.data.user.name, "Grace");
  assert.equal(session.data.user.nickname, "amazing");

  const cleared = await client.updateUser({ image: null });
  assert.equal(cleared.error, null);
  assert.equal(userRow(signUp.user.id).image, null);
});

test("updateUser refuses an email change and the input:false role field", async () => {
  const { client, signUp } = await signedUpBrowser();

  const email = await client.updateUser({ email: "new@example.com" });
  assertApiError(email.error, { status: 400, code: "EMAIL_CAN_NOT_BE_UPDATED", message: "Email can not be updated" });
  const role = await client.updateUser({ role: "admin" });
  assertApiError(role.error, { status: 400, code: "FIELD_NOT_ALLOWED", message: "role is not allowed to be set" });
  // (client.updateUser({}) would send a GET: an empty body makes the client pick GET.)
  const nothing = await client.$fetch("/update-user", { method: "POST", body: { emailVerified: true } });
  assert.equal(nothing.error.status, 400);
  assert.equal(nothing.error.message, "No fields to update");

  const row = userRow(signUp.user.id);
  assert.equal(row.role, "user");
  assert.equal(row.email, signUp.user.email);
  assert.equal(row.emailVerified, 0);
});

test("changePassword checks the current password, then replaces the hash", async () => {
  const { client, email, signUp } = await signedUpBrowser();
  const [before] = accountRows(signUp.user.id);

  const wrong = await client.changePassword({ currentPassword: "not the password", newPassword: "brand-new-password" });
  assertApiError(wrong.error, { status: 400, code: "INVALID_PASSWORD", message: "Invalid password" });
  const short = await client.changePassword({ currentPassword: PASSWORD, newPassword: "short" });
  assertApiError(short.error, { status: 400, code: "PASSWORD_TOO_SHORT", message: "Password too short" });
  assert.equal(accountRows(signUp.user.id)[0].password, before.password);

  const { data, error } = await client.changePassword({ currentPassword: PASSWORD, newPassword: "brand-new-password" });

  assert.equal(error, null);
  assert.equal(data.token, null);
  assert.equal(data.user.id, signUp.user.id);
  assert.notEqual(accountRows(signUp.user.id)[0].password, before.password);
  assert.deepEqual(sessionTokens(signUp.user.id), [signUp.token]);
  const old = await newBrowser().client.signIn.email({ email, password: PASSWORD });
  assert.equal(old.error.status, 401);
  const fresh = await newBrowser().client.signIn.email({ email, password: "brand-new-password" });
  assert.equal(fresh.error, null);
});

test("changePassword with revokeOtherSessions replaces every session by a new one", async () => {
  const { client, email, signUp, jar, lastResponse } = await signedUpBrowser();
  const other = await secondBrowser(email);

  const { data, error } = await client.changePassword({
    currentPassword: PASSWORD,
    newPassword: "brand-new-password",
    revokeOtherSessions: true,
  });

  assert.equal(error, null);
  assert.match(data.token, /^[A-Za-z0-9]{32}$/);
  assert.notEqual(data.token, signUp.token);
  const cookie = findSetCookie(lastResponse("/change-password"), SESSION_COOKIE);
  assert.ok(cookie.value.startsWith(`${data.token}.`));
  assert.equal(cookie.attrs["max-age"], "604800");
  assert.ok(jar.get(SESSION_COOKIE).startsWith(`${data.token}.`));
  assert.deepEqual(sessionTokens(signUp.user.id), [data.token]);
  assert.equal((await client.getSession()).data.session.token, data.token);
  assert.equal((await other.client.getSession()).data, null);
});

test("listAccounts shows the credential account without secrets", async () => {
  const { client, signUp } = await signedUpBrowser();

  const { data, error } = await client.listAccounts();

  assert.equal(error, null);
  assert.equal(data.length, 1);
  const [account] = data;
  assert.equal(account.id, accountRows(signUp.user.id)[0].id);
  assert.equal(account.providerId, "credential");
  assert.equal(account.accountId, signUp.user.id);
  assert.equal(account.userId, signUp.user.id);
  assert.deepEqual(account.scopes, []);
  for (const secret of ["password", "accessToken", "refreshToken", "idToken", "scope"]) {
    assert.equal(secret in account, false, `${secret} is not listed`);
  }
});

test("unlinkAccount refuses the last account", async () => {
  const { client, signUp } = await signedUpBrowser();
  const [credential] = accountRows(signUp.user.id);

  const last = await client.unlinkAccount({ accountId: credential.id });

  assertApiError(last.error, { status: 400, code: "FAILED_TO_UNLINK_LAST_ACCOUNT", message: "You can't unlink your last account" });
  assert.equal(accountRows(signUp.user.id).length, 1);
});

test("unlinkAccount deletes a linked account by its id, and only the user's", async () => {
  const { client, signUp } = await signedUpBrowser();
  const stranger = await signedUpBrowser();
  // A GitHub account as the OAuth flow would have stored it.
  const linked = `gh${Date.now()}${process.pid}`;
  const writer = new Database(join(server.dir, "auth.db"), { timeout: 5_000 });
  try {
    const now = new Date().toISOString();
    writer
      .prepare('INSERT INTO "account" (id, "accountId", "providerId", "userId", scope, "createdAt", "updatedAt") VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(linked, "12345", "github", signUp.user.id, "read:user,user:email", now, now);
  } finally {
    writer.close();
  }
  const listed = await client.listAccounts();
  const github = listed.data.find((a) => a.id === linked);
  assert.deepEqual(github.scopes, ["read:user", "user:email"]);

  const foreign = await client.unlinkAccount({ accountId: accountRows(stranger.signUp.user.id)[0].id });
  assertApiError(foreign.error, { status: 400, code: "ACCOUNT_NOT_FOUND", message: "Account not found" });
  assert.equal(accountRows(stranger.signUp.user.id).length, 1);

  const { data, error } = await client.unlinkAccount({ accountId: linked });

  assert.equal(error, null);
  assert.deepEqual(data, { status: true });
  assert.deepEqual(accountRows(signUp.user.id).map((a) => a.providerId), ["credential"]);
});

// ---------------------------------------------------------------------------
// Cookie cache: our cookies read by independent code, and by the other server
// ---------------------------------------------------------------------------

/** The HKDF key of the jwe strategy (docs/compatibility.md §7.5), computed with node:crypto. */
function jweKey(secret = SECRET) {
  return new Uint8Array(hkdfSync("sha256", secret, "better-auth-session", "BetterAuth.js Generated Encryption Key", 64));
}

/** Decodes a session_data value without Better Auth: HMAC / HS256 / dir+A256CBC-HS512. */
async function decodeIndependently(strategy, value) {
  if (strategy === "compact") {
    const cookie = JSON.parse(Buffer.from(value, "base64url").toString("utf8"));
    const signed = JSON.stringify({ ...cookie.session, expiresAt: cookie.expiresAt });
    assert.equal(createHmac("sha256", SECRET).update(signed).digest("base64url"), cookie.signature);
    return cookie.session;
  }
  if (strategy === "jwt") {
    const { payload, protectedHeader } = await jwtVerify(value, new TextEncoder().encode(SECRET));
    assert.deepEqual(protectedHeader, { alg: "HS256" });
    return payload;
  }
  const key = jweKey();
  const header = decodeProtectedHeader(value);
  assert.deepEqual(header, {
    alg: "dir",
    enc: "A256CBC-HS512",
    kid: await calculateJwkThumbprint({ kty: "oct", k: base64url.encode(key) }, "sha256"),
  });
  const { payload } = await jwtDecrypt(value, key, { clockTolerance: 15 });
  assert.match(payload.jti, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(payload.exp - payload.iat, 300);
  return payload;
}

for (const strategy of ["compact", "jwt", "jwe"]) {
  test(`the ${strategy} session_data cookie decodes with independent code`, async () => {
    const cached = await startServer({ target: TARGET, cookieCache: strategy, logName: strategy });
    try {
      const { signUp, lastResponse, client } = await signedUpBrowser(cached);
      const cookie = findSetCookie(lastResponse("/sign-up/email"), DATA_COOKIE);
      assert.ok(cookie, "session_data is set");
      assert.equal(cookie.attrs["max-age"], "300");

      const payload = await decodeIndependently(strategy, decodeURIComponent(cookie.value));

      assert.equal(payload.session.token, signUp.token);
      assert.equal(payload.user.id, signUp.user.id);
      assert.equal(payload.user.role, "user");
      assert.equal(payload.version, "1");
      assert.equal(typeof payload.updatedAt, "number");
      // update-user re-issues the cache with the new user.
      await client.updateUser({ name: "Cached Name" });
      const again = findSetCookie(lastResponse("/update-user"), DATA_COOKIE);
      const updated = await decodeIndependently(strategy, decodeURIComponent(again.value));
      assert.equal(updated.user.name, "Cached Name");
    } finally {
      await cached.stop();
    }
  });
}

test("a revoked session still reads from its cookie cache but can no longer revoke anything", async () => {
  const cached = await startServer({ target: TARGET, cookieCache: "compact", logName: "revoked" });
  try {
    const first = await signedUpBrowser(cached);
    const other = newBrowser(cached);
    const signIn = await other.client.signIn.email({ email: first.email, password: PASSWORD });
    assert.equal(signIn.error, null);

    const revoked = await first.client.revokeOtherSessions();
    assert.equal(revoked.error, null);

    // get-session trusts the cache cookie until it expires (Better Auth does not re-read).
    const stale = await other.client.getSession();
    assert.equal(stale.data.session.token, signIn.data.token);
    // Sensitive routes re-read the database: the revoked session is refused and cleared.
    const { error } = await other.client.revokeSessions();
    assertApiError(error, { status: 401, code: "UNAUTHORIZED", message: "Unauthorized" });
    assertExpired(other.lastResponse("/revoke-sessions"), SESSION_COOKIE);
    assert.equal((await first.client.getSession()).data.session.token, first.signUp.token);
  } finally {
    await cached.stop();
  }
});

// Needs both servers; runs with the Rust binary as the target, the reference as its peer.
test("Better Auth and better-auth-rs accept each other's jwe cookie cache", { skip: TARGET !== "rust" && "needs the Rust target" }, async () => {
  assert.ok(rustBinary());
  const ours = await startServer({ target: "rust", cookieCache: "jwe", logName: "rust-jwe" });
  const theirs = await startServer({ target: "reference", cookieCache: "jwe", logName: "reference-jwe" });
  try {
    // Each server has its own database: a non-null get-session on the other one can only
    // come from the cookie cache it decrypted.
    for (const [issuer, reader] of [
      [ours, theirs],
      [theirs, ours],
    ]) {
      const { jar, signUp } = await signedUpBrowser(issuer);
      const response = await fetch(`${reader.base}/api/auth/get-session`, { headers: { cookie: jar.header() } });
      assert.equal(response.status, 200);
      const body = await response.json();
      assert.ok(body, `${reader.target} accepted the ${issuer.target} cache`);
      assert.equal(body.session.token, signUp.token);
      assert.equal(body.user.email, signUp.user.email);
      assert.equal(body.user.role, "user");
    }
  } finally {
    await ours.stop();
    await theirs.stop();
  }
});
