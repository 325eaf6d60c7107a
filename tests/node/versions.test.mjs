// Every Better Auth schema from 1.3 to 1.7.25 is adopted as it is, on SQLite and PostgreSQL:
//
//   BETTER_AUTH_BIN=../../target/debug/better-auth-rs node --test versions.test.mjs
//
// Per version (the npm aliases better-auth-1-3 ... better-auth-1-6 of package.json; 1.7.25 is
// shared-database.test.mjs) and backend, on a fresh database:
//   1. that version of Better Auth (versioned-server.mjs) creates the schema with its own
//      migrations and fills it: a user with a session, a JWT key (its /token), a pending reset
//      link (a verification row), a second user;
//   2. better-auth-rs starts on it: the rows are unchanged (only columns are added), the session
//      cookie works, passwords sign in, /token signs with the old key, the reset link completes;
//   3. the old version (running all along): every user signs in (passwords written by better-auth-rs too), the
//      session issued by better-auth-rs works, its /token still signs.
//
// Env: TEST_POSTGRES_URL, TEST_MYSQL_URL, VERSIONS_MATRIX=full, BETTER_AUTH_BIN, CI=true (an
// unreachable database server fails).

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { decodeProtectedHeader } from "jose";
import pg from "pg";
import { PASSWORD, SESSION_COOKIE, newBrowser, readOutbox, startServer, stopAllServers, uniqueEmail } from "./harness.mjs";

const PG_ADMIN_URL = process.env.TEST_POSTGRES_URL || "postgres://postgres@127.0.0.1:5432/postgres";
const MYSQL_ADMIN_URL = process.env.TEST_MYSQL_URL || "mysql://root@127.0.0.1:3306/";
const IN_CI = process.env.CI === "true";
const NEW_PASSWORD = "another-horse-battery";
// 1.7.25 itself: shared-database.test.mjs (SQLite, PostgreSQL, MariaDB).
const VERSIONS = ["better-auth-1-3", "better-auth-1-4", "better-auth-1-5", "better-auth-1-6"];
const TABLES = ["user", "session", "account", "verification", "jwks"];

after(stopAllServers);

async function provision(backend, dir) {
  if (backend === "sqlite") {
    const { default: Database } = await import("better-sqlite3");
    const file = join(dir, "auth.db");
    return {
      url: `sqlite://${file}?mode=rwc`,
      async rows(table) {
        const db = new Database(file, { fileMustExist: true });
        try {
          return db.prepare(`select * from "${table}" order by "id"`).all();
        } finally {
          db.close();
        }
      },
      async drop() {},
    };
  }
  if (backend === "mysql") return provisionMysql();
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5_000 });
  admin.on("error", () => {});
  try {
    await admin.connect();
  } catch (err) {
    err.unreachable = true;
    throw err;
  }
  const name = `versions_${randomBytes(6).toString("hex")}`;
  await admin.query(`create database "${name}"`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async rows(table) {
      const conn = new pg.Client({ connectionString: url.toString() });
      await conn.connect();
      try {
        return (await conn.query(`select * from "${table}" order by "id"`)).rows;
      } finally {
        await conn.end();
      }
    },
    async drop() {
      await admin.query(`drop database if exists "${name}" with (force)`).finally(() => admin.end());
    },
  };
}

async function provisionMysql() {
  const mysql = await import("mysql2/promise");
  let admin;
  try {
    admin = await mysql.createConnection({ uri: MYSQL_ADMIN_URL, connectTimeout: 5_000 });
  } catch (err) {
    err.unreachable = true;
    throw err;
  }
  const name = `versions_${randomBytes(6).toString("hex")}`;
  await admin.query(`create database \`${name}\``);
  const url = new URL(MYSQL_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async rows(table) {
      const conn = await mysql.createConnection({ uri: url.toString() });
      try {
        return (await conn.query(`select * from \`${table}\` order by \`id\``))[0];
      } finally {
        await conn.end();
      }
    },
    async drop() {
      await admin.query(`drop database if exists \`${name}\``).finally(() => admin.end());
    },
  };
}

/** Every row of the core tables, as the given columns hold them. */
async function snapshot(db) {
  const out = {};
  for (const table of TABLES) out[table] = await db.rows(table);
  return out;
}

/** The rows of `after` restricted to the columns `before` had: what an old version sees. */
function oldColumns(before, after) {
  const out = {};
  for (const table of TABLES) {
    const columns = before[table][0] ? Object.keys(before[table][0]) : [];
    out[table] = after[table].map((row) => Object.fromEntries(columns.map((c) => [c, row[c]])));
  }
  return out;
}

async function ok(promise, what) {
  const { data, error } = await promise;
  assert.equal(error, null, `${what}: ${JSON.stringify(error)}`);
  return data;
}

function lastMail(server, type, email) {
  const mail = readOutbox(server).findLast((m) => m.type === type && m.email === email);
  assert.ok(mail, `a ${type} mail to ${email}`);
  return mail;
}

