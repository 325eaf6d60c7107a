// A database created and used by the REAL Better Auth is served as it is by
// better-auth-rs, and back again — on SQLite, PostgreSQL and MariaDB/MySQL:
//
//   node --test tests/node/shared-database.test.mjs
//
// Per backend, on a fresh database and with one random secret for both servers:
//   1. the reference (its migrations create the schema): sign up A, keep A's cookie;
//   2. better-auth-rs (BETTER_AUTH_AUTO_MIGRATE left at its default, so its
//      migrations must adopt the existing tables, which must stay unchanged):
//      A's reference cookie works (and ours signs JWTs with the reference's
//      jwks key), A signs in with the scrypt password, B signs up, A's
//      reference session is signed out;
//   3. the reference again (its second migration run must change nothing):
//      B's cookie (issued by ours) works, a JWT of ours verifies against its
//      JWKS, and what happens when A and B sign in with their passwords is
//      A and B sign in with their passwords: ours adopted a database Better
//      Auth created, so `[storage] format = "auto"` chose `better-auth` and
//      ours kept A's scrypt hash and wrote B's in Better Auth's scrypt too.
//
// Env: TEST_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/postgres),
//      TEST_MYSQL_URL (mysql://root@127.0.0.1:3306/), BETTER_AUTH_BIN,
//      CI=true (an unreachable database server fails instead of skipping),
//      E2E_KEEP_TMP=1 (keep the temp dirs with the server logs even on success).
//
// Each backend gets a temp dir (SQLite file, server logs as <step>.stderr.log);
// it is removed on success and kept (and named in the output) on failure.
// PostgreSQL/MariaDB databases are named shared_<random> and always dropped.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import {
  CookieJar,
  PASSWORD,
  SESSION_COOKIE,
  newBrowser,
  signedCookieValue,
  startServer,
  stopAllServers,
  uniqueEmail,
} from "./harness.mjs";

const PG_ADMIN_URL = process.env.TEST_POSTGRES_URL || "postgres://postgres@127.0.0.1:5432/postgres";
const MYSQL_ADMIN_URL = process.env.TEST_MYSQL_URL || "mysql://root@127.0.0.1:3306/";
const IN_CI = process.env.CI === "true";
const CONNECT_TIMEOUT_MS = 5_000;

/** Better Auth's scrypt hash: hex(16-byte salt) ":" hex(64-byte key). */
const SCRYPT_HASH = /^[0-9a-f]{32}:[0-9a-f]{128}$/;
const ARGON2ID_HASH = /^\$argon2id\$v=19\$/;

after(stopAllServers);

// ---------------------------------------------------------------------------
// Databases: provision a fresh one, query it directly, drop it
// ---------------------------------------------------------------------------

function randomName() {
  return `shared_${randomBytes(6).toString("hex")}`;
}

/**
 * Each backend: `provision(dir)` → { url, label, query(sql, params), snapshot(), drop() }.
 * `query` takes SQL with "double-quoted" identifiers and `?` placeholders.
 * `provision` throws an error with `unreachable = true` when the server cannot be reached.
 */
