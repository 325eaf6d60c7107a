// The email-OTP plugin through the official client's `emailOTPClient()`, the same assertions
// against better-auth-rs and against the real Better Auth (emailOTP() plugin):
//
//   BETTER_AUTH_BIN=../../target/debug/better-auth-rs node --test e2e-email-otp.test.mjs
//   E2E_TARGET=reference node --test e2e-email-otp.test.mjs

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { emailOTPClient } from "better-auth/client/plugins";
import { PASSWORD, SESSION_COOKIE, here, newBrowser, readOutbox, startServer, stopAllServers, uniqueEmail } from "./harness.mjs";

const TARGET = process.env.E2E_TARGET === "reference" ? "reference" : "rust";
const dir = mkdtempSync(join(tmpdir(), "ba-e2e-email-otp-"));
after(async () => {
  await stopAllServers();
  rmSync(dir, { recursive: true, force: true });
});

function start({ changeEmail = false } = {}) {
  if (TARGET === "reference") {
    const env = { EMAIL_OTP: "1", ...(changeEmail ? { EMAIL_OTP_CHANGE_EMAIL: "verify-current" } : {}) };
    return startServer({ target: TARGET, dir, env });
  }
  const config = join(dir, `email-otp${changeEmail ? "-change" : ""}.toml`);
  const change = changeEmail ? "[plugins.email_otp.change_email]\nenabled = true\nverify_current_email = true\n" : "";
  writeFileSync(config, `${readFileSync(join(here, "e2e.toml"), "utf8")}\n[plugins.email_otp]\nenabled = true\n${change}`);
  return startServer({ target: TARGET, dir, config });
}

const browser = (server) => newBrowser(server.base, { plugins: [emailOTPClient()] });

/** The newest code of `type` mailed to `email`; the line has the reference's keys. */
function codeFor(server, email, type) {
  const mail = readOutbox(server).findLast((m) => m.type === "email-otp" && m.email === email && m.otpType === type);
  assert.ok(mail, `no ${type} code for ${email}`);
  assert.deepEqual(Object.keys(mail), ["type", "email", "otp", "otpType", "at"]);
  assert.match(mail.otp, /^\d{6}$/);
  return mail.otp;
}
const other = (otp) => (otp === "000000" ? "111111" : "000000");

test(`the email-OTP plugin through emailOTPClient (${TARGET})`, async () => {
  const server = await start();
  try {
    const b = browser(server);
    const email = uniqueEmail("otp");
    let res = await b.client.emailOtp.sendVerificationOtp({ email, type: "sign-in" });
    assert.deepEqual(res.data, { success: true });
    const otp = codeFor(server, email, "sign-in");
    res = await b.client.signIn.emailOtp({ email, otp: other(otp) });
    assert.equal(res.error.status, 400);
    assert.equal(res.error.code, "INVALID_OTP");
    assert.equal(res.error.message, "Invalid OTP");
    res = await b.client.signIn.emailOtp({ email, otp });
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(typeof res.data.token, "string");
    assert.equal(res.data.user.email, email);
    assert.equal(res.data.user.emailVerified, true);
    assert.ok(b.jar.header().includes(`${SESSION_COOKIE}=`));
    res = await b.client.getSession({ query: { disableCookieCache: true } });
    assert.equal(res.data.user.email, email);
    res = await browser(server).client.signIn.emailOtp({ email, otp });
    assert.equal(res.error.code, "INVALID_OTP", "single use");

    // Too many wrong guesses void the code.
    await b.client.emailOtp.sendVerificationOtp({ email, type: "sign-in" });
    const second = codeFor(server, email, "sign-in");
    for (let i = 0; i < 3; i++) {
      res = await browser(server).client.signIn.emailOtp({ email, otp: other(second) });
      assert.equal(res.error.code, "INVALID_OTP");
    }
    res = await browser(server).client.signIn.emailOtp({ email, otp: second });
    assert.equal(res.error.status, 403);
    assert.equal(res.error.code, "TOO_MANY_ATTEMPTS");
    assert.equal(res.error.message, "Too many attempts");

    // Email verification of a password user, then a password reset.
    const p = browser(server);
    const pEmail = uniqueEmail("password");
    await p.client.signUp.email({ email: pEmail, password: PASSWORD, name: "P" });
    await p.client.emailOtp.sendVerificationOtp({ email: pEmail, type: "email-verification" });
    res = await p.client.emailOtp.verifyEmail({ email: pEmail, otp: codeFor(server, pEmail, "email-verification") });
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.data.status, true);
    assert.equal(res.data.token, null);
    assert.equal(res.data.user.emailVerified, true);

    res = await p.client.forgetPassword.emailOtp({ email: pEmail });
    assert.deepEqual(res.data, { success: true });
    const resetCode = codeFor(server, pEmail, "forget-password");
    res = await p.client.emailOtp.checkVerificationOtp({ email: pEmail, type: "forget-password", otp: resetCode });
    assert.deepEqual(res.data, { success: true });
    res = await p.client.emailOtp.resetPassword({ email: pEmail, otp: resetCode, password: "another-password-2" });
    assert.deepEqual(res.data, { success: true });
    res = await browser(server).client.signIn.email({ email: pEmail, password: "another-password-2" });
    assert.equal(res.error, null, "the new password signs in");
    res = await p.client.emailOtp.checkVerificationOtp({ email: pEmail, type: "forget-password", otp: resetCode });
    assert.equal(res.error.code, "INVALID_OTP");

    // Unknown addresses get the same answer and no mail.
    const before = readOutbox(server).length;
    const nobody = uniqueEmail("nobody");
    res = await p.client.emailOtp.sendVerificationOtp({ email: nobody, type: "forget-password" });
    assert.deepEqual(res.data, { success: true });
    res = await p.client.emailOtp.requestPasswordReset({ email: nobody });
    assert.deepEqual(res.data, { success: true });
    assert.equal(readOutbox(server).length, before);

    res = await p.client.emailOtp.sendVerificationOtp({ email: "not-an-email", type: "sign-in" });
    assert.equal(res.error.status, 400);
    assert.equal(res.error.code, "INVALID_EMAIL");
    res = await p.client.emailOtp.sendVerificationOtp({ email: pEmail, type: "change-email" });
    assert.equal(res.error.status, 400);
    assert.equal(res.error.message, "Invalid OTP type");

    if (TARGET === "rust") {
      // Codes are short: the harness's secret scan skips them, so look for any code here.
      const logs = [server.stdoutLog, server.stderrLog].map((f) => readFileSync(f, "utf8")).join("\n");
      const codes = readOutbox(server).filter((m) => m.otp).map((m) => m.otp);
      assert.equal(codes.length, 4);
      for (const code of codes) assert.doesNotMatch(logs, new RegExp(`(otp|code|token)\\W{0,3}${code}`, "i"));
      assert.doesNotMatch(logs, /"otp"\s*:/);
    }
  } finally {
    await server.stop();
  }
});