async function scenario(t, version, backend, dir, db) {
  const secret = randomBytes(24).toString("base64url");
  const start = (which, logName) => startServer({ target: which, secret, databaseUrl: db.url, dir, logName });

  // ---- 1. The old version makes and fills the database -----------------------------------
  const old = await start(version, "old");
  const a = newBrowser(old.base);
  const emailA = uniqueEmail("old-a");
  await ok(a.client.signUp.email({ email: emailA, password: PASSWORD, name: "A" }), "sign-up A on the old version");
  const cookieA = a.jar.get(SESSION_COOKIE);
  const { token: oldJwt } = await ok(a.client.token(), "/token on the old version");
  const kid = decodeProtectedHeader(oldJwt).kid;
  const b = newBrowser(old.base);
  const emailB = uniqueEmail("old-b");
  await ok(b.client.signUp.email({ email: emailB, password: PASSWORD, name: "B" }), "sign-up B");
  await ok(b.client.requestPasswordReset({ email: emailB, redirectTo: "/reset" }), "request-password-reset B");
  const reset = lastMail(old, "reset-password", emailB);
  const before = await snapshot(db);
  assert.equal(before.verification.length, 1, "the pending reset link is a verification row");

  // ---- 2. better-auth-rs on it, the old version still running -----------------------------
  const ours = await start("rust", "2-ours");
  const after1 = await snapshot(db);
  assert.deepEqual(oldColumns(before, after1), before, "starting changed no row, only columns may be added");
  const added = TABLES.flatMap((table) =>
    Object.keys(after1[table][0] ?? {})
      .filter((c) => !(c in (before[table][0] ?? {})))
      .map((c) => `${table}.${c}`),
  );
  const log = readFileSync(ours.stdoutLog, "utf8") + readFileSync(ours.stderrLog, "utf8");
  assert.match(log, /storage format: better-auth/);
  const aOnOurs = newBrowser(ours.base);
  aOnOurs.jar.set(SESSION_COOKIE, cookieA);
  const session = await ok(aOnOurs.client.getSession(), "the old session on ours");
  assert.equal(session?.user?.email, emailA);
  const { token: ourJwt } = await ok(aOnOurs.client.token(), "/token on ours");
  assert.equal(decodeProtectedHeader(ourJwt).kid, kid, "ours signs with the old version's key");
  const a2 = newBrowser(ours.base);
  await ok(a2.client.signIn.email({ email: emailA, password: PASSWORD }), "A signs in on ours");
  const cookieFromOurs = a2.jar.get(SESSION_COOKIE);
  await ok(newBrowser(ours.base).client.resetPassword({ newPassword: NEW_PASSWORD, token: reset.token }), "the old reset link on ours");
  await ok(newBrowser(ours.base).client.signIn.email({ email: emailB, password: NEW_PASSWORD }), "B signs in on ours");
  const emailC = uniqueEmail("ours-c");
  await ok(newBrowser(ours.base).client.signUp.email({ email: emailC, password: PASSWORD, name: "C" }), "C signs up on ours");
  await ours.stop();

  // ---- 3. The old version, on what better-auth-rs left ------------------------------------
  const old2 = old;
  for (const [email, password] of [[emailA, PASSWORD], [emailB, NEW_PASSWORD], [emailC, PASSWORD]]) {
    await ok(newBrowser(old2.base).client.signIn.email({ email, password }), `${email} signs in on the old version again`);
  }
  const aBack = newBrowser(old2.base);
  aBack.jar.set(SESSION_COOKIE, cookieFromOurs);
  const back = await ok(aBack.client.getSession(), "the session from ours on the old version");
  assert.equal(back?.user?.email, emailA);
  const { token: againJwt } = await ok(aBack.client.token(), "/token on the old version again");
  assert.equal(decodeProtectedHeader(againJwt).kid, kid);
  await old.stop();
  t.diagnostic(`${version} on ${backend}: columns added by better-auth-rs: ${added.join(", ") || "none"}`);
}

// The scenarios wait mostly on servers starting: two at a time.
// The suite runs each version once, every database in turn (1.3, whose schema differs most, on
// PostgreSQL); VERSIONS_MATRIX=full runs every version on SQLite, PostgreSQL and MariaDB.
const FULL = process.env.VERSIONS_MATRIX === "full";
const ONCE = ["postgres", "sqlite", "mysql", "sqlite"];
describe("Better Auth 1.3 to 1.6 databases", { concurrency: 2 }, () => {
for (const backend of ["sqlite", "postgres", "mysql"]) {
  for (const [i, version] of VERSIONS.entries()) {
    if (!FULL && ONCE[i % ONCE.length] !== backend) continue;
    test(`${version} on ${backend}: its database is served as it is, and it still works afterwards`, async (t) => {
      const dir = mkdtempSync(join(tmpdir(), `ba-versions-${version}-${backend}-`));
      let db;
      try {
        db = await provision(backend, dir);
      } catch (err) {
        rmSync(dir, { recursive: true, force: true });
        if (!err.unreachable || IN_CI) throw err;
        t.skip(err.message);
        return;
      }
      let passed = false;
      try {
        await scenario(t, version, backend, dir, db);
        passed = true;
      } finally {
        await db.drop();
        if (passed && process.env.E2E_KEEP_TMP !== "1") rmSync(dir, { recursive: true, force: true });
        else t.diagnostic(`kept ${dir}`);
      }
    });
  }
}
});
