// Social sign-in through the official client (`signIn.social`, `linkSocial`, `listAccounts`,
// `getAccessToken`, `signOut`) with a real OpenID provider on loopback (oauth2-mock-server:
// PKCE checked, RS256 ID tokens, nonce echoed), the same assertions against better-auth-rs and
// against the real Better Auth (genericOAuth with the same discovery URL):
//
//   BETTER_AUTH_BIN=../../target/debug/better-auth-rs node --test e2e-social.test.mjs
//   E2E_TARGET=reference node --test e2e-social.test.mjs

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { OAuth2Server } from "oauth2-mock-server";
import { PASSWORD, TRUSTED_ORIGIN, here, newBrowser, startServer, stopAllServers, uniqueEmail } from "./harness.mjs";

const TARGET = process.env.E2E_TARGET === "reference" ? "reference" : "rust";
const CALLBACK = `${TRUSTED_ORIGIN}/dashboard`;
const NEW_USER = `${TRUSTED_ORIGIN}/welcome`;
const dir = mkdtempSync(join(tmpdir(), "ba-e2e-social-"));

const idp = new OAuth2Server();
/** Who the provider signs in next. */
let person = { sub: "mock-1", email: uniqueEmail("oidc"), email_verified: true, name: "Ada Lovelace" };

after(async () => {
  await stopAllServers();
  await idp.stop();
  rmSync(dir, { recursive: true, force: true });
});

let discoveryUrl;
async function startIdp() {
  if (discoveryUrl) return discoveryUrl;
  await idp.issuer.keys.generate("RS256");
  await idp.start(0, "127.0.0.1");
  // Access and ID tokens carry the person; user info answers with them too.
  idp.service.on("beforeTokenSigning", (token) => Object.assign(token.payload, person));
  idp.service.on("beforeUserinfo", (res) => {
    res.body = { ...person };
  });
  discoveryUrl = `${idp.issuer.url}/.well-known/openid-configuration`;
  return discoveryUrl;
}

function rustConfig(discovery) {
  const config = join(dir, "social.toml");
  writeFileSync(
    config,
    `${readFileSync(join(here, "e2e.toml"), "utf8")}
[[plugins.generic_oauth.config]]
provider_id = "mock"
discovery_url = "${discovery}"
client_id = "mock-client"
client_secret = "mock-secret"
scopes = ["openid", "email", "profile"]
`,
  );
  return config;
}

function start(discovery) {
  if (TARGET === "reference") return startServer({ target: TARGET, dir, env: { OIDC_DISCOVERY_URL: discovery } });
  return startServer({ target: TARGET, dir, config: rustConfig(discovery) });
}

/** The browser at the provider and back: the callback's response (a redirect, not followed). */
async function throughProvider(b, url) {
  const atIdp = await fetch(url, { redirect: "manual" });
  assert.equal(atIdp.status, 302);
  const back = atIdp.headers.get("location");
  const res = await fetch(back, { redirect: "manual", headers: { cookie: b.jar.header() } });
  b.jar.store(res);
  return res;
}

async function signInSocial(b, server) {
  const res = await b.client.signIn.social({
    provider: "mock",
    callbackURL: CALLBACK,
    newUserCallbackURL: NEW_USER,
    disableRedirect: true,
  });
  assert.equal(res.error, null, JSON.stringify(res.error));
  assert.equal(res.data.redirect, false);
  const url = new URL(res.data.url);
  assert.equal(url.origin, new URL(idp.issuer.url).origin);
  assert.equal(url.searchParams.get("response_type"), "code");
  assert.equal(url.searchParams.get("client_id"), "mock-client");
  assert.equal(url.searchParams.get("redirect_uri"), `${server.base}/api/auth/callback/mock`);
  assert.equal(url.searchParams.get("code_challenge_method"), "S256");
  assert.equal(url.searchParams.get("scope"), "openid email profile");
  assert.equal(url.searchParams.get("state").length, 32);
  assert.equal(url.searchParams.get("nonce").length, 32);
  return throughProvider(b, res.data.url);
}

