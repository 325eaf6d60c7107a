// The two-factor plugin through the official client's `twoFactorClient()`, the same assertions
// against better-auth-rs and against the real Better Auth (twoFactor() plugin, TWO_FACTOR=1):
//
//   BETTER_AUTH_BIN=../../target/debug/better-auth-rs node --test e2e-two-factor.test.mjs
//   E2E_TARGET=reference node --test e2e-two-factor.test.mjs
//
// TOTP codes come from the `otpauth` package (not from either server), read off the totpURI.
// With the Rust target, the last tests enrol a user on the real Better Auth and sign them in on
// better-auth-rs over the same database (SQLite, PostgreSQL, MariaDB/MySQL: TEST_POSTGRES_URL,
// TEST_MYSQL_URL), with a TOTP code and with a backup code.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import * as OTPAuth from "otpauth";
import { twoFactorClient } from "better-auth/client/plugins";
import { PASSWORD, here, newBrowser, readOutbox, startServer, stopAllServers, uniqueEmail } from "./harness.mjs";

const TARGET = process.env.E2E_TARGET === "reference" ? "reference" : "rust";
const dir = mkdtempSync(join(tmpdir(), "ba-e2e-two-factor-"));
after(async () => {
  await stopAllServers();
  if (process.env.E2E_KEEP_TMP !== "1") rmSync(dir, { recursive: true, force: true });
});

function rustConfig() {
  const config = join(dir, "two-factor.toml");
  writeFileSync(
    config,
    `${readFileSync(join(here, "e2e.toml"), "utf8")}\n[plugins.two_factor]\nenabled = true\n[plugins.two_factor.otp_options]\nsend_otp = true\n`,
  );
  return config;
}

function start(target) {
  if (target === "reference") return startServer({ target, dir, env: { TWO_FACTOR: "1" } });
  return startServer({ target, dir, config: rustConfig() });
}

/** A browser with `twoFactorClient`, recording the redirects it is told about. */
function browser(server) {
  const redirects = [];
  const b = newBrowser(server.base, {
    plugins: [twoFactorClient({ onTwoFactorRedirect: (ctx) => redirects.push(ctx.twoFactorMethods) })],
  });
  return { ...b, redirects };
}

/** The current code of an otpauth URI, computed by `otpauth`. */
function totpCode(uri, offsetSteps = 0) {
  const totp = OTPAuth.URI.parse(uri);
  return totp.generate({ timestamp: Date.now() + offsetSteps * totp.period * 1000 });
}

async function session(b) {
  const res = await b.client.getSession({ query: { disableCookieCache: true } });
  assert.equal(res.error, null);
  return res.data;
}

/** A password sign-in that must stop at the second factor. */
async function challenged(server, email) {
  const b = browser(server);
  const res = await b.client.signIn.email({ email, password: PASSWORD });
  assert.equal(res.error, null, JSON.stringify(res.error));
  assert.equal(res.data.twoFactorRedirect, true, JSON.stringify(res.data));
  assert.deepEqual(res.data.twoFactorMethods, ["totp", "otp"]);
  assert.deepEqual(b.redirects, [["totp", "otp"]]);
  assert.ok(b.jar.get("better-auth.two_factor"), "two_factor cookie");
  assert.equal(b.jar.get("better-auth.session_token"), undefined, "no session cookie");
  assert.equal(await session(b), null);
  return b;
}

