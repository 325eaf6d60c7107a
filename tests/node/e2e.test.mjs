// End-to-end tests with the OFFICIAL Better Auth client against a server
// process started by the test:
//
//   E2E_TARGET=reference node --test e2e.test.mjs   # the real Better Auth
//   BETTER_AUTH_BIN=../../target/debug/better-auth-rs node --test e2e.test.mjs
//
// Every assertion was checked against the real Better Auth (package.json pins
// the version), so a failure against the Rust binary is a compatibility bug.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import {
  DONT_REMEMBER_COOKIE,
  PASSWORD,
  SESSION_COOKIE,
  assertLogsHoldNoSecret,
  findSetCookie,
  newBrowser as newBrowserAt,
  signedCookieValue,
  startServer,
  uniqueEmail,
} from "./harness.mjs";

const TARGET = process.env.E2E_TARGET === "reference" ? "reference" : "rust";

// ---------------------------------------------------------------------------
// Server process (see harness.mjs): a fresh SQLite database in a temp dir,
// stdout/stderr in stdout.log / stderr.log there.
// ---------------------------------------------------------------------------

let server;
before(async () => {
  server = await startServer({ target: TARGET });
});
after(async () => {
  await server?.stop();
});

// ---------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------

/** A "browser" on the server under test (the official client with its own cookie jar). */
function newBrowser() {
  return newBrowserAt(server.base);
}

/** Signs up a fresh user in a fresh browser; returns the browser plus sign-up data. */
async function signedUpBrowser(extra = {}) {
  const browser = newBrowser();
  const email = uniqueEmail();
  const { data, error } = await browser.client.signUp.email({ email, password: PASSWORD, name: "Ada", ...extra });
  assert.equal(error, null);
  return { ...browser, email, signUp: data };
}

/** Sign-out (and a dead session) delete session_token, session_data and dont_remember. */
function assertClearsSessionCookies(response) {
  for (const name of [SESSION_COOKIE, "better-auth.session_data", DONT_REMEMBER_COOKIE]) {
    const cookie = findSetCookie(response, name);
    assert.ok(cookie, `${name} is deleted`);
    assert.equal(cookie.value, "");
    assert.equal(cookie.attrs["max-age"], "0");
    assert.equal(cookie.attrs.path, "/");
    assert.equal(cookie.attrs.httponly, true);
    assert.equal(cookie.attrs.samesite, "Lax");
  }
}

// error.statusText is the standard reason phrase: the reference's Response
// carries the status name ("UNAUTHORIZED") but better-call's node:http adapter
// calls res.writeHead(status) without it, so over HTTP the real server sends
// Node's standard phrase ("Unauthorized"), and so must this service.
const STATUS_TEXT = { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 422: "Unprocessable Entity" };

function assertApiError(error, { status, code, message }) {
  assert.ok(error, "expected an error");
  assert.equal(error.status, status);
  assert.equal(error.statusText, STATUS_TEXT[status], `the reason phrase of ${status}`);
  assert.equal(error.code, code);
  assert.equal(error.message, message);
}

// ---------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------

test("sign-up returns the new user with custom fields, a token and a 7-day session cookie", async () => {
  const { client, jar, lastResponse } = newBrowser();
  const mixedCase = uniqueEmail("Ada.LoveLace").replace("@example.com", "@Example.COM");

  const { data, error } = await client.signUp.email({
    email: mixedCase,
    password: PASSWORD,
    name: "Ada Lovelace",
    nickname: "ada",
  });

  assert.equal(error, null);
  assert.equal(typeof data.token, "string");
  assert.match(data.token, /^[A-Za-z0-9]{32}$/);
  const { user } = data;
  assert.match(user.id, /^[A-Za-z0-9]{32}$/);
  assert.equal(user.email, mixedCase.toLowerCase());
  assert.equal(user.name, "Ada Lovelace");
  assert.equal(user.emailVerified, false);
  assert.equal(user.image, null);
  assert.equal(user.nickname, "ada");
  assert.equal(user.role, "user");
  assert.ok(user.createdAt instanceof Date, "createdAt is parsed into a Date");
  assert.ok(user.updatedAt instanceof Date, "updatedAt is parsed into a Date");
  assert.ok(Math.abs(user.createdAt.getTime() - Date.now()) < 60_000);

  const response = lastResponse("/sign-up/email");
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type"), /^application\/json/);
  const cookie = findSetCookie(response, SESSION_COOKIE);
  assert.ok(cookie, "session cookie is set");
  assert.equal(cookie.value, signedCookieValue(data.token));
  assert.equal(cookie.attrs["max-age"], "604800");
  assert.equal(cookie.attrs.path, "/");
  assert.equal(cookie.attrs.httponly, true);
  assert.equal(cookie.attrs.samesite, "Lax");
  assert.equal(cookie.attrs.secure, undefined, "http base URL → no Secure");
  assert.equal(cookie.attrs.expires, undefined);
  assert.equal(findSetCookie(response, DONT_REMEMBER_COOKIE), undefined);
  assert.equal(jar.get(SESSION_COOKIE), cookie.value);
});

