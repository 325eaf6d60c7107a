// The magic-link plugin through the official client's `magicLinkClient()`, the same assertions
// against better-auth-rs and against the real Better Auth (magicLink() plugin):
//
//   BETTER_AUTH_BIN=../../target/debug/better-auth-rs node --test e2e-magic-link.test.mjs
//   E2E_TARGET=reference node --test e2e-magic-link.test.mjs

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { magicLinkClient } from "better-auth/client/plugins";
import {
  CookieJar,
  PASSWORD,
  SESSION_COOKIE,
  here,
  newBrowser,
  readOutbox,
  startServer,
  stopAllServers,
  uniqueEmail,
} from "./harness.mjs";

const TARGET = process.env.E2E_TARGET === "reference" ? "reference" : "rust";
const dir = mkdtempSync(join(tmpdir(), "ba-e2e-magic-link-"));
after(async () => {
  await stopAllServers();
  rmSync(dir, { recursive: true, force: true });
});

function start() {
  if (TARGET === "reference") return startServer({ target: TARGET, dir, env: { MAGIC_LINK: "1" } });
  const config = join(dir, "magic-link.toml");
  writeFileSync(config, `${readFileSync(join(here, "e2e.toml"), "utf8")}\n[plugins.magic_link]\nenabled = true\n`);
  return startServer({ target: TARGET, dir, config });
}

const browser = (server) => newBrowser(server.base, { plugins: [magicLinkClient()] });

function linkFor(server, email) {
  const mail = readOutbox(server).findLast((m) => m.type === "magic-link" && m.email === email);
  assert.ok(mail, `no link for ${email}`);
  assert.deepEqual(Object.keys(mail), ["type", "email", "url", "token", "at"]);
  assert.match(mail.token, /^[a-zA-Z]{32}$/);
  return mail;
}

/** Follows a mailed link as a browser would (no redirect following), keeping its cookies. */
async function open(url, jar = new CookieJar()) {
  const res = await fetch(url, { redirect: "manual", headers: jar.header() ? { cookie: jar.header() } : {} });
  jar.store(res);
  return { res, jar };
}

test(`the magic-link plugin through magicLinkClient (${TARGET})`, async () => {
  const server = await start();
  try {
    const b = browser(server);
    const email = uniqueEmail("link");
    let res = await b.client.signIn.magicLink({
      email,
      name: "Linda",
      callbackURL: "/home",
      newUserCallbackURL: "/welcome",
      errorCallbackURL: "/oops",
    });
    assert.deepEqual(res.data, { status: true });
    let mail = linkFor(server, email);
    assert.equal(
      mail.url,
      `${server.base}/api/auth/magic-link/verify?token=${mail.token}&callbackURL=%2Fhome&newUserCallbackURL=%2Fwelcome&errorCallbackURL=%2Foops`,
    );
    let { res: first, jar } = await open(mail.url);
    assert.equal(first.status, 302);
    assert.equal(first.headers.get("location"), `${server.base}/welcome`);
    assert.ok(jar.header().includes(`${SESSION_COOKIE}=`));
    const signedIn = newBrowser(server.base, { jar, plugins: [magicLinkClient()] });
    res = await signedIn.client.getSession({ query: { disableCookieCache: true } });
    assert.equal(res.data.user.email, email);
    assert.equal(res.data.user.name, "Linda");
    assert.equal(res.data.user.emailVerified, true);

    const again = await open(mail.url);
    assert.equal(again.res.headers.get("location"), `${server.base}/oops?error=INVALID_TOKEN`);
    assert.equal(again.jar.header(), "");

    // An existing user goes to callbackURL; without callbackURL in the link, JSON.
    await b.client.signIn.magicLink({ email, callbackURL: "/home" });
    mail = linkFor(server, email);
    ({ res: first } = await open(mail.url));
    assert.equal(first.headers.get("location"), `${server.base}/home`);
    await b.client.signIn.magicLink({ email });
    mail = linkFor(server, email);
    res = await b.client.magicLink.verify({ query: { token: mail.token } });
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.data.user.email, email);
    assert.equal(res.data.session.token, res.data.token);

    // An unverified password user: the link proves the address, the old password goes.
    const pEmail = uniqueEmail("password");
    const p = browser(server);
    await p.client.signUp.email({ email: pEmail, password: PASSWORD, name: "P" });
    await p.client.signIn.magicLink({ email: pEmail, callbackURL: "/in" });
    ({ res: first } = await open(linkFor(server, pEmail).url));
    assert.equal(first.headers.get("location"), `${server.base}/in`);
    res = await browser(server).client.signIn.email({ email: pEmail, password: PASSWORD });
    assert.equal(res.error.status, 401);

    res = await b.client.magicLink.verify({ query: { token: "unknown", callbackURL: "https://evil.example" } });
    assert.equal(res.error.status, 403);
    assert.equal(res.error.code, "INVALID_CALLBACK_URL");
    res = await b.client.signIn.magicLink({ email: "not-an-email" });
    assert.equal(res.error.status, 400);
    assert.equal(res.error.code, "VALIDATION_ERROR");
  } finally {
    await server.stop();
  }
});
