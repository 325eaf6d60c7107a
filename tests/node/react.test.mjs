// The React example (examples/react: Vite, better-auth/react) in headless Chromium, served on
// http://localhost:3000, against better-auth-rs on another origin (CORS with credentials):
//
//   (cd examples/react && npm ci)    # once
//   BETTER_AUTH_BIN=../../target/debug/better-auth-rs node --test react.test.mjs
//
// The app is built by the test (vite build, under a second). Sign-up, a reload keeps the
// session, /token (the JWT verifies with /jwks), sign-out, a wrong password's error, a duplicate
// email's error, sign-in.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import { extname, join, normalize } from "node:path";
import { after, test } from "node:test";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { launchChromium, screenshotOnFailure } from "./chromium.mjs";
import { PASSWORD, here, startServer, stopAllServers, uniqueEmail } from "./harness.mjs";

const APP_DIR = join(here, "..", "..", "examples", "react");
const PAGE_PORT = 3000;
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };

let browser;
let pageServer;
after(async () => {
  await browser?.close();
  pageServer?.close();
  await stopAllServers();
});

function build() {
  if (!existsSync(join(APP_DIR, "node_modules"))) {
    const installed = spawnSync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: APP_DIR, stdio: "inherit" });
    assert.equal(installed.status, 0, "npm ci in examples/react");
  }
  const built = spawnSync(process.execPath, [join(APP_DIR, "node_modules", "vite", "bin", "vite.js"), "build", "--logLevel", "warn"], {
    cwd: APP_DIR,
    stdio: "inherit",
  });
  assert.equal(built.status, 0, "vite build");
}

/** Serves examples/react/dist on localhost:3000 (the page's origin), or on `port`. */
function servePage(port = PAGE_PORT) {
  const dist = join(APP_DIR, "dist");
  return new Promise((resolve, reject) => {
    const server = http.createServer((req, res) => {
      const path = new URL(req.url, "http://localhost").pathname;
      let file = normalize(join(dist, path === "/" ? "index.html" : path));
      if (!file.startsWith(dist) || !existsSync(file)) file = join(dist, "index.html");
      res.setHeader("content-type", TYPES[extname(file)] ?? "application/octet-stream");
      res.end(readFileSync(file));
    });
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

test("the React app signs up, keeps the session over a reload, gets a JWT, signs out, and shows errors", async (t) => {
  browser = await launchChromium(t);
  if (!browser) return;
  const started = Date.now();
  build();
  const built = Date.now();
  // Port 3000 taken (a developer's own app): any free port, trusted explicitly.
  pageServer = await servePage().catch((err) => (err.code === "EADDRINUSE" ? servePage(0) : Promise.reject(err)));
  const pageOrigin = `http://localhost:${pageServer.address().port}`;
  // The page calls the service as localhost too (same site, another origin), so the session
  // cookie is first-party.
  const server = await startServer({ target: "rust", env: { BETTER_AUTH_TRUSTED_ORIGINS: pageOrigin } });
  const serviceUrl = server.base.replace("127.0.0.1", "localhost");

  const page = await browser.newPage();
  const url = `${pageOrigin}/?auth=${encodeURIComponent(serviceUrl)}`;
  const email = uniqueEmail("react");
  try {
    await page.goto(url);
    const signUp = page.getByRole("form", { name: "sign-up" });
    await signUp.getByLabel("Name").fill("React User");
    await signUp.getByLabel("Email").fill(email);
    await signUp.getByLabel("Password").fill(PASSWORD);
    await signUp.getByRole("button", { name: "Sign up" }).click();
    await page.getByTestId("signed-in").waitFor();
    assert.equal(await page.getByTestId("signed-in").textContent(), `Signed in as ${email}`);

    await page.reload();
    await page.getByTestId("signed-in").waitFor();

    await page.getByRole("button", { name: "Get token" }).click();
    const jwt = (await page.getByTestId("token").textContent()).trim();
    assert.match(jwt, /^[\w-]+\.[\w-]+\.[\w-]+$/, jwt);
    const { payload } = await jwtVerify(jwt, createRemoteJWKSet(new URL(`${server.base}/api/auth/jwks`)));
    assert.equal(payload.email, email);

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("form", { name: "sign-up" }).waitFor();
    await page.reload();
    await page.getByRole("form", { name: "sign-in" }).waitFor();

    const signIn = page.getByRole("form", { name: "sign-in" });
    await signIn.getByLabel("Email").fill(email);
    await signIn.getByLabel("Password").fill("wrong-password-123");
    await signIn.getByRole("button", { name: "Sign in" }).click();
    assert.equal(await page.getByRole("alert").textContent(), "Invalid email or password");

    await signUp.getByLabel("Name").fill("Again");
    await signUp.getByLabel("Email").fill(email);
    await signUp.getByLabel("Password").fill(PASSWORD);
    await signUp.getByRole("button", { name: "Sign up" }).click();
    await page.getByText("User already exists. Use another email.").waitFor();

    await signIn.getByLabel("Password").fill(PASSWORD);
    await signIn.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("signed-in").waitFor();
    t.diagnostic(`vite build ${built - started} ms, browser steps ${Date.now() - built} ms`);
  } catch (err) {
    await screenshotOnFailure(page, "react-example");
    throw err;
  }
});
