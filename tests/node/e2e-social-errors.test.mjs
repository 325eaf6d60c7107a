// Social sign-in's failures and provider quirks through the official client, the same assertions
// against better-auth-rs and against the real Better Auth: the callback's error redirects (to the
// flow's errorCallbackURL once the state is read, to /error before), a banned user, ID tokens
// the generic OIDC provider must refuse (oauth2-mock-server's tokens altered before signing, or
// signed by a key it does not publish), and GitHub's e-mail from /user/emails (a local fake of
// github.com and api.github.com; the reference's requests rerouted by GITHUB_BASE_URL):
//
//   BETTER_AUTH_BIN=../../target/debug/better-auth-rs node --test e2e-social-errors.test.mjs
//   E2E_TARGET=reference node --test e2e-social-errors.test.mjs

import assert from "node:assert/strict";
import { generateKeyPairSync, randomUUID, sign } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import Database from "better-sqlite3";
import { OAuth2Server } from "oauth2-mock-server";
import { PASSWORD, TRUSTED_ORIGIN, here, newBrowser, startServer, stopAllServers, uniqueEmail } from "./harness.mjs";

const TARGET = process.env.E2E_TARGET === "reference" ? "reference" : "rust";
const CALLBACK = `${TRUSTED_ORIGIN}/dashboard`;
const NEW_USER = `${TRUSTED_ORIGIN}/welcome`;
const ERRORS = `${TRUSTED_ORIGIN}/login?failed=1`;
const dir = mkdtempSync(join(tmpdir(), "ba-e2e-social-errors-"));

const idp = new OAuth2Server();
/** Who the provider signs in next. */
let person;
/** Changes to the next ID tokens' claims (a value of undefined removes the claim). */
let idTokenClaims = {};
/** Whether the next ID tokens are signed by a key the provider does not publish. */
let rogueSignature = false;
let rogueKey;

/** The fake GitHub: who signs in, their public e-mail, and /user/emails. */
const github = { user: null, emails: [], codes: new Map(), tokens: new Map() };
let githubServer;
let githubBase;

let server;
let db;

function newPerson(tag, verified = true) {
  return { sub: `sub-${randomUUID()}`, email: uniqueEmail(tag), email_verified: verified, name: "Ada Lovelace" };
}

async function startIdp() {
  await idp.issuer.keys.generate("RS256");
  await idp.start(0, "127.0.0.1");
  idp.service.on("beforeTokenSigning", (token) => {
    Object.assign(token.payload, person);
    // The ID token is the one without a scope (oauth2-mock-server adds it to access tokens).
    if (!("scope" in token.payload)) {
      for (const [claim, value] of Object.entries(idTokenClaims)) {
        if (value === undefined) delete token.payload[claim];
        else token.payload[claim] = value;
      }
    }
  });
  idp.service.on("beforeUserinfo", (res) => {
    res.body = { ...person };
  });
  // The same header (`kid` included) and claims, signed RS256 by a key the provider does not
  // publish: the signature does not verify. Synchronous, as the event's listeners are.
  rogueKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
  idp.service.on("beforeResponse", (res) => {
    if (!rogueSignature || !res.body?.id_token) return;
    const signed = res.body.id_token.split(".").slice(0, 2).join(".");
    res.body.id_token = `${signed}.${sign("sha256", Buffer.from(signed), rogueKey).toString("base64url")}`;
  });
  return `${idp.issuer.url}/.well-known/openid-configuration`;
}

/** A fake of github.com (authorize, access_token) and api.github.com (/user, /user/emails). */
async function startGithub() {
  githubServer = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://fake");
    const json = (status, body) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    if (url.pathname === "/login/oauth/authorize") {
      const code = randomUUID();
      github.codes.set(code, github.user);
      const back = new URL(url.searchParams.get("redirect_uri"));
      back.searchParams.set("code", code);
      back.searchParams.set("state", url.searchParams.get("state"));
      res.writeHead(302, { location: back.href });
      return res.end();
    }
    if (url.pathname === "/login/oauth/access_token" && req.method === "POST") {
      const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
      const user = github.codes.get(form.get("code"));
      github.codes.delete(form.get("code"));
      if (!user) return json(200, { error: "bad_verification_code" });
      const token = `gho_${randomUUID().replaceAll("-", "")}`;
      github.tokens.set(token, user);
      return json(200, { access_token: token, token_type: "bearer", scope: "read:user,user:email" });
    }
    const user = github.tokens.get((req.headers.authorization ?? "").replace(/^Bearer /i, ""));
    if (!user) return json(401, { message: "Bad credentials" });
    if (url.pathname === "/user") return json(200, user.profile);
    if (url.pathname === "/user/emails") return json(200, user.emails);
    return json(404, { message: "Not Found" });
  });
  await new Promise((resolve) => githubServer.listen(0, "127.0.0.1", resolve));
  githubBase = `http://127.0.0.1:${githubServer.address().port}`;
}