// `changeEmail` with `verifyCurrentEmail`: the current address proves itself with an
// email-verification code, the new one with a change-email code, then the switch.
test(`changing the email address with codes (${TARGET})`, async () => {
  const server = await start({ changeEmail: true });
  try {
    const b = browser(server);
    const email = uniqueEmail("before");
    const newEmail = uniqueEmail("after");
    let res = await b.client.signUp.email({ email, password: PASSWORD, name: "Changer" });
    assert.equal(res.error, null, JSON.stringify(res.error));

    res = await browser(server).client.emailOtp.requestEmailChange({ newEmail });
    assert.equal(res.error.status, 401);
    res = await b.client.emailOtp.requestEmailChange({ newEmail });
    assert.equal(res.error.status, 400);
    assert.equal(res.error.message, "OTP is required to verify current email");
    res = await b.client.emailOtp.requestEmailChange({ newEmail: email.toUpperCase(), otp: "123456" });
    assert.equal(res.error.status, 400);
    assert.equal(res.error.message, "Email is the same");
    res = await b.client.emailOtp.requestEmailChange({ newEmail: "not-an-email", otp: "123456" });
    assert.equal(res.error.code, "INVALID_EMAIL");

    await b.client.emailOtp.sendVerificationOtp({ email, type: "email-verification" });
    const current = codeFor(server, email, "email-verification");
    res = await b.client.emailOtp.requestEmailChange({ newEmail, otp: other(current) });
    assert.equal(res.error.code, "INVALID_OTP");
    res = await b.client.emailOtp.requestEmailChange({ newEmail, otp: current });
    assert.deepEqual(res.data, { success: true });
    const code = codeFor(server, newEmail, "change-email");

    res = await b.client.emailOtp.changeEmail({ newEmail, otp: other(code) });
    assert.equal(res.error.status, 400);
    assert.equal(res.error.code, "INVALID_OTP");
    res = await b.client.emailOtp.changeEmail({ newEmail, otp: code });
    assert.deepEqual(res.data, { success: true });
    res = await b.client.getSession();
    assert.equal(res.data.user.email, newEmail, "the session cookies say the new address");
    assert.equal(res.data.user.emailVerified, true);
    res = await b.client.getSession({ query: { disableCookieCache: true } });
    assert.equal(res.data.user.email, newEmail);
    res = await b.client.emailOtp.changeEmail({ newEmail, otp: code });
    assert.equal(res.error.status, 400, "the code is spent (and the address is the same now)");
    res = await browser(server).client.signIn.email({ email: newEmail, password: PASSWORD });
    assert.equal(res.error, null, "the new address signs in");

    // An address another user has: the same answer, no mail, nothing to spend.
    const o = browser(server);
    const taken = uniqueEmail("taken");
    await o.client.signUp.email({ email: taken, password: PASSWORD, name: "Taken" });
    await b.client.emailOtp.sendVerificationOtp({ email: newEmail, type: "email-verification" });
    const again = codeFor(server, newEmail, "email-verification");
    const before = readOutbox(server).length;
    res = await b.client.emailOtp.requestEmailChange({ newEmail: taken, otp: again });
    assert.deepEqual(res.data, { success: true });
    assert.equal(readOutbox(server).length, before);
    res = await b.client.emailOtp.changeEmail({ newEmail: taken, otp: "000000" });
    assert.equal(res.error.code, "INVALID_OTP");
  } finally {
    await server.stop();
  }
});