const BACKENDS = [
  {
    name: "sqlite",
    async provision(dir) {
      const { default: Database } = await import("better-sqlite3");
      const file = join(dir, "auth.db");
      const withDb = (fn) => {
        const db = new Database(file, { fileMustExist: true, timeout: 5_000 });
        try {
          return fn(db);
        } finally {
          db.close();
        }
      };
      const query = async (sql, params = []) => withDb((db) => db.prepare(sql).all(...params));
      return {
        url: `sqlite://${file}?mode=rwc`,
        label: file,
        query,
        async snapshot() {
          const columns = await query(
            `select m.name as tbl, p.name as col, p.type as type, p."notnull" as nn, p.dflt_value as dflt, p.pk as pk
             from sqlite_master m join pragma_table_info(m.name) p
             where m.type = 'table' and m.name not like 'sqlite_%' order by m.name, p.cid`,
          );
          const indexes = await query(
            `select tbl_name as tbl, name, coalesce(sql, '(auto) ' || name) as def from sqlite_master
             where type = 'index' order by tbl_name, name`,
          );
          return buildSnapshot(
            columns.map((c) => [c.tbl, `${c.col} ${c.type}${c.nn ? " not null" : ""}${c.pk ? " pk" : ""} default=${c.dflt}`]),
            indexes.map((i) => [i.tbl, i.def]),
          );
        },
        async drop() {},
      };
    },
  },
  {
    name: "postgres",
    async provision() {
      const { default: pg } = await import("pg");
      const admin = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
      admin.on("error", () => {});
      try {
        await admin.connect();
      } catch (err) {
        throw unreachable(`postgres unreachable: ${redact(PG_ADMIN_URL)}: ${err.message || err.code || err}`);
      }
      const name = randomName();
      try {
        await admin.query(`create database "${name}"`);
      } catch (err) {
        await admin.end();
        throw err;
      }
      const url = new URL(PG_ADMIN_URL);
      url.pathname = `/${name}`;
      // One client, not a pool: pg.Pool#end() resolves before its sockets are
      // closed, and "drop database … with (force)" then kills them → an
      // unhandled 'error' event.
      const conn = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
      conn.on("error", () => {});
      try {
        await conn.connect();
      } catch (err) {
        await admin.query(`drop database if exists "${name}" with (force)`).finally(() => admin.end());
        throw err;
      }
      const query = async (sql, params = []) => {
        let n = 0;
        const { rows } = await conn.query(
          sql.replace(/\?/g, () => `$${++n}`),
          params,
        );
        return rows;
      };
      return {
        url: url.toString(),
        label: `postgres database ${name}`,
        query,
        async snapshot() {
          const columns = await query(
            `select table_name as tbl, column_name as col, data_type as type, is_nullable as nullable,
                    column_default as dflt
             from information_schema.columns where table_schema = 'public'
             order by table_name, ordinal_position`,
          );
          const indexes = await query(
            `select tablename as tbl, indexdef as def from pg_indexes where schemaname = 'public'
             order by tablename, indexname`,
          );
          const constraints = await query(
            `select rel.relname as tbl, pg_get_constraintdef(c.oid) as def
             from pg_constraint c join pg_class rel on rel.oid = c.conrelid
             join pg_namespace ns on ns.oid = rel.relnamespace
             where ns.nspname = 'public' order by rel.relname, c.conname`,
          );
          return buildSnapshot(
            columns.map((c) => [c.tbl, `${c.col} ${c.type}${c.nullable === "NO" ? " not null" : ""} default=${c.dflt}`]),
            [...indexes.map((i) => [i.tbl, i.def]), ...constraints.map((c) => [c.tbl, `constraint ${c.def}`])],
          );
        },
        async drop() {
          await conn.end().catch(() => {});
          try {
            await admin.query(`drop database if exists "${name}" with (force)`);
          } finally {
            await admin.end();
          }
        },
      };
    },
  },
  {
    name: "mysql",
    async provision() {
      const { createConnection, createPool } = await import("mysql2/promise");
      let admin;
      try {
        admin = await createConnection({ uri: MYSQL_ADMIN_URL, connectTimeout: CONNECT_TIMEOUT_MS });
      } catch (err) {
        throw unreachable(`mysql unreachable: ${redact(MYSQL_ADMIN_URL)}: ${err.message || err.code || err}`);
      }
      const [[{ v: version }]] = await admin.query("select version() as v");
      const name = randomName();
      try {
        await admin.query(`create database \`${name}\``);
      } catch (err) {
        await admin.end();
        throw err;
      }
      const url = new URL(MYSQL_ADMIN_URL);
      url.pathname = `/${name}`;
      const pool = createPool({ uri: url.toString(), connectionLimit: 2, connectTimeout: CONNECT_TIMEOUT_MS });
      const query = async (sql, params = []) => {
        const [rows] = await pool.query(sql.replaceAll('"', "`"), params);
        return rows;
      };
      return {
        url: url.toString(),
        label: `mysql database ${name} (server ${version})`,
        query,
        async snapshot() {
          const columns = await query(
            `select TABLE_NAME as tbl, COLUMN_NAME as col, COLUMN_TYPE as type, IS_NULLABLE as nullable,
                    COLUMN_DEFAULT as dflt, EXTRA as extra
             from information_schema.COLUMNS where TABLE_SCHEMA = database()
             order by TABLE_NAME, ORDINAL_POSITION`,
          );
          const indexes = await query(
            `select TABLE_NAME as tbl, INDEX_NAME as name, NON_UNIQUE as nonUnique,
                    group_concat(COLUMN_NAME order by SEQ_IN_INDEX) as cols
             from information_schema.STATISTICS where TABLE_SCHEMA = database()
             group by TABLE_NAME, INDEX_NAME, NON_UNIQUE order by TABLE_NAME, INDEX_NAME`,
          );
          const fks = await query(
            `select k.TABLE_NAME as tbl, k.COLUMN_NAME as col, k.REFERENCED_TABLE_NAME as rt,
                    k.REFERENCED_COLUMN_NAME as rc, r.DELETE_RULE as del
             from information_schema.KEY_COLUMN_USAGE k
             join information_schema.REFERENTIAL_CONSTRAINTS r
               on r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA and r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
             where k.TABLE_SCHEMA = database() and k.REFERENCED_TABLE_NAME is not null
             order by k.TABLE_NAME, k.COLUMN_NAME`,
          );
          return buildSnapshot(
            columns.map((c) => [
              c.tbl,
              `${c.col} ${c.type}${c.nullable === "NO" ? " not null" : ""} default=${c.dflt}${c.extra ? ` ${c.extra}` : ""}`,
            ]),
            [
              ...indexes.map((i) => [i.tbl, `${i.nonUnique ? "index" : "unique"} ${i.name} (${i.cols})`]),
              ...fks.map((f) => [f.tbl, `fk ${f.col} -> ${f.rt}(${f.rc}) on delete ${f.del}`]),
            ],
          );
        },
        async drop() {
          await pool.end().catch(() => {});
          try {
            await admin.query(`drop database if exists \`${name}\``);
          } finally {
            await admin.end();
          }
        },
      };
    },
  },
];