function rustConfig(discovery) {
  const config = join(dir, "social-errors.toml");
  writeFileSync(
    config,
    `${readFileSync(join(here, "e2e.toml"), "utf8")}
[plugins.admin]
enabled = true

[[plugins.generic_oauth.config]]
provider_id = "mock"
discovery_url = "${discovery}"
client_id = "mock-client"
client_secret = "mock-secret"
scopes = ["openid", "email", "profile"]

[[plugins.generic_oauth.config]]
provider_id = "closed"
discovery_url = "${discovery}"
client_id = "mock-client"
client_secret = "mock-secret"
scopes = ["openid", "email", "profile"]
disable_implicit_sign_up = true

[social_providers.github]
client_id = "gh-client"
client_secret = "gh-secret"
authorization_endpoint = "${githubBase}/login/oauth/authorize"
token_endpoint = "${githubBase}/login/oauth/access_token"
user_info_endpoint = "${githubBase}/user"
`,
  );
  return config;
}

before(async () => {
  const discovery = await startIdp();
  await startGithub();
  server =
    TARGET === "reference"
      ? await startServer({
          target: TARGET,
          dir,
          env: { OIDC_DISCOVERY_URL: discovery, OIDC_CLOSED: "1", ADMIN: "1", GITHUB_BASE_URL: githubBase },
        })
      : await startServer({ target: TARGET, dir, config: rustConfig(discovery) });
  db = new Database(join(dir, "auth.db"));
});

