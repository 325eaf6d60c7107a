// Shared configuration of the reference Better Auth instance.
//
// Used by reference-server.mjs (HTTP server for differential tests and
// benchmarks) and ddl/dump-ddl.mjs (schema dumps). It mirrors the settings of
// tests/node/e2e.toml for the Rust service, so both sides expose the same
// schema and endpoints.

import { appendFileSync } from "node:fs";
import { apiKey } from "@better-auth/api-key";
import {
  admin,
  anonymous,
  bearer,
  emailOTP,
  genericOAuth,
  jwt,
  lastLoginMethod,
  magicLink,
  multiSession,
  organization,
  twoFactor,
  username,
} from "better-auth/plugins";
import { passkey } from "@better-auth/passkey";

/** Default secret when none is given (tests only; 40 characters). */
export const TEST_SECRET = "e2e-test-secret-0123456789abcdefghijklmn";

/**
 * Opens the database named by a `DATABASE_URL`-style string the way the Rust
 * service understands it: `sqlite://path?mode=rwc`, `sqlite:path`,
 * `sqlite::memory:`, `postgres://…` / `postgresql://…`, `mysql://…`.
 * Returns `{ database, dialect, close }`; `database` is what Better Auth's
 * `database` option accepts (better-sqlite3 Database, pg Pool, mysql2 pool).
 */