function unreachable(message) {
  const err = new Error(message);
  err.unreachable = true;
  return err;
}

function redact(url) {
  const u = new URL(url);
  if (u.password) u.password = "***";
  return u.toString();
}

/** { table: [column and index/constraint descriptions...] } */
function buildSnapshot(columns, extras) {
  const snapshot = {};
  for (const [table, line] of [...columns, ...extras]) (snapshot[table] ??= []).push(line);
  return snapshot;
}

/** The tables of `before` must be exactly the same in `now`; returns the tables `now` added. */
function assertTablesUnchanged(before, now, what) {
  for (const [table, lines] of Object.entries(before)) {
    assert.deepEqual(now[table], lines, `${what}: table "${table}" is unchanged`);
  }
  return Object.keys(now).filter((table) => !(table in before));
}

// ---------------------------------------------------------------------------
// Requests: a browser per server, and a readable account of an exchange
// ---------------------------------------------------------------------------

/** The official client on `server`, its jar preloaded with `cookies` ({name: value}). */
function browserOn(server, cookies = {}) {
  const jar = new CookieJar();
  for (const [name, value] of Object.entries(cookies)) jar.set(name, value);
  return newBrowser(server.base, { jar });
}

/** Raw GET /api/auth/get-session with a cookie, returning status, headers and parsed body. */
async function rawGetSession(server, cookieValue) {
  const response = await fetch(`${server.base}/api/auth/get-session`, {
    headers: { cookie: `${SESSION_COOKIE}=${cookieValue}` },
  });
  const text = await response.text();
  return { response, text, body: text ? JSON.parse(text) : undefined };
}

/** The last exchange of `browser` with `path`, spelled out (request, status, Set-Cookie, body). */
function describeLast(browser, path) {
  return browser.describe(path);
}