test(`two-factor through twoFactorClient (${TARGET})`, async () => {
  const server = await start(TARGET);
  const email = uniqueEmail("tf");
  const owner = browser(server);
  let res = await owner.client.signUp.email({ email, password: PASSWORD, name: "Two" });
  assert.equal(res.error, null);
  assert.equal(res.data.user.twoFactorEnabled, false);

  res = await owner.client.twoFactor.enable({ password: "wrong-password" });
  assert.equal(res.error.status, 400);
  assert.equal(res.error.code, "INVALID_PASSWORD");

  res = await owner.client.twoFactor.enable({ password: PASSWORD, issuer: "E2E App" });
  assert.equal(res.error, null, JSON.stringify(res.error));
  assert.equal(res.data.method, "totp");
  const uri = res.data.totpURI;
  assert.match(uri, /^otpauth:\/\/totp\/E2E%20App:tf-[^?]+\?secret=[A-Z2-7]+&issuer=E2E\+App&digits=6&period=30$/);
  const codes = res.data.backupCodes;
  assert.equal(codes.length, 10);
  assert.ok(codes.every((c) => /^[a-zA-Z0-9]{5}-[a-zA-Z0-9]{5}$/.test(c)));
  assert.equal((await session(owner)).user.twoFactorEnabled, false, "not before the first code");

  res = await owner.client.twoFactor.verifyTotp({ code: totpCode(uri, -3) });
  assert.equal(res.error.status, 401);
  assert.equal(res.error.code, "INVALID_CODE");
  res = await owner.client.twoFactor.verifyTotp({ code: totpCode(uri) });
  assert.equal(res.error, null, JSON.stringify(res.error));
  assert.equal((await session(owner)).user.twoFactorEnabled, true);

  res = await owner.client.twoFactor.getTotpUri({ password: PASSWORD });
  assert.equal(res.error, null);
  assert.equal(OTPAuth.URI.parse(res.data.totpURI).secret.base32, OTPAuth.URI.parse(uri).secret.base32);
  assert.ok(res.data.totpURI.startsWith("otpauth://totp/Better%20Auth:"));

  // TOTP, trusting the device.
  let b = await challenged(server, email);
  res = await b.client.twoFactor.verifyTotp({ code: "000000" === totpCode(uri) ? "111111" : "000000" });
  assert.equal(res.error.code, "INVALID_CODE");
  res = await b.client.twoFactor.verifyTotp({ code: totpCode(uri), trustDevice: true });
  assert.equal(res.error, null, JSON.stringify(res.error));
  assert.equal(typeof res.data.token, "string");
  assert.equal(res.data.user.email, email);
  assert.equal((await session(b)).user.email, email);
  assert.ok(b.jar.get("better-auth.trust_device"), "trust cookie");
  assert.equal(b.jar.get("better-auth.two_factor"), undefined, "challenge cookie expired");
  await b.client.signOut();
  res = await b.client.signIn.email({ email, password: PASSWORD });
  assert.equal(res.error, null);
  assert.equal(res.data.twoFactorRedirect, undefined, "a trusted device signs straight in");
  assert.equal(res.data.user.email, email);

  // Backup codes work once.
  b = await challenged(server, email);
  res = await b.client.twoFactor.verifyBackupCode({ code: codes[0] });
  assert.equal(res.error, null, JSON.stringify(res.error));
  assert.equal((await session(b)).user.email, email);
  b = await challenged(server, email);
  res = await b.client.twoFactor.verifyBackupCode({ code: codes[0] });
  assert.equal(res.error.status, 401);
  assert.equal(res.error.code, "INVALID_BACKUP_CODE");

  // OTP through the mail.
  res = await b.client.twoFactor.sendOtp();
  assert.equal(res.error, null, JSON.stringify(res.error));
  const mail = readOutbox(server).findLast((m) => m.type === "two-factor-otp" && m.email === email);
  assert.match(mail.otp, /^[0-9]{6}$/);
  res = await b.client.twoFactor.verifyOtp({ code: mail.otp === "000000" ? "111111" : "000000" });
  assert.equal(res.error.code, "INVALID_CODE");
  res = await b.client.twoFactor.verifyOtp({ code: mail.otp });
  assert.equal(res.error, null, JSON.stringify(res.error));
  assert.equal((await session(b)).user.email, email);

  res = await owner.client.twoFactor.generateBackupCodes({ password: PASSWORD });
  assert.equal(res.error, null);
  assert.equal(res.data.status, true);
  assert.equal(res.data.backupCodes.length, 10);

  res = await owner.client.twoFactor.disable({ password: "wrong-password" });
  assert.equal(res.error.code, "INVALID_PASSWORD");
  res = await owner.client.twoFactor.disable({ password: PASSWORD });
  assert.equal(res.error, null);
  assert.equal(res.data.status, true);
  assert.equal((await session(owner)).user.twoFactorEnabled, false);
  const plain = browser(server);
  res = await plain.client.signIn.email({ email, password: PASSWORD });
  assert.equal(typeof res.data.token, "string", "no second factor once disabled");

  // Without a challenge the verify routes refuse.
  res = await browser(server).client.twoFactor.verifyTotp({ code: "123456" });
  assert.equal(res.error.status, 401);
  assert.equal(res.error.code, "INVALID_TWO_FACTOR_COOKIE");
  await server.stop();
});