test("sign-up silently ignores an attempt to set the input:false role field", async () => {
  const { signUp } = await signedUpBrowser({ role: "admin" });

  assert.equal(signUp.user.role, "user");
});

test("get-session shows the user with custom fields and the sign-up token", async () => {
  const { client, signUp, email, lastResponse } = await signedUpBrowser({ nickname: "countess" });

  const { data, error } = await client.getSession();

  assert.equal(error, null);
  const response = lastResponse("/get-session");
  assert.equal(response.headers.get("cache-control"), "no-store");
  assert.equal(response.headers.get("pragma"), "no-cache");
  assert.equal(data.session.token, signUp.token);
  assert.equal(data.session.userId, signUp.user.id);
  assert.ok(data.session.expiresAt instanceof Date);
  const lifetime = data.session.expiresAt.getTime() - data.session.createdAt.getTime();
  assert.ok(Math.abs(lifetime - 604_800_000) < 5_000, `session lives 7 days (got ${lifetime} ms)`);
  assert.equal(data.user.id, signUp.user.id);
  assert.equal(data.user.email, email);
  assert.equal(data.user.nickname, "countess");
  assert.equal(data.user.role, "user");
  assert.equal(data.user.emailVerified, false);
});

test("sign-out clears the session cookie and get-session then returns null", async () => {
  const { client, jar, lastResponse } = await signedUpBrowser();

  const { data, error } = await client.signOut();

  assert.equal(error, null);
  assert.deepEqual(data, { success: true });
  assertClearsSessionCookies(lastResponse("/sign-out"));
  assert.equal(jar.get(SESSION_COOKIE), undefined);

  const after = await client.getSession();
  assert.equal(after.error, null);
  assert.equal(after.data, null);
  assert.equal(lastResponse("/get-session").status, 200);
});

test("get-session with the cookie of a signed-out session returns null and clears the cookies", async () => {
  const { client, jar } = await signedUpBrowser();
  const staleCookie = jar.header();
  await client.signOut();

  const response = await fetch(`${server.base}/api/auth/get-session`, { headers: { cookie: staleCookie } });

  assert.equal(response.status, 200);
  assert.equal(await response.json(), null);
  assertClearsSessionCookies(response);
});

test("sign-in with the password starts a session that get-session sees", async () => {
  const { email, signUp } = await signedUpBrowser();
  const { client, lastResponse } = newBrowser();

  const { data, error } = await client.signIn.email({ email, password: PASSWORD });

  assert.equal(error, null);
  assert.equal(data.redirect, false);
  assert.equal("url" in data, false, "no url without callbackURL");
  assert.match(data.token, /^[A-Za-z0-9]{32}$/);
  assert.notEqual(data.token, signUp.token, "a new session");
  assert.equal(data.user.id, signUp.user.id);
  const cookie = findSetCookie(lastResponse("/sign-in/email"), SESSION_COOKIE);
  assert.equal(cookie.value, signedCookieValue(data.token));
  assert.equal(cookie.attrs["max-age"], "604800");

  const session = await client.getSession();
  assert.equal(session.error, null);
  assert.equal(session.data.session.token, data.token);
  assert.equal(session.data.user.id, signUp.user.id);
});

test("sign-in with rememberMe false sets dont_remember and a session cookie without Max-Age", async () => {
  const { email } = await signedUpBrowser();
  const { client, lastResponse } = newBrowser();

  const { data, error } = await client.signIn.email({ email, password: PASSWORD, rememberMe: false });

  assert.equal(error, null);
  const response = lastResponse("/sign-in/email");
  const session = findSetCookie(response, SESSION_COOKIE);
  assert.equal(session.value, signedCookieValue(data.token));
  assert.equal(session.attrs["max-age"], undefined, "browser-session cookie");
  assert.equal(session.attrs.path, "/");
  assert.equal(session.attrs.httponly, true);
  assert.equal(session.attrs.samesite, "Lax");
  const dontRemember = findSetCookie(response, DONT_REMEMBER_COOKIE);
  assert.ok(dontRemember, "dont_remember cookie is set");
  assert.equal(dontRemember.value, signedCookieValue("true"));
  assert.equal(dontRemember.attrs["max-age"], undefined);
  assert.equal(dontRemember.attrs.path, "/");
  assert.equal(dontRemember.attrs.httponly, true);
  assert.equal(dontRemember.attrs.samesite, "Lax");

  const current = await client.getSession();
  assert.equal(current.data.session.token, data.token);
  const lifetime = current.data.session.expiresAt.getTime() - current.data.session.createdAt.getTime();
  assert.ok(Math.abs(lifetime - 86_400_000) < 5_000, `don't-remember sessions live 1 day (got ${lifetime} ms)`);
});

