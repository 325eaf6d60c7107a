// Passkeys for real: headless Chromium with a virtual authenticator (DevTools' WebAuthn
// domain) drives the official `passkeyClient()` of @better-auth/passkey in a page, against
// better-auth-rs and, with the same assertions, against the real Better Auth:
//
//   BETTER_AUTH_BIN=../../target/debug/better-auth-rs node --test e2e-passkey.test.mjs
//   E2E_TARGET=reference node --test e2e-passkey.test.mjs
//
// The page is served from http://localhost:<port> (a secure context) by a small server here,
// which also serves the client's modules from node_modules (with an import map) and forwards
// /api/auth/* to the auth server, so the page and the API share an origin. Against
// better-auth-rs, a second test registers a passkey through the real Better Auth and signs in
// with it here, both servers on one database.

import assert from "node:assert/strict";
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { launchChromium, screenshotOnFailure } from "./chromium.mjs";
import { PASSWORD, TRUSTED_ORIGIN, freePort, here, startServer, stopAllServers, uniqueEmail } from "./harness.mjs";

const TARGET = process.env.E2E_TARGET === "reference" ? "reference" : "rust";
const dir = mkdtempSync(join(tmpdir(), "ba-e2e-passkey-"));
const pages = [];
after(async () => {
  await Promise.all(pages.map((p) => new Promise((r) => p.close(r))));
  await stopAllServers();
  rmSync(dir, { recursive: true, force: true });
});

/** The bare specifiers the client's modules import, mapped to their files under /node_modules. */
const SPECIFIERS = [
  "better-auth/client",
  "@better-auth/passkey/client",
  "@better-auth/core/env",
  "@better-auth/core/error",
  "@better-auth/core/utils/error-codes",
  "@better-auth/core/utils/string",
  "@better-auth/core/utils/url",
  "@better-fetch/fetch",
  "@simplewebauthn/browser",
  "better-call/error",
  "defu",
  "nanostores",
];
const modules = join(here, "node_modules");
const importMap = {
  imports: Object.fromEntries(
    SPECIFIERS.map((s) => [s, fileURLToPath(import.meta.resolve(s)).replace(modules, "/node_modules")]),
  ),
};

const PAGE = `<!doctype html><meta charset="utf-8"><title>passkeys</title>
<script>window.process = { env: {} }; /* what a bundler's define of process.env gives */</script>
<script type="importmap">${JSON.stringify(importMap)}</script>
<script type="module">
import { createAuthClient } from "better-auth/client";
import { passkeyClient } from "@better-auth/passkey/client";
window.authClient = createAuthClient({ baseURL: location.origin, plugins: [passkeyClient()] });
window.ready = true;
</script>`;

/** Serves the page and the modules on localhost:port, and forwards /api/auth/* to `target`. */
function pageServer(port, target) {
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    if (req.url.startsWith("/api/auth/")) {
      const forward = http.request(
        { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host } },
        (answer) => {
          res.writeHead(answer.statusCode, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on("error", () => {
        res.statusCode = 502;
        res.end();
      });
      req.pipe(forward);
      return;
    }
    if (req.url.startsWith("/node_modules/") && !req.url.includes("..")) {
      const file = join(modules, decodeURIComponent(req.url.slice("/node_modules/".length).split("?")[0]));
      res.setHeader("content-type", extname(file) === ".json" ? "application/json" : "text/javascript");
      createReadStream(file)
        .on("error", () => {
          res.statusCode = 404;
          res.end();
        })
        .pipe(res);
      return;
    }
    res.setHeader("content-type", "text/html");
    res.end(PAGE);
  });
  pages.push(server);
  return new Promise((r) => server.listen(port, "localhost", () => r(`http://localhost:${port}`)));
}

/** The auth server (`target`) with the passkey plugin, RP id `localhost`, trusting `page`. */
function authServer(target, page, { databaseUrl, logName } = {}) {
  const env = { BETTER_AUTH_TRUSTED_ORIGINS: `${TRUSTED_ORIGIN},${page}` };
  if (target === "reference") {
    return startServer({ target, dir, logName, databaseUrl, env: { ...env, PASSKEY: "1", PASSKEY_RP_ID: "localhost" } });
  }
  const config = join(dir, "passkey.toml");
  writeFileSync(
    config,
    `${readFileSync(join(here, "e2e.toml"), "utf8")}\n[plugins.passkey]\nenabled = true\nrp_id = "localhost"\n`,
  );
  return startServer({ target, dir, logName, databaseUrl, config, env });
}

/** A tab on `origin` with a virtual platform authenticator (resident keys, user verification). */
async function openPage(browser, origin) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  const problems = [];
  page.on("pageerror", (err) => problems.push(err.message));
  page.on("console", (msg) => msg.type() === "error" && problems.push(msg.text()));
  await page.goto(origin);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 10_000 }).catch((err) => {
    throw new Error(`the page did not load its client: ${problems.join("; ") || err.message}`);
  });
  return { context, page, cdp, authenticatorId };
}

/** Runs `authClient.<path>(arg)` in the page; returns `{ data, error }`. */
function call(page, path, arg) {
  return page.evaluate(
    async ([path, arg]) => {
      const fn = path.split(".").reduce((o, k) => o[k], window.authClient);
      const res = await fn(arg);
      return { data: res?.data ?? null, error: res?.error ?? null };
    },
    [path, arg],
  );
}

