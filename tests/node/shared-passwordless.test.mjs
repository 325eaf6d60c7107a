// Email codes and magic links on one database shared by the REAL Better Auth and
// better-auth-rs: a code or link either one issues is accepted by the other, for each way of
// storing codes (`storeOTP` plain, hashed, encrypted) and link tokens (`storeToken` plain,
// hashed), on SQLite with one secret for both servers:
//
//   BETTER_AUTH_BIN=../../target/debug/better-auth-rs node --test shared-passwordless.test.mjs

import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { emailOTPClient, magicLinkClient } from "better-auth/client/plugins";
import { here, newBrowser, readOutbox, startServer, stopAllServers, uniqueEmail } from "./harness.mjs";

const dir = mkdtempSync(join(tmpdir(), "ba-shared-otp-"));
after(async () => {
  await stopAllServers();
  rmSync(dir, { recursive: true, force: true });
});

function codeFor(server, email) {
  const mail = readOutbox(server).findLast((m) => m.type === "email-otp" && m.email === email);
  assert.ok(mail, `no code for ${email} from ${server.target}`);
  return mail.otp;
}

async function signInWithCode(issuer, verifier, email) {
  const res = await newBrowser(issuer.base, { plugins: [emailOTPClient()] }).client.emailOtp.sendVerificationOtp({
    email,
    type: "sign-in",
  });
  assert.deepEqual(res.data, { success: true });
  const b = newBrowser(verifier.base, { plugins: [emailOTPClient()] });
  const signedIn = await b.client.signIn.emailOtp({ email, otp: codeFor(issuer, email) });
  assert.equal(signedIn.error, null, `${issuer.target} → ${verifier.target}: ${JSON.stringify(signedIn.error)}`);
  assert.equal(signedIn.data.user.email, email);
}

/** A link `issuer` mailed, opened on `verifier` (same path, other server). */
async function signInWithLink(issuer, verifier, email) {
  const res = await newBrowser(issuer.base, { plugins: [magicLinkClient()] }).client.signIn.magicLink({
    email,
    callbackURL: "/done",
  });
  assert.deepEqual(res.data, { status: true });
  const mail = readOutbox(issuer).findLast((m) => m.type === "magic-link" && m.email === email);
  assert.ok(mail, `no link for ${email} from ${issuer.target}`);
  const url = mail.url.replace(issuer.base, verifier.base);
  const opened = await fetch(url, { redirect: "manual" });
  assert.equal(opened.status, 302, `${issuer.target} → ${verifier.target}`);
  assert.equal(opened.headers.get("location"), `${verifier.base}/done`, `${issuer.target} → ${verifier.target}`);
  assert.ok(opened.headers.getSetCookie().some((c) => c.startsWith("better-auth.session_token=")));
}

for (const store of ["plain", "hashed", "encrypted"]) {
  const linkStore = store === "hashed" ? "hashed" : "plain";
  test(`codes and links cross between Better Auth and better-auth-rs (storeOTP ${store}, storeToken ${linkStore})`, async () => {
    const base = join(dir, store);
    const [refDir, rsDir] = [join(base, "reference"), join(base, "rust")];
    mkdirSync(refDir, { recursive: true });
    mkdirSync(rsDir, { recursive: true });
    const databaseUrl = `sqlite://${join(base, "shared.db")}?mode=rwc`;
    const reference = await startServer({
      target: "reference",
      dir: refDir,
      databaseUrl,
      env: { EMAIL_OTP: "1", EMAIL_OTP_STORE: store, MAGIC_LINK: "1", MAGIC_LINK_STORE: linkStore },
    });
    const config = join(rsDir, "config.toml");
    writeFileSync(
      config,
      `${readFileSync(join(here, "e2e.toml"), "utf8")}\n[plugins.email_otp]\nenabled = true\nstore_otp = "${store}"\n` +
        `[plugins.magic_link]\nenabled = true\nstore_token = "${linkStore}"\n`,
    );
    const rust = await startServer({ target: "rust", dir: rsDir, databaseUrl, config });
    try {
      await signInWithCode(reference, rust, uniqueEmail("ref-to-rs"));
      await signInWithCode(rust, reference, uniqueEmail("rs-to-ref"));
      await signInWithLink(reference, rust, uniqueEmail("link-ref-to-rs"));
      await signInWithLink(rust, reference, uniqueEmail("link-rs-to-ref"));
    } finally {
      await rust.stop();
      await reference.stop();
    }
  });
}