test("sign-up with an email already in use fails with 422 USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL", async () => {
  const { email } = await signedUpBrowser();
  const { client, lastResponse } = newBrowser();

  const { data, error } = await client.signUp.email({ email, password: PASSWORD, name: "Impostor" });

  assert.equal(data, null);
  assertApiError(error, {
    status: 422,
    code: "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL",
    message: "User already exists. Use another email.",
  });
  assert.deepEqual(lastResponse("/sign-up/email").headers.getSetCookie(), []);
});

test("sign-up with a short password fails with 400 PASSWORD_TOO_SHORT", async () => {
  const { client } = newBrowser();

  const { error } = await client.signUp.email({ email: uniqueEmail(), password: "short", name: "Ada" });

  assertApiError(error, {
    status: 400,
    code: "PASSWORD_TOO_SHORT",
    message: "Password too short",
  });
});

test("sign-up with a malformed email fails zod validation with 400 VALIDATION_ERROR", async () => {
  const { client } = newBrowser();

  const { error } = await client.signUp.email({ email: "not-an-email", password: PASSWORD, name: "Ada" });

  assertApiError(error, {
    status: 400,
    code: "VALIDATION_ERROR",
    message: "[body.email] Invalid email address",
  });
});

test("emails are stored lower-cased, sign-in ignores case, and non-ASCII addresses are refused", async () => {
  const local = uniqueEmail("Mixed.Case").split("@")[0];
  const { client } = newBrowser();
  const { data, error } = await client.signUp.email({ email: `${local}@Example.COM`, password: PASSWORD, name: "Ada" });
  assert.equal(error, null);
  assert.equal(data.user.email, `${local.toLowerCase()}@example.com`);

  const again = await newBrowser().client.signIn.email({ email: `${local.toUpperCase()}@EXAMPLE.com`, password: PASSWORD });
  assert.equal(again.error, null);
  assert.equal(again.data.user.id, data.user.id);

  // zod's email pattern is ASCII-only: accented, full-width and dotless-i letters are invalid, not folded.
  for (const email of ["ädä@example.com", "ａｄａ@example.com", "\u0130nci@example.com", "ada@exämple.com"]) {
    const signUp = await newBrowser().client.signUp.email({ email, password: PASSWORD, name: "Ada" });
    assertApiError(signUp.error, { status: 400, code: "VALIDATION_ERROR", message: "[body.email] Invalid email address" });
    const signIn = await newBrowser().client.signIn.email({ email, password: PASSWORD });
    assertApiError(signIn.error, { status: 400, code: "INVALID_EMAIL", message: "Invalid email" });
  }
});

test("sign-in with a wrong password fails with 401 INVALID_EMAIL_OR_PASSWORD", async () => {
  const { email } = await signedUpBrowser();
  const { client, lastResponse } = newBrowser();

  const { data, error } = await client.signIn.email({ email, password: "wrong-password-123" });

  assert.equal(data, null);
  assertApiError(error, {
    status: 401,
    code: "INVALID_EMAIL_OR_PASSWORD",
    message: "Invalid email or password",
  });
  assert.deepEqual(lastResponse("/sign-in/email").headers.getSetCookie(), []);
});

test("sign-in with an unknown email fails exactly like a wrong password", async () => {
  const { client } = newBrowser();

  const { error } = await client.signIn.email({ email: uniqueEmail("nobody"), password: PASSWORD });

  assertApiError(error, {
    status: 401,
    code: "INVALID_EMAIL_OR_PASSWORD",
    message: "Invalid email or password",
  });
});

test("sign-in with a malformed email fails with 400 INVALID_EMAIL", async () => {
  const { client } = newBrowser();

  const { error } = await client.signIn.email({ email: "not-an-email", password: PASSWORD });

  assertApiError(error, {
    status: 400,
    code: "INVALID_EMAIL",
    message: "Invalid email",
  });
});