const PASSKEY_KEYS = ["aaguid", "backedUp", "counter", "createdAt", "credentialID", "deviceType", "id", "name", "publicKey", "transports", "userId"];

test(`passkeys in Chromium through passkeyClient (${TARGET})`, async (t) => {
  const browser = await launchChromium(t);
  if (!browser) return;
  const pagePort = await freePort();
  const server = await authServer(TARGET, `http://localhost:${pagePort}`);
  const origin = await pageServer(pagePort, server.base);
  const { page, cdp, authenticatorId } = await openPage(browser, origin);
  try {
    const email = uniqueEmail("passkey");
    let res = await call(page, "signUp.email", { email, password: PASSWORD, name: "Pat" });
    assert.equal(res.error, null, JSON.stringify(res.error));
    const userId = res.data.user.id;

    res = await call(page, "passkey.addPasskey", { name: "laptop" });
    assert.equal(res.error, null, JSON.stringify(res.error));
    const added = res.data;
    assert.deepEqual(Object.keys(added).sort(), PASSKEY_KEYS);
    assert.equal(added.name, "laptop");
    assert.equal(added.userId, userId);
    assert.equal(added.deviceType, "singleDevice");
    assert.equal(added.backedUp, false);
    assert.equal(added.transports, "internal");
    assert.match(added.aaguid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0].isResidentCredential, true);
    assert.equal(added.counter, credentials[0].signCount);
    assert.equal(added.credentialID, credentials[0].credentialId.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""));

    res = await call(page, "passkey.listUserPasskeys", {});
    assert.equal(res.error, null);
    assert.deepEqual(res.data, [added]);

    res = await call(page, "passkey.updatePasskey", { id: added.id, name: "work laptop" });
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.data.passkey.name, "work laptop");

    // A second registration of the same authenticator is refused by the browser
    // (excludeCredentials), which the client reports as such.
    res = await call(page, "passkey.addPasskey", {});
    assert.equal(res.error?.code, "ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED", JSON.stringify(res));

    res = await call(page, "signOut", {});
    assert.equal(res.error, null);
    res = await call(page, "getSession", {});
    assert.equal(res.data, null);

    res = await call(page, "signIn.passkey", {});
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.data.user.id, userId);
    assert.equal(res.data.session.userId, userId);
    res = await call(page, "getSession", {});
    assert.equal(res.data?.user.id, userId);
    res = await call(page, "passkey.listUserPasskeys", {});
    assert.equal(res.data[0].counter, (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials[0].signCount);

    res = await call(page, "passkey.deletePasskey", { id: added.id });
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.deepEqual(res.data, { status: true });
    res = await call(page, "passkey.listUserPasskeys", {});
    assert.deepEqual(res.data, []);

    // Its credential is gone from the server: signing in with it fails.
    await call(page, "signOut", {});
    res = await call(page, "signIn.passkey", {});
    assert.equal(res.error?.status, 401, JSON.stringify(res));
    assert.equal(res.error?.code, "PASSKEY_NOT_FOUND");
  } catch (err) {
    await screenshotOnFailure(page, `e2e-passkey-${TARGET}`);
    throw err;
  } finally {
    await browser.close();
  }
});

test("a passkey registered through the real Better Auth signs in here (shared database)", async (t) => {
  if (TARGET === "reference") {
    t.skip("needs both servers");
    return;
  }
  const browser = await launchChromium(t);
  if (!browser) return;
  const databaseUrl = `sqlite://${join(dir, "shared.db")}?mode=rwc`;
  const [nodePort, rustPort] = [await freePort(), await freePort()];
  const node = await authServer("reference", `http://localhost:${nodePort}`, { databaseUrl, logName: "node" });
  const rust = await authServer("rust", `http://localhost:${rustPort}`, { databaseUrl, logName: "rust" });
  const nodeOrigin = await pageServer(nodePort, node.base);
  const rustOrigin = await pageServer(rustPort, rust.base);
  const { context, page } = await openPage(browser, nodeOrigin);
  try {
    let res = await call(page, "signUp.email", { email: uniqueEmail("shared"), password: PASSWORD, name: "Sam" });
    assert.equal(res.error, null, JSON.stringify(res.error));
    const userId = res.data.user.id;
    res = await call(page, "passkey.addPasskey", { name: "from node" });
    assert.equal(res.error, null, JSON.stringify(res.error));
    const registered = res.data;

    // Same tab and authenticator, on the page served against better-auth-rs, no session.
    await context.clearCookies();
    await page.goto(rustOrigin);
    await page.waitForFunction(() => window.ready === true);
    res = await call(page, "getSession", {});
    assert.equal(res.data, null);
    res = await call(page, "signIn.passkey", {});
    assert.equal(res.error, null, JSON.stringify(res.error));
    assert.equal(res.data.user.id, userId);
    res = await call(page, "passkey.listUserPasskeys", {});
    assert.equal(res.data.length, 1);
    assert.equal(res.data[0].id, registered.id);
    assert.equal(res.data[0].publicKey, registered.publicKey);
    assert.equal(res.data[0].name, "from node");

    const db = new Database(join(dir, "shared.db"), { readonly: true });
    const row = db.prepare(`SELECT counter FROM passkey WHERE id = ?`).get(registered.id);
    db.close();
    assert.ok(row.counter >= registered.counter, "counter kept or moved forward");
  } catch (err) {
    await screenshotOnFailure(page, "e2e-passkey-shared");
    throw err;
  } finally {
    await browser.close();
  }
});
