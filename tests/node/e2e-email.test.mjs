// End-to-end tests of the mail flows with the OFFICIAL Better Auth client:
// email verification, password reset, change-email and delete-user. The
// links are read from the server's outbox (BETTER_AUTH_EMAIL_FILE): the Rust
// service writes it with its `file` mail transport, the real Better Auth from
// the send* hooks of reference-config.mjs, line for line the same.
//
//   E2E_TARGET=reference node --test e2e-email.test.mjs   # the real Better Auth
//   BETTER_AUTH_BIN=../../target/debug/better-auth-rs node --test e2e-email.test.mjs

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  PASSWORD,
  SESSION_COOKIE,
  findSetCookie,
  newBrowser as newBrowserAt,
  readOutbox,
  startServer,
  uniqueEmail,
} from "./harness.mjs";

const TARGET = process.env.E2E_TARGET === "reference" ? "reference" : "rust";
const NEW_PASSWORD = "a-brand-new-passphrase";

let server;
before(async () => {
  server = await startServer({ target: TARGET });
});
after(async () => {
  await server?.stop();
});

function newBrowser() {
  return newBrowserAt(server.base);
}

async function signedUpBrowser() {
  const browser = newBrowser();
  const email = uniqueEmail("mail");
  const { data, error } = await browser.client.signUp.email({ email, password: PASSWORD, name: "Ada" });
  assert.equal(error, null);
  return { ...browser, email, user: data.user };
}

/** The newest mail of `type` to `email`. */
function lastMail(type, email) {
  const mail = readOutbox(server).findLast((m) => m.type === type && m.email === email);
  assert.ok(mail, `a ${type} mail to ${email} (outbox: ${JSON.stringify(readOutbox(server))})`);
  return mail;
}

/** GET of a mailed link with the browser's cookies, not following redirects. */
async function openLink(browser, url) {
  const headers = { origin: server.base };
  const cookie = browser.jar.header();
  if (cookie) headers.cookie = cookie;
  const response = await fetch(url, { headers, redirect: "manual" });
  browser.jar.store(response);
  return response;
}

/** Verifies the browser's user through the mailed link. */
async function verified(browser) {
  await browser.client.sendVerificationEmail({ email: browser.email });
  const { token } = lastMail("verify-email", browser.email);
  const { error } = await browser.client.verifyEmail({ query: { token } });
  assert.equal(error, null);
}

test("sendVerificationEmail mails a verify-email link and verifyEmail marks the user verified", async () => {
  const browser = await signedUpBrowser();
  const before = readOutbox(server).length;

  const { data, error } = await browser.client.sendVerificationEmail({ email: browser.email, callbackURL: "/verified" });

  assert.equal(error, null);
  assert.deepEqual(data, { status: true });
  const outbox = readOutbox(server);
  assert.equal(outbox.length, before + 1, "one mail");
  const mail = lastMail("verify-email", browser.email);
  assert.deepEqual(Object.keys(mail).sort(), ["at", "email", "token", "type", "url", "userId"]);
  assert.equal(mail.userId, browser.user.id);
  assert.match(mail.token, /^eyJhbGciOiJIUzI1NiJ9\./);
  assert.equal(mail.url, `${server.base}/api/auth/verify-email?token=${mail.token}&callbackURL=%2Fverified`);
  assert.ok(Math.abs(Date.parse(mail.at) - Date.now()) < 60_000);

  const verify = await browser.client.verifyEmail({ query: { token: mail.token } });
  assert.equal(verify.error, null);
  assert.deepEqual(verify.data, { status: true, user: null });
  const session = await browser.client.getSession();
  assert.equal(session.data.user.emailVerified, true);

  const again = await browser.client.sendVerificationEmail({ email: browser.email });
  assert.equal(again.error.status, 400);
  assert.equal(again.error.code, "EMAIL_ALREADY_VERIFIED");
});

test("verifyEmail with a bad token is 401 INVALID_TOKEN, or a redirect with error= when a callbackURL is given", async () => {
  const { client } = newBrowser();

  const { error } = await client.verifyEmail({ query: { token: "not-a-token" } });
  assert.equal(error.status, 401);
  assert.equal(error.code, "INVALID_TOKEN");
  assert.equal(error.message, "Invalid token");

  const response = await fetch(`${server.base}/api/auth/verify-email?token=nope&callbackURL=%2Fverified`, { redirect: "manual" });
  assert.equal(response.status, 302);
  assert.equal(response.headers.get("location"), "/verified?error=INVALID_TOKEN");
});