test("sign-in without an Origin header is refused with 403 MISSING_OR_NULL_ORIGIN", async () => {
  // Node's fetch always sends Sec-Fetch-Mode: cors, which forces the origin check.
  const response = await fetch(`${server.base}/api/auth/sign-in/email`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: uniqueEmail(), password: PASSWORD }),
  });

  assert.equal(response.status, 403);
  assert.deepEqual(await response.json(), { message: "Missing or null Origin", code: "MISSING_OR_NULL_ORIGIN" });
});

test("the jwt plugin issues an EdDSA token that verifies against the JWKS", async () => {
  const { client, signUp } = await signedUpBrowser({ nickname: "jwt" });

  const { data, error } = await client.token();

  assert.equal(error, null);
  assert.equal(typeof data.token, "string");
  const header = decodeProtectedHeader(data.token);
  assert.equal(header.alg, "EdDSA");
  assert.equal(typeof header.kid, "string");

  const jwks = createRemoteJWKSet(new URL(`${server.base}/api/auth/jwks`));
  const { payload } = await jwtVerify(data.token, jwks, { issuer: server.base, audience: server.base });
  assert.equal(payload.sub, signUp.user.id);
  assert.equal(payload.id, signUp.user.id);
  assert.equal(payload.email, signUp.user.email);
  assert.equal(payload.nickname, "jwt");
  assert.equal(payload.role, "user");
  assert.equal(payload.exp - payload.iat, 900);

  const keys = await client.jwks();
  assert.equal(keys.error, null);
  const key = keys.data.keys.find((k) => k.kid === header.kid);
  assert.ok(key, "the signing key is published");
  assert.equal(key.kty, "OKP");
  assert.equal(key.crv, "Ed25519");
  assert.equal(key.alg, "EdDSA");
  assert.equal(key.d, undefined, "no private part in the JWKS");
});

test("get-session with a session carries a verifiable set-auth-jwt header", async () => {
  const { client, signUp, lastResponse } = await signedUpBrowser();

  const { error } = await client.getSession();

  assert.equal(error, null);
  const response = lastResponse("/get-session");
  const jwt = response.headers.get("set-auth-jwt");
  assert.ok(jwt, "set-auth-jwt header present");
  const exposed = response.headers.get("access-control-expose-headers").split(",").map((s) => s.trim());
  assert.ok(exposed.includes("set-auth-jwt"), `exposed: ${exposed}`);
  const jwks = createRemoteJWKSet(new URL(`${server.base}/api/auth/jwks`));
  const { payload, protectedHeader } = await jwtVerify(jwt, jwks, { issuer: server.base, audience: server.base });
  assert.equal(protectedHeader.alg, "EdDSA");
  assert.equal(payload.sub, signUp.user.id);
});

test("get-session without a session has no set-auth-jwt header", async () => {
  const { client, lastResponse } = newBrowser();

  const { data } = await client.getSession();

  assert.equal(data, null);
  assert.equal(lastResponse("/get-session").headers.get("set-auth-jwt"), null);
});

test("the bearer token from sign-in authenticates get-session without cookies", async () => {
  const { email, signUp } = await signedUpBrowser();
  const { client, lastResponse } = newBrowser();
  const { data: signIn } = await client.signIn.email({ email, password: PASSWORD });
  const response = lastResponse("/sign-in/email");

  const bearer = response.headers.get("set-auth-token");
  assert.ok(bearer, "set-auth-token header present");
  assert.equal(bearer, decodeURIComponent(signedCookieValue(signIn.token)));
  const exposed = response.headers.get("access-control-expose-headers").split(",").map((s) => s.trim());
  assert.ok(exposed.includes("set-auth-token"), `exposed: ${exposed}`);

  const session = await fetch(`${server.base}/api/auth/get-session`, {
    headers: { authorization: `Bearer ${bearer}` },
  });
  assert.equal(session.status, 200);
  const body = await session.json();
  assert.equal(body.session.token, signIn.token);
  assert.equal(body.user.id, signUp.user.id);
  assert.equal(body.user.email, email);
});

test("a bearer token with a forged signature is ignored", async () => {
  const { signUp } = await signedUpBrowser();
  const forged = `${signUp.token}.${"A".repeat(43)}=`;

  const response = await fetch(`${server.base}/api/auth/get-session`, {
    headers: { authorization: `Bearer ${forged}` },
  });

  assert.equal(response.status, 200);
  assert.equal(await response.json(), null);
});

// Last: node:test runs a file's tests in order, so every secret of the scenarios above was seen.
test("the server's log holds none of the passwords, tokens, cookies and secrets of this run", async () => {
  await assertLogsHoldNoSecret(server);
});