/** Polls `fn` every 100 ms until it returns a truthy value or `timeoutMs` passes. */
async function pollFor(fn, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

function tail(file, lines = 40) {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

// ---------------------------------------------------------------------------
// The scenario
// ---------------------------------------------------------------------------

async function credentialHash(db, userId) {
  const rows = await db.query(`select "password" from "account" where "userId" = ? and "providerId" = 'credential'`, [
    userId,
  ]);
  assert.equal(rows.length, 1, `one credential account for ${userId}`);
  return rows[0].password;
}

async function sessionRowCount(db, token) {
  const [row] = await db.query(`select count(*) as n from "session" where "token" = ?`, [token]);
  return Number(row.n);
}

function hashKind(hash) {
  if (SCRYPT_HASH.test(hash)) return "Better Auth scrypt (salt:key)";
  if (ARGON2ID_HASH.test(hash)) return "argon2id PHC";
  return `unknown (${hash.slice(0, 12)}…)`;
}

async function scenario(t, { db, dir, secret }) {
  const start = (target, logName) =>
    startServer({
      target,
      secret,
      databaseUrl: db.url,
      dir,
      logName,
      // Ours runs with BETTER_AUTH_AUTO_MIGRATE at its default (on).
      env: { BETTER_AUTH_AUTO_MIGRATE: undefined },
    });
  // TAP diagnostics are one line each.
  const note = (message) => t.diagnostic(message.replace(/\n\s*/g, " | "));
  note(`database: ${db.label}; logs and files in ${dir}`);

  // ---- 1. The real Better Auth creates the schema; A signs up ----------------
  const reference1 = await start("reference", "1-reference");
  const emailA = uniqueEmail("alice");
  const a = browserOn(reference1);
  const signUpA = await a.client.signUp.email({ email: emailA, password: PASSWORD, name: "Alice", nickname: "ally" });
  assert.equal(signUpA.error, null, await describeLast(a, "/sign-up/email"));
  const userA = signUpA.data.user;
  const refCookieA = a.jar.get(SESSION_COOKIE);
  assert.equal(refCookieA, signedCookieValue(signUpA.data.token, secret), "reference signs with the shared secret");
  const refSessionA = await a.client.getSession();
  assert.equal(refSessionA.error, null);
  assert.equal(refSessionA.data.user.id, userA.id);
  // The jwt plugin's first token creates the signing key in the jwks table.
  const refJwt = a.lastResponse("/get-session").headers.get("set-auth-jwt");
  assert.ok(refJwt, "the reference sends set-auth-jwt");
  const refKid = decodeProtectedHeader(refJwt).kid;
  const hashA1 = await credentialHash(db, userA.id);
  assert.match(hashA1, SCRYPT_HASH, "the reference stores Better Auth's scrypt hash");
  await reference1.stop();
  const schemaByReference = await db.snapshot();
  for (const table of ["user", "session", "account", "verification", "jwks"]) {
    assert.ok(schemaByReference[table], `the reference created table "${table}"`);
  }

  // ---- 2. better-auth-rs adopts the database ---------------------------------
  let ours;
  try {
    ours = await start("rust", "2-ours");
  } catch (err) {
    err.message += `\n--- ours' stderr (tail) ---\n${tail(join(dir, "2-ours.stderr.log"))}`;
    throw err;
  }
  const schemaAfterOurs = await db.snapshot();
  const addedByOurs = assertTablesUnchanged(schemaByReference, schemaAfterOurs, "after our migrations");
  note(`tables our migrations added to the reference's schema: ${addedByOurs.join(", ") || "none"}`);
  for (const table of addedByOurs) note(`  ${table}: ${schemaAfterOurs[table].join("; ")}`);

  // 2a. A's reference-issued cookie is a valid session on ours.
  const aOnOurs = browserOn(ours, { [SESSION_COOKIE]: refCookieA });
  const sessionA = await aOnOurs.client.getSession();
  assert.equal(sessionA.error, null, await describeLast(aOnOurs, "/get-session"));
  assert.ok(sessionA.data, `ours knows A's reference session: ${await describeLast(aOnOurs, "/get-session")}`);
  assert.equal(sessionA.data.session.token, signUpA.data.token);
  assert.equal(sessionA.data.session.userId, userA.id);
  assert.equal(
    sessionA.data.session.expiresAt.getTime(),
    refSessionA.data.session.expiresAt.getTime(),
    "ours reads the reference's session expiry unchanged",
  );
  assert.equal(sessionA.data.user.id, userA.id);
  assert.equal(sessionA.data.user.email, emailA);
  assert.equal(sessionA.data.user.name, "Alice");
  assert.equal(sessionA.data.user.nickname, "ally");
  assert.equal(sessionA.data.user.role, "user");
  assert.equal(sessionA.data.user.emailVerified, false);
  assert.equal(
    sessionA.data.user.createdAt.getTime(),
    userA.createdAt.getTime(),
    "ours reads the reference's user.createdAt unchanged",
  );

  // Ours signs with the key the reference stored (same kid), not a new one.
  const oursJwt = aOnOurs.lastResponse("/get-session").headers.get("set-auth-jwt");
  assert.ok(oursJwt, `ours sends set-auth-jwt: ${await describeLast(aOnOurs, "/get-session")}`);
  assert.equal(decodeProtectedHeader(oursJwt).kid, refKid, "ours signs JWTs with the reference's jwks key");

  // 2b. A signs in on ours with the password the reference hashed (scrypt).
  const aSignIn = browserOn(ours);
  const signInA = await aSignIn.client.signIn.email({ email: emailA, password: PASSWORD });
  assert.equal(signInA.error, null, await describeLast(aSignIn, "/sign-in/email"));
  assert.equal(signInA.data.user.id, userA.id);
  assert.equal(signInA.data.user.nickname, "ally");
  const oursCookieA = aSignIn.jar.get(SESSION_COOKIE);
  assert.equal(oursCookieA, signedCookieValue(signInA.data.token, secret));
  // In better-auth format ours keeps Better Auth's scrypt hash as it is (a re-hash would run in
  // the background: give it the time to show up).
  await sleep(500);
  const hashA2 = await credentialHash(db, userA.id);
  assert.equal(hashA2, hashA1, "ours kept A's scrypt hash");
  assert.match(readFileSync(join(dir, "2-ours.stdout.log"), "utf8") + readFileSync(join(dir, "2-ours.stderr.log"), "utf8"), /storage format: better-auth/, "the start-up log names the format");
  note(`A's password hash: reference wrote ${hashKind(hashA1)}; after sign-in on ours it is ${hashKind(hashA2)}`);

  // 2c. B signs up on ours.
  const emailB = uniqueEmail("bob");
  const b = browserOn(ours);
  const signUpB = await b.client.signUp.email({ email: emailB, password: PASSWORD, name: "Bob", nickname: "bobby" });
  assert.equal(signUpB.error, null, await describeLast(b, "/sign-up/email"));
  const userB = signUpB.data.user;
  assert.equal(userB.role, "user");
  assert.equal(userB.nickname, "bobby");
  const oursCookieB = b.jar.get(SESSION_COOKIE);
  assert.equal(oursCookieB, signedCookieValue(signUpB.data.token, secret));
  const hashB = await credentialHash(db, userB.id);
  assert.match(hashB, SCRYPT_HASH, "ours wrote B's hash in Better Auth's scrypt format");
  assert.doesNotMatch(hashB, ARGON2ID_HASH);
  note(`B's password hash written by ours: ${hashKind(hashB)}`);

  // 2d. A's reference session is signed out on ours, and is gone.
  const signOutA = await aOnOurs.client.signOut();
  assert.equal(signOutA.error, null, await describeLast(aOnOurs, "/sign-out"));
  assert.deepEqual(signOutA.data, { success: true });
  assert.equal(await sessionRowCount(db, signUpA.data.token), 0, "A's reference session row is deleted");
  const staleOnOurs = await rawGetSession(ours, refCookieA);
  assert.equal(staleOnOurs.response.status, 200);
  assert.equal(staleOnOurs.body, null, `signed-out session on ours: ${staleOnOurs.text}`);
  await ours.stop();

  // ---- 3. The real Better Auth again, on what ours left behind ---------------
  const reference2 = await start("reference", "3-reference");
  const schemaAfterReference2 = await db.snapshot();
  assertTablesUnchanged(schemaAfterOurs, schemaAfterReference2, "after the reference's second migration run");
  assert.deepEqual(Object.keys(schemaAfterReference2).sort(), Object.keys(schemaAfterOurs).sort());

  // 3a. B's cookie, issued by ours, is a valid session on the reference.
  const bOnRef = browserOn(reference2, { [SESSION_COOKIE]: oursCookieB });
  const sessionB = await bOnRef.client.getSession();
  assert.equal(sessionB.error, null, await describeLast(bOnRef, "/get-session"));
  assert.ok(sessionB.data, `the reference knows B's session from ours: ${await describeLast(bOnRef, "/get-session")}`);
  assert.equal(sessionB.data.session.token, signUpB.data.token);
  assert.equal(sessionB.data.user.id, userB.id);
  assert.equal(sessionB.data.user.email, emailB);
  assert.equal(sessionB.data.user.nickname, "bobby");
  assert.equal(sessionB.data.user.role, "user");
  assert.equal(sessionB.data.user.createdAt.getTime(), userB.createdAt.getTime(), "reference reads ours' createdAt");
  const lifetimeB = sessionB.data.session.expiresAt.getTime() - Date.now();
  assert.ok(Math.abs(lifetimeB - 604_800_000) < 60_000, `B's session (by ours) expires in ~7 days on the reference (${lifetimeB} ms)`);

  // A JWT signed by ours verifies against the reference's JWKS.
  const jwks = await (await fetch(`${reference2.base}/api/auth/jwks`)).json();
  const { payload } = await jwtVerify(oursJwt, createLocalJWKSet(jwks), { issuer: ours.base, audience: ours.base });
  assert.equal(payload.sub, userA.id);

  // 3b. A's session from ours works on the reference; the signed-out one does not.
  const a2OnRef = await rawGetSession(reference2, oursCookieA);
  assert.equal(a2OnRef.body?.user?.id, userA.id, `A's session from ours on the reference: ${a2OnRef.text}`);
  const staleOnRef = await rawGetSession(reference2, refCookieA);
  assert.equal(staleOnRef.body, null, `A's signed-out session on the reference: ${staleOnRef.text}`);

  // 3c. Password sign-in on the reference for A (signed in on ours) and B (signed up on ours).
  for (const [who, email] of [
    ["A (scrypt by the reference, signed in on ours)", emailA],
    ["B (signed up on ours)", emailB],
  ]) {
    const browser = browserOn(reference2);
    const result = await browser.client.signIn.email({ email, password: PASSWORD });
    const exchange = await describeLast(browser, "/sign-in/email");
    assert.equal(result.error, null, `the reference signs ${who} in: ${exchange}`);
    assert.ok(browser.jar.get(SESSION_COOKIE), `the reference sets ${who}'s session cookie`);
  }
  await reference2.stop();
}

for (const backend of BACKENDS) {
  test(`${backend.name}: a database made by Better Auth is served by better-auth-rs and back`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), `ba-shared-${backend.name}-`));
    let db;
    try {
      db = await backend.provision(dir);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      if (!err.unreachable || IN_CI) throw err;
      t.skip(err.message);
      return;
    }
    let passed = false;
    try {
      await scenario(t, { db, dir, secret: randomBytes(24).toString("base64url") });
      passed = true;
    } finally {
      await stopAllServers();
      await db.drop();
      if (passed && process.env.E2E_KEEP_TMP !== "1") rmSync(dir, { recursive: true, force: true });
      else t.diagnostic(`kept ${dir}`);
    }
  });
}