test("requestPasswordReset mails a link whose token resets the password once; unknown emails look the same", async () => {
  const browser = await signedUpBrowser();

  const { data, error } = await browser.client.requestPasswordReset({ email: browser.email, redirectTo: "/reset" });
  const unknown = await newBrowser().client.requestPasswordReset({ email: uniqueEmail("nobody"), redirectTo: "/reset" });

  assert.equal(error, null);
  assert.deepEqual(data, { status: true, message: "If this email exists in our system, check your email for the reset link" });
  assert.deepEqual(unknown.data, data);
  const mail = lastMail("reset-password", browser.email);
  assert.equal(mail.userId, browser.user.id);
  assert.match(mail.token, /^[A-Za-z0-9]{24}$/);
  assert.equal(mail.url, `${server.base}/api/auth/reset-password/${mail.token}?callbackURL=%2Freset`);

  const link = await fetch(mail.url, { redirect: "manual" });
  assert.equal(link.status, 302);
  assert.equal(link.headers.get("location"), `${server.base}/reset?token=${mail.token}`);

  const reset = await newBrowser().client.resetPassword({ newPassword: NEW_PASSWORD, token: mail.token });
  assert.equal(reset.error, null);
  assert.deepEqual(reset.data, { status: true });

  const old = await newBrowser().client.signIn.email({ email: browser.email, password: PASSWORD });
  assert.equal(old.error.status, 401);
  const fresh = await newBrowser().client.signIn.email({ email: browser.email, password: NEW_PASSWORD });
  assert.equal(fresh.error, null);

  const reuse = await newBrowser().client.resetPassword({ newPassword: "another-passphrase", token: mail.token });
  assert.equal(reuse.error.status, 400);
  assert.equal(reuse.error.code, "INVALID_TOKEN");
  const used = await fetch(mail.url, { redirect: "manual" });
  assert.equal(used.headers.get("location"), `${server.base}/reset?error=INVALID_TOKEN`);
});

test("requestPasswordReset with an untrusted redirectTo is 403 INVALID_REDIRECT_URL", async () => {
  const { error } = await newBrowser().client.requestPasswordReset({ email: uniqueEmail(), redirectTo: "https://evil.example/" });

  assert.equal(error.status, 403);
  assert.equal(error.code, "INVALID_REDIRECT_URL");
});

test("changeEmail of a verified user: confirmation from the old address, then verification of the new one", async () => {
  const browser = await signedUpBrowser();
  await verified(browser);
  const newEmail = uniqueEmail("moved");

  const { data, error } = await browser.client.changeEmail({ newEmail, callbackURL: "/settings" });

  assert.equal(error, null);
  assert.deepEqual(data, { status: true });
  const confirm = lastMail("change-email-verification", browser.email);
  assert.equal(confirm.userId, browser.user.id);
  assert.equal(confirm.url, `${server.base}/api/auth/verify-email?token=${confirm.token}&callbackURL=%2Fsettings`);

  const step1 = await browser.client.verifyEmail({ query: { token: confirm.token } });
  assert.equal(step1.error, null);
  assert.deepEqual(step1.data, { status: true });
  assert.equal((await browser.client.getSession()).data.user.email, browser.email, "not changed yet");

  const verify = lastMail("verify-email", newEmail);
  assert.equal(verify.userId, browser.user.id);
  const step2 = await browser.client.verifyEmail({ query: { token: verify.token } });
  assert.equal(step2.error, null);
  assert.equal(step2.data.status, true);
  assert.equal(step2.data.user.email, newEmail);

  const { data: session } = await browser.client.getSession();
  assert.equal(session.user.email, newEmail);
  assert.equal(session.user.emailVerified, true);
});

test("changeEmail to an address in use answers status true and sends nothing", async () => {
  const taken = await signedUpBrowser();
  const browser = await signedUpBrowser();
  const before = readOutbox(server).length;

  const { data, error } = await browser.client.changeEmail({ newEmail: taken.email });

  assert.equal(error, null);
  assert.deepEqual(data, { status: true });
  assert.equal(readOutbox(server).length, before);
});

test("deleteUser mails a delete-account link; opening it deletes the user and clears the session cookie", async () => {
  const browser = await signedUpBrowser();

  const { data, error } = await browser.client.deleteUser({ callbackURL: "/goodbye" });

  assert.equal(error, null);
  assert.deepEqual(data, { success: true, message: "Verification email sent" });
  const mail = lastMail("delete-account", browser.email);
  assert.match(mail.token, /^[0-9a-z]{32}$/);
  assert.equal(mail.url, `${server.base}/api/auth/delete-user/callback?token=${mail.token}&callbackURL=%2Fgoodbye`);

  const response = await openLink(browser, mail.url);
  assert.equal(response.status, 302);
  assert.equal(response.headers.get("location"), "/goodbye");
  const cleared = findSetCookie(response, SESSION_COOKIE);
  assert.equal(cleared.value, "");
  assert.equal(cleared.attrs["max-age"], "0");

  assert.equal((await browser.client.getSession()).data, null);
  const signIn = await newBrowser().client.signIn.email({ email: browser.email, password: PASSWORD });
  assert.equal(signIn.error.status, 401);
});

test("deleteUser with the mailed token deletes at once; a reused token is 404 INVALID_TOKEN", async () => {
  const browser = await signedUpBrowser();
  await browser.client.deleteUser({});
  const { token } = lastMail("delete-account", browser.email);

  const { data, error } = await browser.client.deleteUser({ token });

  assert.equal(error, null);
  assert.deepEqual(data, { success: true, message: "User deleted" });
  const other = await signedUpBrowser();
  const reuse = await other.client.deleteUser({ token });
  assert.equal(reuse.error.status, 404);
  assert.equal(reuse.error.code, "INVALID_TOKEN");
});