after(async () => {
  db?.close();
  await stopAllServers();
  await idp.stop();
  githubServer?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** POST /sign-in/social through the official client; the provider's authorization URL. */
async function begin(b, provider, extra = {}) {
  const res = await b.client.signIn.social({
    provider,
    callbackURL: CALLBACK,
    newUserCallbackURL: NEW_USER,
    errorCallbackURL: ERRORS,
    disableRedirect: true,
    ...extra,
  });
  assert.equal(res.error, null, JSON.stringify(res.error));
  return new URL(res.data.url);
}

/** The browser at the provider (GitHub's URL on the local fake) and back at the callback. */
async function throughProvider(b, url, { jar = b.jar } = {}) {
  const at = url.host === "github.com" ? new URL(`${url.pathname}${url.search}`, githubBase) : url;
  const atProvider = await fetch(at, { redirect: "manual" });
  assert.equal(atProvider.status, 302);
  const back = atProvider.headers.get("location");
  assert.ok(back.startsWith(`${server.base}/api/auth/callback/`), back);
  const res = await fetch(back, { redirect: "manual", headers: { cookie: jar.header() } });
  jar.store(res);
  return res;
}

async function flow(provider, extra = {}) {
  const b = newBrowser(server.base);
  const res = await throughProvider(b, await begin(b, provider, extra));
  return { b, res };
}

function location(res) {
  assert.equal(res.status, 302);
  return res.headers.get("location");
}

/** `ERRORS` with Better Auth's `error` (and `error_description`) appended. */
function errorsWith(error, description) {
  const params = new URLSearchParams({ error });
  if (description) params.set("error_description", description);
  return `${ERRORS}&${params}`;
}

function sessionCookieSet(res) {
  return res.headers.getSetCookie().some((c) => /^better-auth\.session_token=[^;]/.test(c));
}

test(`callback errors: to errorCallbackURL once the state is read, to /error before (${TARGET})`, async () => {
  person = newPerson("errors");
  const errorPage = `${server.base}/api/auth/error`;

  // No state; a state never issued (the browser's state cookie is no help).
  let res = await fetch(`${server.base}/api/auth/callback/mock?code=abc`, { redirect: "manual" });
  assert.equal(location(res), `${errorPage}?error=state_not_found`);
  const b = newBrowser(server.base);
  await begin(b, "mock");
  res = await fetch(`${server.base}/api/auth/callback/mock?code=abc&state=never-issued`, {
    redirect: "manual",
    headers: { cookie: b.jar.header() },
  });
  assert.equal(location(res), `${errorPage}?error=state_mismatch`);

  // The provider's own error, with its description; the flow's state is read, so errorCallbackURL.
  let url = await begin(b, "mock");
  const state = url.searchParams.get("state");
  res = await fetch(
    `${server.base}/api/auth/callback/mock?state=${state}&error=access_denied&error_description=${encodeURIComponent("User said no")}`,
    { redirect: "manual", headers: { cookie: b.jar.header() } },
  );
  assert.equal(location(res), errorsWith("access_denied", "User said no"));
  assert.equal(sessionCookieSet(res), false);

  // No code.
  url = await begin(b, "mock");
  res = await fetch(`${server.base}/api/auth/callback/mock?state=${url.searchParams.get("state")}`, {
    redirect: "manual",
    headers: { cookie: b.jar.header() },
  });
  assert.equal(location(res), errorsWith("no_code"));

  // The flow finished by another browser (no state cookie): state_mismatch, to errorCallbackURL.
  url = await begin(b, "mock");
  res = await throughProvider(b, url, { jar: newBrowser(server.base).jar });
  assert.equal(location(res), errorsWith("state_mismatch"));
  assert.equal(sessionCookieSet(res), false);

  // Replayed: the state is gone after its first use (read no more, so /error).
  url = await begin(b, "mock");
  const atIdp = await fetch(url, { redirect: "manual" });
  const back = atIdp.headers.get("location");
  res = await fetch(back, { redirect: "manual", headers: { cookie: b.jar.header() } });
  assert.equal(location(res), NEW_USER);
  res = await fetch(back, { redirect: "manual", headers: { cookie: b.jar.header() } });
  assert.equal(location(res), `${errorPage}?error=state_mismatch`);

  // Sign-up disabled on `closed`, unless the flow requests it.
  person = newPerson("closed");
  ({ res } = await flow("closed"));
  assert.equal(location(res), errorsWith("signup_disabled"));
  assert.equal(db.prepare(`SELECT count(*) AS n FROM "user" WHERE email = ?`).get(person.email).n, 0);
  ({ res } = await flow("closed", { requestSignUp: true }));
  assert.equal(location(res), NEW_USER);

  // A password user's email, not verified by the provider: not linked.
  const email = uniqueEmail("local");
  const local = newBrowser(server.base);
  assert.equal((await local.client.signUp.email({ email, password: PASSWORD, name: "Local" })).error, null);
  person = { ...newPerson("local", false), email };
  ({ res } = await flow("mock"));
  assert.equal(location(res), errorsWith("account_not_linked"));
  assert.equal(sessionCookieSet(res), false);
  const userId = db.prepare(`SELECT id FROM "user" WHERE email = ?`).get(email).id;
  assert.deepEqual(
    db.prepare(`SELECT "providerId" FROM account WHERE "userId" = ?`).all(userId).map((a) => a.providerId),
    ["credential"],
  );

  // The provider gives no e-mail at all.
  person = { sub: `sub-${randomUUID()}`, name: "Nobody" };
  ({ res } = await flow("mock"));
  assert.equal(location(res), errorsWith("email_not_found"));
});

test(`a banned user is sent to errorCallbackURL with BANNED_USER (${TARGET})`, async () => {
  person = newPerson("banned");
  let { res } = await flow("mock");
  assert.equal(location(res), NEW_USER);
  const user = db.prepare(`SELECT id FROM "user" WHERE email = ?`).get(person.email);
  db.prepare(`UPDATE "user" SET banned = 1, "banReason" = 'spam' WHERE id = ?`).run(user.id);
  const sessionsBefore = db.prepare(`SELECT count(*) AS n FROM session WHERE "userId" = ?`).get(user.id).n;
  let b;
  ({ b, res } = await flow("mock"));
  assert.equal(
    location(res),
    errorsWith(
      "BANNED_USER",
      "You have been banned from this application. Please contact support if you believe this is an error.",
    ),
  );
  assert.equal(sessionCookieSet(res), false);
  assert.equal((await b.client.getSession()).data, null);
  assert.equal(db.prepare(`SELECT count(*) AS n FROM session WHERE "userId" = ?`).get(user.id).n, sessionsBefore);

  // A ban that has expired is lifted at the next sign-in.
  // In the format the server writes its dates in (ISO text or milliseconds).
  const { createdAt } = db.prepare(`SELECT "createdAt" FROM "user" WHERE id = ?`).get(user.id);
  const past = new Date(Date.now() - 60_000);
  db.prepare(`UPDATE "user" SET "banExpires" = ? WHERE id = ?`).run(
    typeof createdAt === "number" ? past.getTime() : past.toISOString(),
    user.id,
  );
  ({ b, res } = await flow("mock"));
  assert.equal(location(res), CALLBACK);
  assert.equal((await b.client.getSession()).data.user.id, user.id);
  assert.equal(db.prepare(`SELECT banned FROM "user" WHERE id = ?`).get(user.id).banned, 0);
});

test(`ID tokens the generic OIDC provider must refuse (${TARGET})`, async () => {
  const now = Math.floor(Date.now() / 1000);
  const cases = [
    ["a nonce not of this flow", { nonce: "replayed-nonce" }],
    ["no nonce", { nonce: undefined }],
    ["another audience", { aud: "someone-else" }],
    ["another issuer", { iss: "https://evil.test" }],
    ["expired two minutes ago", { exp: now - 120 }],
    ["expired 45 s ago (past the 30 s tolerance)", { exp: now - 45 }],
    ["not yet valid", { nbf: now + 120 }],
    ["no iat", { iat: undefined }],
    ["no sub", { sub: undefined }],
    ["a bad signature", {}, true],
  ];
  // Every case is tried, then all are compared at once (a failure names each case that differs).
  const got = {};
  const expected = {};
  for (const [what, claims, rogue] of cases) {
    person = newPerson("idtoken");
    idTokenClaims = claims;
    rogueSignature = rogue === true;
    try {
      const { b, res } = await flow("mock");
      const users = db.prepare(`SELECT count(*) AS n FROM "user" WHERE email = ?`).get(person.email).n;
      got[what] = { location: location(res), sessionCookie: sessionCookieSet(res), session: (await b.client.getSession()).data, users };
      expected[what] = { location: errorsWith("unable_to_get_user_info"), sessionCookie: false, session: null, users: 0 };
    } finally {
      idTokenClaims = {};
      rogueSignature = false;
    }
  }
  assert.deepEqual(got, expected);
  // Within the tolerance, and untouched: signed in.
  person = newPerson("idtoken-ok");
  idTokenClaims = { exp: now - 10 };
  try {
    assert.equal(location((await flow("mock")).res), NEW_USER);
  } finally {
    idTokenClaims = {};
  }
});

test(`GitHub: the e-mail from /user/emails (${TARGET})`, async () => {
  const ghUser = (login, email, emails) => ({
    profile: { id: Math.floor(Math.random() * 1e9), login, name: null, email, avatar_url: `https://avatars.test/${login}.png` },
    emails,
  });
  const signIn = async () => {
    const b = newBrowser(server.base);
    const url = await begin(b, "github");
    assert.equal(url.pathname, "/login/oauth/authorize");
    assert.equal(url.searchParams.get("client_id"), "gh-client");
    assert.equal(url.searchParams.get("scope"), "read:user user:email");
    const res = await throughProvider(b, url);
    return { b, res };
  };

  // No public e-mail: the primary one, verified.
  const primary = uniqueEmail("gh-primary");
  github.user = ghUser("octo", null, [
    { email: uniqueEmail("gh-other"), primary: false, verified: true, visibility: null },
    { email: primary, primary: true, verified: true, visibility: "private" },
  ]);
  let { b, res } = await signIn();
  assert.equal(location(res), NEW_USER);
  let session = (await b.client.getSession()).data;
  assert.equal(session.user.email, primary);
  assert.equal(session.user.emailVerified, true);
  assert.equal(session.user.name, "octo");
  assert.equal(session.user.image, "https://avatars.test/octo.png");
  const accounts = await b.client.listAccounts();
  assert.equal(accounts.data.length, 1);
  assert.equal(accounts.data[0].providerId, "github");
  assert.equal(accounts.data[0].accountId, String(github.user.profile.id));

  // No public e-mail, the primary one not verified: the user's e-mail is not verified.
  const unverified = uniqueEmail("gh-unverified");
  github.user = ghUser("octo2", null, [{ email: unverified, primary: true, verified: false, visibility: null }]);
  ({ b, res } = await signIn());
  assert.equal(location(res), NEW_USER);
  session = (await b.client.getSession()).data;
  assert.equal(session.user.email, unverified);
  assert.equal(session.user.emailVerified, false);

  // A public e-mail other than the primary one: Better Auth keeps the public one, verified as
  // /user/emails says of it.
  const publicEmail = uniqueEmail("gh-public");
  github.user = ghUser("octo3", publicEmail, [
    { email: uniqueEmail("gh-primary3"), primary: true, verified: true, visibility: "private" },
    { email: publicEmail, primary: false, verified: false, visibility: "public" },
  ]);
  ({ b, res } = await signIn());
  assert.equal(location(res), NEW_USER);
  session = (await b.client.getSession()).data;
  assert.equal(session.user.email, publicEmail);
  assert.equal(session.user.emailVerified, false);

  // A public e-mail not among /user/emails: unverified.
  const stranger = uniqueEmail("gh-stranger");
  github.user = ghUser("octo4", stranger, [{ email: uniqueEmail("gh-p4"), primary: true, verified: true }]);
  ({ b, res } = await signIn());
  assert.equal(location(res), NEW_USER);
  session = (await b.client.getSession()).data;
  assert.equal(session.user.email, stranger);
  assert.equal(session.user.emailVerified, false);
});