// ---------------------------------------------------------------------------
// A user enrolled on the real Better Auth, on each database, signs in here
// ---------------------------------------------------------------------------

const PG_ADMIN_URL = process.env.TEST_POSTGRES_URL || "postgres://postgres@127.0.0.1:5432/postgres";
const MYSQL_ADMIN_URL = process.env.TEST_MYSQL_URL || "mysql://root@127.0.0.1:3306/";

/** A fresh database: { url, row(sql), drop() }, or null when its server is unreachable (outside CI). */
async function provision(backend, serverDir) {
  const name = `tf_${randomBytes(6).toString("hex")}`;
  try {
    if (backend === "sqlite") {
      const file = join(serverDir, "auth.db");
      return {
        url: `sqlite://${file}?mode=rwc`,
        row: async (sql) => {
          const db = new Database(file, { readonly: true });
          try {
            return db.prepare(sql).get();
          } finally {
            db.close();
          }
        },
        drop: async () => {},
      };
    }
    if (backend === "postgres") {
      const { default: pg } = await import("pg");
      const admin = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5_000 });
      await admin.connect();
      await admin.query(`create database "${name}"`);
      const url = new URL(PG_ADMIN_URL);
      url.pathname = `/${name}`;
      return {
        url: url.toString(),
        row: async (sql) => {
          const c = new pg.Client({ connectionString: url.toString() });
          await c.connect();
          try {
            return (await c.query(sql)).rows[0];
          } finally {
            await c.end();
          }
        },
        drop: async () => {
          await admin.query(`drop database if exists "${name}" with (force)`);
          await admin.end();
        },
      };
    }
    const { createConnection } = await import("mysql2/promise");
    const admin = await createConnection({ uri: MYSQL_ADMIN_URL, connectTimeout: 5_000 });
    await admin.query(`create database \`${name}\``);
    const url = new URL(MYSQL_ADMIN_URL);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      row: async (sql) => {
        const c = await createConnection({ uri: url.toString() });
        try {
          return (await c.query(sql.replaceAll('"', "`")))[0][0];
        } finally {
          await c.end();
        }
      },
      drop: async () => {
        await admin.query(`drop database if exists \`${name}\``);
        await admin.end();
      },
    };
  } catch (err) {
    if (process.env.CI === "true") throw err;
    console.log(`# skipped ${backend}: server unreachable (${err.message})`);
    return null;
  }
}

for (const backend of ["sqlite", "postgres", "mysql"]) {
  test(`a user enrolled on the real Better Auth signs in on better-auth-rs (${backend})`, { skip: TARGET !== "rust" }, async () => {
    const shared = mkdtempSync(join(dir, `shared-${backend}-`));
    const db = await provision(backend, shared);
    if (!db) return;
    try {
      const node = await startServer({ target: "reference", dir: shared, databaseUrl: db.url, env: { TWO_FACTOR: "1" } });
      const email = uniqueEmail("node-tf");
      const owner = browser(node);
      assert.equal((await owner.client.signUp.email({ email, password: PASSWORD, name: "Node" })).error, null);
      let res = await owner.client.twoFactor.enable({ password: PASSWORD });
      const { totpURI: uri, backupCodes: codes } = res.data;
      res = await owner.client.twoFactor.verifyTotp({ code: totpCode(uri) });
      assert.equal(res.error, null);
      await node.stop();
      const row = await db.row(`SELECT "secret", "backupCodes", "verified" FROM "twoFactor"`);
      assert.match(row.secret, /^[0-9a-f]+$/, "Node's symmetricEncrypt");
      assert.ok(row.verified === true || row.verified === 1, `verified: ${row.verified}`);

      const rust = await startServer({ target: "rust", dir: shared, databaseUrl: db.url, config: rustConfig() });
      let b = await challenged(rust, email);
      res = await b.client.twoFactor.verifyTotp({ code: totpCode(uri) });
      assert.equal(res.error, null, JSON.stringify(res.error));
      assert.equal((await session(b)).user.email, email);
      b = await challenged(rust, email);
      res = await b.client.twoFactor.verifyBackupCode({ code: codes[3] });
      assert.equal(res.error, null, JSON.stringify(res.error));
      assert.equal((await session(b)).user.email, email);
      await rust.stop();
    } finally {
      await db.drop();
    }
  });
}