test(`social sign-in through the official client (${TARGET})`, async () => {
  const discovery = await startIdp();
  const server = await start(discovery);

  // First sign-in: the user is created and lands on newUserCallbackURL.
  const b = newBrowser(server.base);
  let res = await signInSocial(b, server);
  assert.equal(res.status, 302);
  assert.equal(res.headers.get("location"), NEW_USER);
  const session = await b.client.getSession();
  assert.equal(session.data.user.email, person.email);
  assert.equal(session.data.user.emailVerified, true);
  assert.equal(session.data.user.name, "Ada Lovelace");

  const accounts = await b.client.listAccounts();
  assert.equal(accounts.error, null);
  assert.equal(accounts.data.length, 1);
  assert.equal(accounts.data[0].providerId, "mock");
  assert.equal(accounts.data[0].accountId, "mock-1");
  assert.deepEqual(accounts.data[0].scopes, ["dummy"]);
  assert.equal(accounts.data[0].accessToken, undefined);

  const token = await b.client.getAccessToken({ accountId: accounts.data[0].id });
  assert.equal(token.error, null, JSON.stringify(token.error));
  assert.equal(typeof token.data.accessToken, "string");
  assert.equal(token.data.idToken.split(".").length, 3);
  assert.ok(new Date(token.data.accessTokenExpiresAt) > new Date());

  // Again from another browser: the same user, sent to callbackURL.
  const again = newBrowser(server.base);
  res = await signInSocial(again, server);
  assert.equal(res.headers.get("location"), CALLBACK);
  assert.equal((await again.client.getSession()).data.user.id, session.data.user.id);

  // A callback whose state was never issued.
  res = await fetch(`${server.base}/api/auth/callback/mock?code=x&state=not-a-state`, { redirect: "manual" });
  assert.equal(res.status, 302);
  assert.equal(res.headers.get("location"), `${server.base}/api/auth/error?error=state_mismatch`);

  // Sign-out ends the provider session too (RP-initiated logout).
  const out = await again.client.signOut({ fetchOptions: { body: { callbackURL: `${TRUSTED_ORIGIN}/bye` } } });
  assert.equal(out.error, null, JSON.stringify(out.error));
  assert.equal(out.data.success, true);
  assert.equal(out.data.redirect, true);
  const logout = new URL(out.data.url);
  assert.equal(`${logout.origin}${logout.pathname}`, `${idp.issuer.url}/endsession`);
  assert.equal(logout.searchParams.get("post_logout_redirect_uri"), `${TRUSTED_ORIGIN}/bye`);
  assert.equal(logout.searchParams.get("client_id"), "mock-client");
  assert.equal(logout.searchParams.get("id_token_hint").split(".").length, 3);

  // linkSocial: a password user links the provider account with the same email.
  const linker = newBrowser(server.base);
  const email = uniqueEmail("linker");
  assert.equal((await linker.client.signUp.email({ email, password: PASSWORD, name: "Linker" })).error, null);
  person = { sub: "mock-2", email, email_verified: true, name: "Linker" };
  const link = await linker.client.linkSocial({ provider: "mock", callbackURL: CALLBACK, disableRedirect: true });
  assert.equal(link.error, null, JSON.stringify(link.error));
  assert.equal(link.data.redirect, false);
  res = await throughProvider(linker, link.data.url);
  assert.equal(res.headers.get("location"), CALLBACK);
  const linked = await linker.client.listAccounts();
  assert.deepEqual(linked.data.map((a) => a.providerId).sort(), ["credential", "mock"]);

  await server.stop();
});

// One database, two servers: the flow starts on the real Better Auth (its state row, its signed
// state cookie, its PKCE verifier and nonce) and the provider's answer is finished by
// better-auth-rs, which signs the user in.
test("a flow started on Better Auth is finished by better-auth-rs on the same database", { skip: TARGET === "reference" }, async () => {
  const discovery = await startIdp();
  const shared = mkdtempSync(join(tmpdir(), "ba-e2e-social-shared-"));
  try {
    const databaseUrl = `sqlite://${join(shared, "auth.db")}?mode=rwc`;
    const reference = await startServer({ target: "reference", dir: shared, logName: "reference", databaseUrl, env: { OIDC_DISCOVERY_URL: discovery } });
    const ours = await startServer({ target: "rust", dir: shared, logName: "rust", databaseUrl, config: rustConfig(discovery) });
    person = { sub: "mock-shared", email: uniqueEmail("shared"), email_verified: true, name: "Shared" };
    const atReference = newBrowser(reference.base);
    const res = await atReference.client.signIn.social({
      provider: "mock",
      callbackURL: CALLBACK,
      newUserCallbackURL: NEW_USER,
      disableRedirect: true,
    });
    assert.equal(res.error, null, JSON.stringify(res.error));
    const atIdp = await fetch(res.data.url, { redirect: "manual" });
    const back = new URL(atIdp.headers.get("location"));
    assert.equal(back.origin, reference.base);
    const finish = await fetch(`${ours.base}${back.pathname}${back.search}`, {
      redirect: "manual",
      headers: { cookie: atReference.jar.header() },
    });
    assert.equal(finish.status, 302);
    assert.equal(finish.headers.get("location"), NEW_USER);
    const atOurs = newBrowser(ours.base, { jar: atReference.jar });
    atOurs.jar.store(finish);
    const session = await atOurs.client.getSession();
    assert.equal(session.data.user.email, person.email);
    // The session is Better Auth's too: the reference reads it from the shared database.
    const there = await atReference.client.getSession();
    assert.equal(there.data.user.id, session.data.user.id);
    await ours.stop();
    await reference.stop();
  } finally {
    rmSync(shared, { recursive: true, force: true });
  }
});

// A real browser: headless Chromium clicks "Sign in with the provider" on a page of the auth
// server's origin, follows the provider's redirect and our callback (the state cookie goes and
// comes back), and ends signed in on callbackURL.
test(`a browser signs in with a click (${TARGET})`, async (t) => {
  const { launchChromium, screenshotOnFailure } = await import("./chromium.mjs");
  const browser = await launchChromium(t);
  if (!browser) return;
  const discovery = await startIdp();
  const server = await start(discovery);
  const page = await browser.newPage();
  try {
    person = { sub: "mock-browser", email: uniqueEmail("browser"), email_verified: true, name: "Browser" };
    await page.goto(`${server.base}/api/auth/ok`);
    await page.evaluate(() => {
      const button = document.createElement("button");
      button.textContent = "Sign in with the provider";
      button.onclick = async () => {
        const res = await fetch("/api/auth/sign-in/social", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ provider: "mock", callbackURL: "/api/auth/get-session" }),
        });
        window.location.href = (await res.json()).url;
      };
      document.body.append(button);
    });
    await Promise.all([
      page.waitForURL(`${server.base}/api/auth/get-session`),
      page.click("text=Sign in with the provider"),
    ]);
    const session = JSON.parse(await page.locator("body").innerText());
    assert.equal(session.user.email, person.email);
    const cookies = await page.context().cookies(server.base);
    assert.ok(cookies.some((c) => c.name === "better-auth.session_token" && c.httpOnly));
    assert.ok(!cookies.some((c) => c.name === "better-auth.state" && c.value));
  } catch (err) {
    await screenshotOnFailure(page, `e2e-social-${TARGET}`);
    throw err;
  } finally {
    await browser.close();
    await server.stop();
  }
});