export async function openDatabase(url) {
  if (!url) throw new Error("DATABASE_URL is required");
  if (url.startsWith("sqlite:")) {
    const { default: Database } = await import("better-sqlite3");
    const rest = url.slice("sqlite:".length).replace(/^\/\//, "");
    const [path, query = ""] = rest.split("?");
    const mode = new URLSearchParams(query).get("mode") ?? "rwc";
    const file = path === "" || path === ":memory:" ? ":memory:" : path;
    const database = new Database(file, {
      readonly: mode === "ro",
      fileMustExist: mode === "ro" || mode === "rw",
    });
    database.pragma("journal_mode = WAL");
    database.pragma("foreign_keys = ON");
    return { database, dialect: "sqlite", close: async () => database.close() };
  }
  if (url.startsWith("postgres://") || url.startsWith("postgresql://")) {
    const { default: pg } = await import("pg");
    const database = new pg.Pool({ connectionString: url, max: 10 });
    return { database, dialect: "postgres", close: () => database.end() };
  }
  if (url.startsWith("mysql://") || url.startsWith("mariadb://")) {
    const { createPool } = await import("mysql2/promise");
    const database = createPool({
      uri: url.replace(/^mariadb:/, "mysql:"),
      connectionLimit: 10,
    });
    return { database, dialect: "mysql", close: () => database.end() };
  }
  throw new Error(`unsupported DATABASE_URL scheme: ${url}`);
}

/**
 * Better Auth's `secondaryStorage` on Redis, as the official Redis storage does it: every key
 * under `prefix` (`better-auth:` by default), values as strings, TTLs in seconds.
 * Returns `{ storage, close }`; the connection opens on first use.
 */
export function redisStorage(url, prefix = "better-auth:") {
  let client;
  const connected = async () => {
    if (!client) {
      const { createClient } = await import("redis");
      client = createClient({ url });
      client.on("error", () => {});
      await client.connect();
    }
    return client;
  };
  const storage = {
    get: async (key) => (await connected()).get(prefix + key),
    set: async (key, value, ttl) => {
      const c = await connected();
      if (ttl) await c.set(prefix + key, value, { expiration: { type: "EX", value: ttl } });
      else await c.set(prefix + key, value);
    },
    delete: async (key) => {
      await (await connected()).del(prefix + key);
    },
    getAndDelete: async (key) => (await connected()).getDel(prefix + key),
    increment: async (key, ttl) => {
      const c = await connected();
      const n = await c.incr(prefix + key);
      if (n === 1 && ttl) await c.expire(prefix + key, ttl);
      return n;
    },
  };
  return { storage, close: async () => client?.quit() };
}

/** The additional user fields declared on both sides (see e2e.toml). */
export const userAdditionalFields = {
  role: {
    type: "string",
    required: false,
    defaultValue: "user",
    input: false,
  },
  nickname: {
    type: "string",
    required: false,
  },
};

/**
 * The JWT plugin's key pair settings: `JWT_ALG` (EdDSA, ES256, ES512, RS256,
 * PS256) picks the algorithm, as `[plugins.jwt] alg` does for the Rust service.
 */
export function jwtPluginOptions(env = process.env) {
  const alg = env.JWT_ALG || "EdDSA";
  return { jwks: { keyPairConfig: alg === "EdDSA" ? { alg, crv: "Ed25519" } : { alg } } };
}

/** The passkey plugin's options from PASSKEY_RP_ID, PASSKEY_RP_NAME and PASSKEY_ORIGIN. */
export function passkeyPluginOptions(env = process.env) {
  return {
    ...(env.PASSKEY_RP_ID ? { rpID: env.PASSKEY_RP_ID } : {}),
    ...(env.PASSKEY_RP_NAME ? { rpName: env.PASSKEY_RP_NAME } : {}),
    ...(env.PASSKEY_ORIGIN ? { origin: env.PASSKEY_ORIGIN } : {}),
  };
}

/**
 * The hooks that would send mail append one JSON line per mail to the file
 * named by BETTER_AUTH_EMAIL_FILE, exactly as the Rust service's `file`
 * transport does (docs/configuration.md `[email]`): type, email, userId, url, token, at.
 */
function mailHooks(env) {
  const outbox = (type) => async ({ user, url, token }) => {
    const line = JSON.stringify({ type, email: user.email, userId: user.id, url, token, at: new Date().toISOString() });
    if (env.BETTER_AUTH_EMAIL_FILE) appendFileSync(env.BETTER_AUTH_EMAIL_FILE, `${line}\n`);
  };
  return {
    sendResetPassword: outbox("reset-password"),
    sendVerificationEmail: outbox("verify-email"),
    sendChangeEmailConfirmation: outbox("change-email-verification"),
    sendDeleteAccountVerification: outbox("delete-account"),
  };
}

/**
 * TWO_FACTOR=1: the two-factor plugin, its OTPs written to the outbox as the Rust service's
 * `file` transport writes `two-factor-otp` mails (`[plugins.two_factor.otp_options] send_otp`).
 */
function twoFactorPlugins(env) {
  if (env.TWO_FACTOR !== "1") return [];
  const sendOTP = async ({ user, otp }) => {
    const line = JSON.stringify({ type: "two-factor-otp", email: user.email, userId: user.id, otp, at: new Date().toISOString() });
    if (env.BETTER_AUTH_EMAIL_FILE) appendFileSync(env.BETTER_AUTH_EMAIL_FILE, `${line}\n`);
  };
  return [twoFactor({ otpOptions: { sendOTP } })];
}

/**
 * The organization plugin's options: invitations go to the outbox as the Rust service's `file`
 * transport writes them (type `organization-invitation`). ORGANIZATION_MEMBERSHIP_LIMIT and
 * ORGANIZATION_LIMIT set the limits, as `membership_limit` / `organization_limit` do;
 * ORGANIZATION_TEAMS=1 turns teams on, as `[plugins.organization.teams] enabled = true` does.
 */
export function organizationOptions(env = process.env) {
  return {
    ...(env.ORGANIZATION_TEAMS === "1" ? { teams: { enabled: true } } : {}),
    ...(env.ORGANIZATION_LIMIT ? { organizationLimit: Number(env.ORGANIZATION_LIMIT) } : {}),
    ...(env.ORGANIZATION_MEMBERSHIP_LIMIT
      ? { membershipLimit: Number(env.ORGANIZATION_MEMBERSHIP_LIMIT) }
      : {}),
    sendInvitationEmail: async ({ id, email, organization, inviter, invitation }) => {
      const line = JSON.stringify({
        type: "organization-invitation",
        email,
        invitationId: id,
        organizationId: organization.id,
        organizationName: organization.name,
        inviter: inviter.user.email,
        role: invitation.role,
        at: new Date().toISOString(),
      });
      if (env.BETTER_AUTH_EMAIL_FILE) appendFileSync(env.BETTER_AUTH_EMAIL_FILE, `${line}\n`);
    },
  };
}

/**
 * The email-OTP plugin's `sendVerificationOTP`: one JSON line per code, as the Rust service's
 * `file` transport writes it (type "email-otp", email, otp, otpType, at).
 */
function otpOutbox(env) {
  return async ({ email, otp, type }) => {
    const line = JSON.stringify({ type: "email-otp", email, otp, otpType: type, at: new Date().toISOString() });
    if (env.BETTER_AUTH_EMAIL_FILE) appendFileSync(env.BETTER_AUTH_EMAIL_FILE, `${line}\n`);
  };
}

/** The magic-link plugin's `sendMagicLink`: type "magic-link", email, url, token, at. */
function linkOutbox(env) {
  return async ({ email, url, token }) => {
    const line = JSON.stringify({ type: "magic-link", email, url, token, at: new Date().toISOString() });
    if (env.BETTER_AUTH_EMAIL_FILE) appendFileSync(env.BETTER_AUTH_EMAIL_FILE, `${line}\n`);
  };
}

/**
 * Better Auth options for the reference instance.
 * `env` is usually `process.env`; `database` comes from openDatabase().
 */
export function buildAuthOptions({ env = process.env, database, rateLimitStorage, secondaryStorage } = {}) {
  const baseURL = env.BETTER_AUTH_URL || `http://127.0.0.1:${env.PORT || 3001}`;
  const trustedOrigins = (env.BETTER_AUTH_TRUSTED_ORIGINS || "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const mail = mailHooks(env);
  // USER_FIELDS=role keeps only the named additional fields; COOKIE_CACHE (below) turns the
  // session cookie cache on (both used by bench/bench.mjs).
  const only = (env.USER_FIELDS || "").split(",").filter(Boolean);
  const additionalFields = only.length
    ? Object.fromEntries(only.map((name) => [name, userAdditionalFields[name]]))
    : userAdditionalFields;
  return {
    baseURL,
    basePath: "/api/auth",
    secret: env.BETTER_AUTH_SECRET || TEST_SECRET,
    database,
    trustedOrigins,
    emailAndPassword: { enabled: true, sendResetPassword: mail.sendResetPassword },
    emailVerification: { sendVerificationEmail: mail.sendVerificationEmail },
    user: {
      additionalFields,
      changeEmail: { enabled: true, sendChangeEmailConfirmation: mail.sendChangeEmailConfirmation },
      deleteUser: { enabled: true, sendDeleteAccountVerification: mail.sendDeleteAccountVerification },
    },
    // COOKIE_CACHE=compact|jwt|jwe turns the session cookie cache on with that strategy; the
    // Rust side gets the same from `[session.cookie_cache]` (see cookieCacheToml in harness.mjs).
    ...(env.COOKIE_CACHE ? { session: { cookieCache: { enabled: true, strategy: env.COOKIE_CACHE } } } : {}),
    rateLimit: {
      enabled: env.RATE_LIMIT === "1",
      storage: rateLimitStorage ?? env.RATE_LIMIT_STORAGE ?? "memory",
    },
    // REDIS_URL: sessions and verification values in Redis (redisStorage above), as
    // better-auth-rs does with REDIS_URL; VERIFICATION_STORE_IN_DATABASE=1 writes the
    // `verification` rows too, as `[verification] store_in_database = true` does.
    ...(secondaryStorage ? { secondaryStorage } : {}),
    ...(env.VERIFICATION_STORE_IN_DATABASE === "1" ? { verification: { storeInDatabase: true } } : {}),
    // ADMIN=1 adds the admin plugin, as `[plugins.admin] enabled = true` does.
    // TWO_FACTOR=1 adds the two-factor plugin, as `[plugins.two_factor] enabled = true` does.
    // API_KEY=1 the API key plugin with `x-api-key` sessions and metadata, as
    // `[plugins.api_key] enabled, enable_session_for_api_keys, enable_metadata` do.
    // PASSKEY=1 the passkey plugin (PASSKEY_RP_ID, PASSKEY_RP_NAME, PASSKEY_ORIGIN as
    // `[plugins.passkey]` rp_id, rp_name, origin).
    // ORGANIZATION=1 the organization plugin, as `[plugins.organization] enabled = true` does.
    // USERNAME=1 adds the username plugin, as `[plugins.username] enabled = true` does.
    // OIDC_DISCOVERY_URL adds the generic OAuth provider `mock` (e2e-social.test.mjs), as a
    // `[[plugins.generic_oauth.config]]` table does for the Rust service.
    plugins: [
      jwt(jwtPluginOptions(env)),
      bearer(),
      ...(env.ADMIN === "1" ? [admin()] : []),
      ...twoFactorPlugins(env),
      // API_KEY_RATE_LIMIT=0 turns the keys' own rate limit off (new keys get
      // rateLimitEnabled false), as `[plugins.api_key.rate_limit] enabled = false` does.
      ...(env.API_KEY === "1"
        ? [
            apiKey({
              enableSessionForAPIKeys: true,
              enableMetadata: true,
              ...(env.API_KEY_RATE_LIMIT === "0" ? { rateLimit: { enabled: false } } : {}),
            }),
          ]
        : []),
      ...(env.PASSKEY === "1" ? [passkey(passkeyPluginOptions(env))] : []),
      ...(env.ORGANIZATION === "1" ? [organization(organizationOptions(env))] : []),
      ...(env.USERNAME === "1" ? [username()] : []),
      // MULTI_SESSION=1 adds the multi-session plugin with maximumSessions 3, as
      // `[plugins.multi_session] enabled = true, maximum_sessions = 3` does.
      ...(env.MULTI_SESSION === "1" ? [multiSession({ maximumSessions: 3 })] : []),
      // EMAIL_OTP=1 adds the email-OTP plugin, as `[plugins.email_otp] enabled = true` does;
      // EMAIL_OTP_STORE (plain, hashed, encrypted) is its `store_otp`.
      ...(env.EMAIL_OTP === "1"
        ? [
            emailOTP({
              sendVerificationOTP: otpOutbox(env),
              storeOTP: env.EMAIL_OTP_STORE || "plain",
              // EMAIL_OTP_CHANGE_EMAIL=verify-current: `changeEmail` on, the current address
              // proven first, as `[plugins.email_otp.change_email]` enabled and
              // verify_current_email do.
              ...(env.EMAIL_OTP_CHANGE_EMAIL === "verify-current"
                ? { changeEmail: { enabled: true, verifyCurrentEmail: true } }
                : {}),
            }),
          ]
        : []),
      // MAGIC_LINK=1 adds the magic-link plugin, as `[plugins.magic_link] enabled = true` does;
      // MAGIC_LINK_STORE=hashed is its `store_token`.
      ...(env.MAGIC_LINK === "1"
        ? [magicLink({ sendMagicLink: linkOutbox(env), storeToken: env.MAGIC_LINK_STORE || "plain" })]
        : []),
      // ANONYMOUS=1 adds the anonymous plugin, as `[plugins.anonymous] enabled = true` does.
      ...(env.ANONYMOUS === "1" ? [anonymous()] : []),
      // LAST_LOGIN_METHOD=1: the last-login-method plugin with `storeInDatabase`, as
      // `[plugins.last_login_method] enabled = true, store_in_database = true` do.
      ...(env.LAST_LOGIN_METHOD === "1" ? [lastLoginMethod({ storeInDatabase: true })] : []),
      ...(env.OIDC_DISCOVERY_URL
        ? [
            genericOAuth({
              config: [
                {
                  providerId: "mock",
                  discoveryUrl: env.OIDC_DISCOVERY_URL,
                  clientId: "mock-client",
                  clientSecret: "mock-secret",
                  scopes: ["openid", "email", "profile"],
                },
                // OIDC_CLOSED=1: a second provider `closed` on the same discovery URL that signs
                // nobody up unless the flow asks for it (`requestSignUp`), as
                // `disable_implicit_sign_up = true` does.
                ...(env.OIDC_CLOSED === "1"
                  ? [
                      {
                        providerId: "closed",
                        discoveryUrl: env.OIDC_DISCOVERY_URL,
                        clientId: "mock-client",
                        clientSecret: "mock-secret",
                        scopes: ["openid", "email", "profile"],
                        disableImplicitSignUp: true,
                      },
                    ]
                  : []),
              ],
            }),
          ]
        : []),
    ],
    // GITHUB_BASE_URL: the built-in GitHub provider, its requests to github.com and
    // api.github.com sent to that local fake by reference-server.mjs (tests only), as
    // `[social_providers.github]` with endpoints on the fake does for the Rust service.
    ...(env.GITHUB_BASE_URL
      ? { socialProviders: { github: { clientId: "gh-client", clientSecret: "gh-secret" } } }
      : {}),
    // ENCRYPT_OAUTH_TOKENS=1: provider tokens encrypted in the account rows, as
    // `[account] encrypt_oauth_tokens = true` does (with BETTER_AUTH_SECRETS, Better Auth's
    // own env variable, in the versioned envelope `$ba$<version>$`).
    // OAUTH_STATE_STRATEGY=cookie: the OAuth state in an encrypted cookie, as
    // `[account] store_state_strategy = "cookie"` does.
    ...(env.ENCRYPT_OAUTH_TOKENS === "1" || env.OAUTH_STATE_STRATEGY
      ? {
          account: {
            ...(env.ENCRYPT_OAUTH_TOKENS === "1" ? { encryptOAuthTokens: true } : {}),
            ...(env.OAUTH_STATE_STRATEGY ? { storeStateStrategy: env.OAUTH_STATE_STRATEGY } : {}),
          },
        }
      : {}),
    // ERROR_URL: where GET /error sends the browser, as `[on_api_error] error_url` does.
    ...(env.ERROR_URL ? { onAPIError: { errorURL: env.ERROR_URL } } : {}),
    telemetry: { enabled: false },
  };
}
