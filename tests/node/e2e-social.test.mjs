// Social sign-in through the official client (`signIn.social`, `linkSocial`, `listAccounts`,
// `getAccessToken`, `signOut`) with a real OpenID provider on loopback (oauth2-mock-server:
// PKCE checked, RS256 ID tokens, nonce echoed), the same assertions against better-auth-rs and
// against the real Better Auth (genericOAuth with the same discovery URL):
//
//   BETTER_AUTH_BIN=../../target/debug/better-auth-rs node --test e2e-social.test.mjs
//   E2E_TARGET=reference node --test e2e-social.test.mjs

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { OAuth2Server } from "oauth2-mock-server";
import Database from "better-sqlite3";
import { PASSWORD, SECRET, TRUSTED_ORIGIN, here, newBrowser, startServer, stopAllServers, uniqueEmail } from "./harness.mjs";

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

function rustConfig(discovery, extra = "", name = "social.toml") {
  const config = join(dir, name);
  writeFileSync(
    config,
    `${readFileSync(join(here, "e2e.toml"), "utf8")}
[[plugins.generic_oauth.config]]
provider_id = "mock"
discovery_url = "${discovery}"
client_id = "mock-client"
client_secret = "mock-secret"
scopes = ["openid", "email", "profile"]
${extra}`,
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

/**
 * One database, two servers: the flow starts on `first` (its state row, signed state cookie, PKCE
 * verifier and nonce) and the provider's answer is finished by `second`, which signs the user in;
 * `first` then reads that session from the shared database too.
 */
async function crossServiceFlow(first, second, sub) {
  person = { sub, email: uniqueEmail(sub), email_verified: true, name: "Shared" };
  const atFirst = newBrowser(first.base);
  const res = await atFirst.client.signIn.social({
    provider: "mock",
    callbackURL: CALLBACK,
    newUserCallbackURL: NEW_USER,
    disableRedirect: true,
  });
  assert.equal(res.error, null, JSON.stringify(res.error));
  const atIdp = await fetch(res.data.url, { redirect: "manual" });
  const back = new URL(atIdp.headers.get("location"));
  assert.equal(back.origin, first.base);
  const finish = await fetch(`${second.base}${back.pathname}${back.search}`, {
    redirect: "manual",
    headers: { cookie: atFirst.jar.header() },
  });
  assert.equal(finish.status, 302);
  assert.equal(finish.headers.get("location"), NEW_USER);
  const atSecond = newBrowser(second.base, { jar: atFirst.jar });
  atSecond.jar.store(finish);
  const session = await atSecond.client.getSession();
  assert.equal(session.data.user.email, person.email);
  assert.equal(session.data.user.emailVerified, true);
  const accounts = await atSecond.client.listAccounts();
  assert.deepEqual(accounts.data.map((a) => [a.providerId, a.accountId]), [["mock", sub]]);
  assert.equal((await atFirst.client.getSession()).data.user.id, session.data.user.id);
}

for (const [from, to] of [["Better Auth", "better-auth-rs"], ["better-auth-rs", "Better Auth"]]) {
  test(`a flow started on ${from} is finished by ${to} on the same database`, { skip: TARGET === "reference" }, async () => {
    const discovery = await startIdp();
    const shared = mkdtempSync(join(tmpdir(), "ba-e2e-social-shared-"));
    try {
      const { reference, ours } = await startPair(shared, discovery);
      if (from === "Better Auth") await crossServiceFlow(reference, ours, "mock-shared");
      else await crossServiceFlow(ours, reference, "mock-shared-rs");
    } finally {
      await stopAllServers();
      rmSync(shared, { recursive: true, force: true });
    }
  });
}

const ROTATED = "rotated-secret-0123456789abcdefghijklmnopq";
/** Better Auth's own variable: version 2 current, version 1 the secret the tests otherwise use. */
const VERSIONED = `2:${ROTATED},1:${SECRET}`;

/**
 * Both servers on one SQLite file with the given extra environment; `encrypt`: provider tokens
 * encrypted; `cookieState`: the OAuth state kept in an encrypted cookie.
 */
async function startPair(shared, discovery, { env = {}, encrypt = false, cookieState = false, tag = "" } = {}) {
  const databaseUrl = `sqlite://${join(shared, "auth.db")}?mode=rwc`;
  const reference = await startServer({
    target: "reference",
    dir: shared,
    logName: `reference${tag}`,
    databaseUrl,
    env: {
      OIDC_DISCOVERY_URL: discovery,
      ...(encrypt ? { ENCRYPT_OAUTH_TOKENS: "1" } : {}),
      ...(cookieState ? { OAUTH_STATE_STRATEGY: "cookie" } : {}),
      ...env,
    },
  });
  const account = [
    ...(encrypt ? ["encrypt_oauth_tokens = true"] : []),
    ...(cookieState ? ['store_state_strategy = "cookie"'] : []),
  ];
  const ours = await startServer({
    target: "rust",
    dir: shared,
    logName: `rust${tag}`,
    databaseUrl,
    env,
    config: rustConfig(discovery, account.length ? `\n[account]\n${account.join("\n")}\n` : "", `shared${tag}.toml`),
  });
  return { reference, ours };
}

/** Access and refresh tokens the provider issued, newest last. */
const issued = [];
let issuedListening = false;
function recordIssuedTokens() {
  if (issuedListening) return;
  issuedListening = true;
  // Tokens made in the same second would otherwise be the same (RS256 is deterministic).
  idp.service.on("beforeTokenSigning", (token) => {
    token.payload.jti = randomUUID();
  });
  idp.service.on("beforeTokenSigning", (_token, req) => {
    if (req.body?.grant_type === "refresh_token") refreshedWith.push(req.body.refresh_token);
  });
  idp.service.on("beforeResponse", (res) => {
    if (res.body?.access_token) issued.push({ access: res.body.access_token, refresh: res.body.refresh_token });
  });
}
/** The refresh tokens the provider was sent. */
const refreshedWith = [];

/** Makes the stored access token of `email`'s `mock` account expired (in the column's format). */
function expireAccessToken(shared, email) {
  const sqlite = new Database(join(shared, "auth.db"));
  try {
    const row = sqlite
      .prepare(`SELECT a.id, a."accessTokenExpiresAt" AS at FROM account a JOIN "user" u ON u.id = a."userId" WHERE u.email = ? AND a."providerId" = 'mock'`)
      .get(email);
    const past = new Date(Date.now() - 60_000);
    sqlite
      .prepare(`UPDATE account SET "accessTokenExpiresAt" = ? WHERE id = ?`)
      .run(typeof row.at === "number" ? past.getTime() : past.toISOString(), row.id);
  } finally {
    sqlite.close();
  }
}

/** getAccessToken for the caller's `mock` account (Better Auth 1.7 selects it by its row id). */
async function mockAccessToken(b) {
  const accounts = await b.client.listAccounts();
  assert.equal(accounts.error, null, JSON.stringify(accounts.error));
  const account = accounts.data.find((a) => a.providerId === "mock");
  assert.ok(account, JSON.stringify(accounts.data));
  return b.client.getAccessToken({ accountId: account.id });
}

function storedTokens(shared, email) {
  const sqlite = new Database(join(shared, "auth.db"), { readonly: true });
  try {
    return sqlite
      .prepare(`SELECT a."accessToken" AS access, a."refreshToken" AS refresh FROM account a JOIN "user" u ON u.id = a."userId" WHERE u.email = ? AND a."providerId" = 'mock'`)
      .get(email);
  } finally {
    sqlite.close();
  }
}

// encryptOAuthTokens with versioned secrets (BETTER_AUTH_SECRETS) on both: the provider's tokens
// one service stores in the `$ba$2$` envelope, the other opens (getAccessToken); each way.
test("provider tokens encrypted under versioned secrets are read by the other service", { skip: TARGET === "reference" }, async () => {
  const discovery = await startIdp();
  recordIssuedTokens();
  const shared = mkdtempSync(join(tmpdir(), "ba-e2e-social-secrets-"));
  try {
    const servers = await startPair(shared, discovery, { env: { BETTER_AUTH_SECRETS: VERSIONED }, encrypt: true });
    for (const [signIn, read] of [
      ["ours", "reference"],
      ["reference", "ours"],
    ]) {
      person = { sub: `mock-sealed-${signIn}`, email: uniqueEmail(`sealed-${signIn}`), email_verified: true, name: "Sealed" };
      const b = newBrowser(servers[signIn].base);
      const res = await signInSocial(b, servers[signIn]);
      assert.equal(res.headers.get("location"), NEW_USER, signIn);
      const { access } = issued.at(-1);
      const stored = storedTokens(shared, person.email);
      assert.match(stored.access, /^\$ba\$2\$[0-9a-f]+$/, signIn);
      assert.match(stored.refresh, /^\$ba\$2\$[0-9a-f]+$/, signIn);
      assert.ok(!stored.access.includes(access));
      const there = newBrowser(servers[read].base, { jar: b.jar });
      const token = await mockAccessToken(there);
      assert.equal(token.error, null, `${read}: ${JSON.stringify(token.error)}`);
      assert.equal(token.data.accessToken, access, `${signIn} → ${read}`);
      // The other's own sign-in (a fresh browser) rewrites the tokens, and the first reads them.
      const again = newBrowser(servers[read].base);
      assert.equal((await signInSocial(again, servers[read])).headers.get("location"), CALLBACK);
      const rewritten = issued.at(-1);
      assert.notEqual(rewritten.access, access);
      const back = await mockAccessToken(newBrowser(servers[signIn].base, { jar: b.jar }));
      assert.equal(back.data?.accessToken, rewritten.access, `${read} → ${signIn}`);
      // Expired: `signIn` refreshes with the refresh token `read` stored (the provider gets it
      // in clear), and stores the new tokens, which `read` opens.
      expireAccessToken(shared, person.email);
      const refreshed = await mockAccessToken(newBrowser(servers[signIn].base, { jar: b.jar }));
      assert.equal(refreshed.error, null, `${signIn} refresh: ${JSON.stringify(refreshed.error)}`);
      assert.equal(refreshedWith.at(-1), rewritten.refresh, `${signIn} sent the refresh token ${read} stored`);
      assert.equal(refreshed.data.accessToken, issued.at(-1).access);
      assert.match(storedTokens(shared, person.email).access, /^\$ba\$2\$[0-9a-f]+$/);
      const afterRefresh = await mockAccessToken(there);
      assert.equal(afterRefresh.data?.accessToken, issued.at(-1).access, `${signIn} refreshed → ${read}`);
    }
  } finally {
    await stopAllServers();
    rmSync(shared, { recursive: true, force: true });
  }
});

// Linking with versioned secrets: the state carries the linking session's token encrypted under
// a purpose key of the secrets (`$ba$2$` envelope); a link started on one service is finished
// by the other. Then with the state itself in an encrypted cookie (same purpose keys).
test("a link started on one service is finished by the other, with versioned secrets", { skip: TARGET === "reference" }, async () => {
  const discovery = await startIdp();
  for (const cookieState of [false, true]) {
    const shared = mkdtempSync(join(tmpdir(), "ba-e2e-social-link-"));
    try {
      await linkAcross(shared, discovery, cookieState);
    } finally {
      await stopAllServers();
      rmSync(shared, { recursive: true, force: true });
    }
  }
});

async function linkAcross(shared, discovery, cookieState) {
  {
    const servers = await startPair(shared, discovery, { env: { BETTER_AUTH_SECRETS: VERSIONED }, encrypt: true, cookieState });
    for (const [start, finish] of [
      ["ours", "reference"],
      ["reference", "ours"],
    ]) {
      const email = uniqueEmail(`link-${start}`);
      const b = newBrowser(servers[start].base);
      assert.equal((await b.client.signUp.email({ email, password: PASSWORD, name: "Linker" })).error, null);
      person = { sub: `mock-link-${start}`, email, email_verified: true, name: "Linker" };
      const link = await b.client.linkSocial({ provider: "mock", callbackURL: CALLBACK, disableRedirect: true });
      assert.equal(link.error, null, JSON.stringify(link.error));
      const atIdp = await fetch(link.data.url, { redirect: "manual" });
      const back = new URL(atIdp.headers.get("location"));
      const res = await fetch(`${servers[finish].base}${back.pathname}${back.search}`, {
        redirect: "manual",
        headers: { cookie: b.jar.header() },
      });
      assert.equal(res.headers.get("location"), CALLBACK, `${start} → ${finish}${cookieState ? " (cookie state)" : ""}`);
      const accounts = await newBrowser(servers[finish].base, { jar: b.jar }).client.listAccounts();
      assert.deepEqual(accounts.data.map((a) => a.providerId).sort(), ["credential", "mock"]);
    }
  }
}

// Secrets rotated: tokens encrypted before under BETTER_AUTH_SECRET alone (bare hex) are opened
// afterwards, by either service, with BETTER_AUTH_SECRETS listing only the new secret and
// BETTER_AUTH_SECRET kept as the legacy one (Better Auth's `legacySecret`).
test("tokens encrypted before a rotation open with the legacy secret on both services", { skip: TARGET === "reference" }, async () => {
  const discovery = await startIdp();
  recordIssuedTokens();
  const shared = mkdtempSync(join(tmpdir(), "ba-e2e-social-legacy-"));
  try {
    let servers = await startPair(shared, discovery, { encrypt: true });
    const users = {};
    for (const side of ["ours", "reference"]) {
      const email = uniqueEmail(`legacy-${side}`);
      const b = newBrowser(servers[side].base);
      assert.equal((await b.client.signUp.email({ email, password: PASSWORD, name: "Legacy" })).error, null);
      person = { sub: `mock-legacy-${side}`, email, email_verified: true, name: "Legacy" };
      const link = await b.client.linkSocial({ provider: "mock", callbackURL: CALLBACK, disableRedirect: true });
      assert.equal(link.error, null, JSON.stringify(link.error));
      assert.equal((await throughProvider(b, link.data.url)).headers.get("location"), CALLBACK);
      const stored = storedTokens(shared, email);
      assert.match(stored.access, /^[0-9a-f]+$/, side);
      users[side] = { email, access: issued.at(-1).access };
    }
    await stopAllServers();
    servers = await startPair(shared, discovery, {
      env: { BETTER_AUTH_SECRETS: `2:${ROTATED}` },
      encrypt: true,
      tag: "-rotated",
    });
    for (const [stored, read] of [
      ["ours", "ours"],
      ["ours", "reference"],
      ["reference", "reference"],
      ["reference", "ours"],
    ]) {
      const b = newBrowser(servers[read].base);
      assert.equal((await b.client.signIn.email({ email: users[stored].email, password: PASSWORD })).error, null);
      const token = await mockAccessToken(b);
      assert.equal(token.error, null, `${stored} → ${read}: ${JSON.stringify(token.error)}`);
      assert.equal(token.data.accessToken, users[stored].access, `${stored} → ${read}`);
    }
  } finally {
    await stopAllServers();
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
