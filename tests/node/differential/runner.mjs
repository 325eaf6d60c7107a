// The differential harness: runs one scripted scenario against a server and records every
// exchange as the client sees it, normalised so that two runs (the real Better Auth and this
// service) can be compared whole. See docs/testing.md, "Differential harness".
//
// A scenario is `{ name, run: async (ctx) => {...} }`. `ctx` gives browsers (each with its own
// cookie jar) whose requests are recorded; the scenario reads raw values from the answers (a
// token, an id) to drive the next request, exactly as it would against either server.

import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { CookieJar, PASSWORD, TRUSTED_ORIGIN, parseSetCookie, readOutbox } from "../harness.mjs";

export { PASSWORD, TRUSTED_ORIGIN };

/** The response headers a client reads; every other header is ignored. */
const COMPARED_HEADERS = ["content-type", "location", "set-auth-token", "set-auth-jwt", "x-retry-after"];
const CORS_PREFIX = "access-control-";

/** JSON keys whose values are generated per run: mapped to placeholders that keep equality. */
const VOLATILE_KEYS = new Set(["id", "userId", "accountId", "token", "sessionId"]);
const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const JWT = /^eyJ[\w-]*\.[\w-]*\.[\w-]*$/;

/**
 * The per-run normaliser: ids and tokens become `<v1>`, `<v2>`… in order of first appearance (so
 * `userId` still equals `user.id`), dates `<date>`, JWTs `<jwt>`, the server's base URL
 * `<base>` and the run's unique tag (in emails) `<run>`.
 */
class Normaliser {
  #seen = new Map();

  constructor(base, tag) {
    this.base = base;
    this.tag = tag;
  }

  volatile(value) {
    if (typeof value !== "string" || value === "") return value;
    if (!this.#seen.has(value)) this.#seen.set(value, `<v${this.#seen.size + 1}>`);
    return this.#seen.get(value);
  }

  /** Marks a raw value (a token taken from a mail, say) as volatile wherever it appears. */
  remember(value) {
    this.volatile(value);
  }

  text(s) {
    if (typeof s !== "string") return s;
    let out = s.split(this.base).join("<base>").split(this.tag).join("<run>");
    if (ISO_DATE.test(out)) return "<date>";
    if (JWT.test(out)) return "<jwt>";
    for (const [raw, placeholder] of this.#seen) {
      if (raw.length >= 8) out = out.split(raw).join(placeholder);
    }
    return out;
  }

  json(value, key) {
    if (Array.isArray(value)) return value.map((v) => this.json(v, key));
    if (value && typeof value === "object") {
      // Keys in sorted order so placeholders are numbered the same whatever the key order.
      const out = {};
      for (const k of Object.keys(value).sort()) out[k] = this.json(value[k], k);
      return out;
    }
    if (typeof value === "string" && VOLATILE_KEYS.has(key)) return this.volatile(value);
    return this.text(value);
  }

  /** A signed token `<token>.<signature>`: the token mapped, the signature elided. */
  signed(v) {
    const dot = v.lastIndexOf(".");
    if (dot < 0) return this.text(v);
    return `${this.volatile(v.slice(0, dot))}.<signature>`;
  }

  /** A Set-Cookie line: name, normalised value, attributes sorted (Expires as `<date>`). */
  cookie(line) {
    const { name, value, attrs } = parseSetCookie(line);
    let v = decodeURIComponent(value);
    if (v !== "") {
      if (name.endsWith("session_token")) v = this.signed(v); else if (name.endsWith("session_data") || name.endsWith("dont_remember")) {
        v = "<signed value>";
      } else v = this.text(v);
    }
    const sorted = Object.keys(attrs)
      .sort()
      .map((k) => (k === "expires" ? `${k}=<date>` : attrs[k] === true ? k : `${k}=${attrs[k]}`));
    return [`${name}=${v}`, ...sorted].join("; ");
  }
}

/** Everything of one answer that is compared. */
async function record(normaliser, label, request, response) {
  const headers = {};
  const setCookie = response.headers.getSetCookie().map((line) => normaliser.cookie(line));
  for (const [name, value] of response.headers) {
    if (name === "set-auth-token") headers[name] = normaliser.signed(value);
    else if (COMPARED_HEADERS.includes(name) || name.startsWith(CORS_PREFIX)) headers[name] = normaliser.text(value);
  }
  if (setCookie.length) headers["set-cookie"] = setCookie.sort();
  const text = await response.text();
  let body = text;
  let json;
  if ((response.headers.get("content-type") ?? "").includes("json") && text !== "") {
    json = JSON.parse(text);
    body = normaliser.json(json);
  } else body = normaliser.text(text);
  return {
    entry: { step: label, request, status: response.status, statusText: response.statusText, headers, body },
    json,
  };
}

/**
 * The context a scenario runs with against one server. `ctx.browser()` gives a browser with its
 * own cookie jar; `ctx.email(local)` an address unique to this run; `ctx.mail(type, email)` the
 * newest mail of that type from the server's outbox. `ctx.transcript` is what gets compared.
 */
export function createContext(server) {
  const tag = randomBytes(5).toString("hex");
  const normaliser = new Normaliser(server.base, tag);
  const transcript = [];
  const ctx = {
    server,
    transcript,
    email: (local = "user") => `${local}-${tag}@example.com`,
    remember: (value) => normaliser.remember(value),
    /** The newest mail of `type` to `email` (waits up to 3 s for it). */
    async mail(type, email) {
      for (let i = 0; i < 60; i += 1) {
        const mail = readOutbox(server).findLast((m) => m.type === type && m.email === email);
        if (mail) {
          normaliser.remember(mail.token);
          return mail;
        }
        await sleep(50);
      }
      throw new Error(`no ${type} mail to ${email} on the ${server.target} server`);
    },
    browser(name = "browser") {
      const jar = new CookieJar();
      /**
       * One request, recorded. `opts`: `body` (JSON unless `rawBody`/`contentType` given),
       * `query` (object), `headers`, `origin` (default the trusted origin; `null` for none),
       * `label` (default "METHOD path"). Returns `{ status, json, response }` with raw values.
       */
      const request = async (method, path, opts = {}) => {
        const url = new URL(`${server.base}/api/auth${path}`);
        for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.append(k, v);
        const headers = new Headers(opts.headers ?? {});
        const origin = opts.origin === undefined ? TRUSTED_ORIGIN : opts.origin;
        if (origin !== null && !headers.has("origin")) headers.set("origin", origin);
        const cookie = jar.header();
        if (cookie && opts.cookies !== false) headers.set("cookie", cookie);
        let body;
        if (opts.rawBody !== undefined) {
          // Bytes, so that fetch adds no Content-Type of its own when `contentType` is null.
          body = new TextEncoder().encode(opts.rawBody);
          if (opts.contentType !== null) headers.set("content-type", opts.contentType ?? "application/json");
        } else if (opts.body !== undefined) {
          body = JSON.stringify(opts.body);
          headers.set("content-type", "application/json");
        }
        const response = await fetch(url, { method, headers, body, redirect: "manual" });
        jar.store(response);
        const label = opts.label ?? `${name}: ${method} ${path}${url.search}`;
        const sent = { method, path: normaliser.text(`${path}${url.search}`) };
        const { entry, json } = await record(normaliser, normaliser.text(label), sent, response);
        transcript.push(entry);
        return { status: response.status, json, response };
      };
      return {
        jar,
        get: (path, opts) => request("GET", path, opts),
        post: (path, body, opts = {}) => request("POST", path, { ...opts, body }),
        request,
        /** Signs up (recorded) and keeps the session cookies; returns the raw answer. */
        signUp: (email, extra = {}) =>
          request("POST", "/sign-up/email", { body: { email, password: PASSWORD, name: "Ada", ...extra } }),
        signIn: (email, extra = {}) =>
          request("POST", "/sign-in/email", { body: { email, password: PASSWORD, ...extra } }),
      };
    },
  };
  return ctx;
}

/**
 * Differences that are known and deliberate: each names the header or field, why it differs
 * (docs/compatibility.md §17) and what the service's side must be instead. Applied to every step;
 * `check(reference, rust, step)` throws when the service's value is not the documented one.
 */
export const ALLOWED_DIFFERENCES = [
  {
    // Better Auth answers no CORS itself (its host framework must); this service adds the CORS
    // headers for a trusted Origin (docs/compatibility.md §2.2, §17).
    header: "access-control-allow-origin",
    check: (ref, rust, step) => {
      if (ref !== undefined) throw new Error(`the reference sent ${ref}`);
      if (rust !== undefined && rust !== step.origin) throw new Error(`allow-origin ${rust} for origin ${step.origin}`);
    },
  },
  {
    header: "access-control-allow-credentials",
    check: (ref, rust) => {
      if (ref !== undefined || (rust !== undefined && rust !== "true")) throw new Error(`${ref} / ${rust}`);
    },
  },
  {
    // Better Auth's `deleteSessionCookie` expires `session_data`, then expires again every
    // `session_data[.N]` cookie the request carried, so one identical line can come twice; this
    // service sends each line once (docs/compatibility.md §17). Compared as sets of lines, which
    // is what a cookie jar makes of them; any other Set-Cookie difference still fails.
    header: "set-cookie",
    check: (ref, rust) => {
      const set = (lines) => JSON.stringify([...new Set(lines ?? [])].sort());
      if (set(ref) !== set(rust)) throw new Error(`reference ${set(ref)}, service ${set(rust)}`);
    },
  },
  {
    // The bearer plugin exposes `set-auth-token` on both; the service's CORS layer also exposes
    // `set-auth-jwt` and `x-request-id` (docs/compatibility.md §2.2): the reference's list must
    // be part of the service's.
    header: "access-control-expose-headers",
    check: (ref, rust) => {
      const list = (v) => (v ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
      const missing = list(ref).filter((h) => !list(rust).includes(h));
      if (missing.length) throw new Error(`the service does not expose ${missing.join(", ")}`);
    },
  },
];

/**
 * Steps whose answers differ on purpose, matched by `step(label)`: `check(reference, rust)` throws
 * unless both sides are the documented ones, and the step is otherwise not compared. Each is
 * listed in docs/compatibility.md §17.
 */
export const ALLOWED_STEPS = [
  {
    // Better Auth hands any JSON value of `name` to the database adapter (on SQLite the number 5
    // is stored as the text "5.0", on PostgreSQL it fails); this service refuses a name that is
    // not a string with 400 VALIDATION_ERROR (docs/compatibility.md §17).
    step: (label) => label === "update-user with a number as name",
    check: (ref, rust) => {
      if (ref.status !== 200) throw new Error(`the reference answered ${ref.status}`);
      if (rust.status !== 400 || rust.body?.code !== "VALIDATION_ERROR") throw new Error(`the service answered ${rust.status}`);
    },
  },
  {
    // `POST /forget-password`, the route Better Auth removed in 1.4, is kept here for older
    // clients as an alias of request-password-reset (docs/compatibility.md §5.6, §17).
    step: (label) => label.startsWith("forget-password alias"),
    check: (ref, rust) => {
      if (ref.status !== 404 || rust.status !== 200 || rust.body?.status !== true) {
        throw new Error(`reference ${ref.status}, service ${rust.status}`);
      }
    },
  },
];

/**
 * Compares two transcripts of one scenario; returns the list of differences (empty when equal),
 * the allowed ones checked and removed first.
 */
export function compareTranscripts(reference, rust, { origin = TRUSTED_ORIGIN } = {}) {
  const differences = [];
  const n = Math.max(reference.length, rust.length);
  for (let i = 0; i < n; i += 1) {
    const ref = structuredClone(reference[i]);
    const ours = structuredClone(rust[i]);
    if (!ref || !ours) {
      differences.push({ step: (ref ?? ours).step, what: "missing step", reference: ref?.step, rust: ours?.step });
      continue;
    }
    const allowedStep = ALLOWED_STEPS.find((a) => a.step(ref.step));
    if (allowedStep) {
      try {
        allowedStep.check(ref, ours);
      } catch (err) {
        differences.push({ step: ref.step, what: `allowed difference not as documented: ${err.message}` });
      }
      continue;
    }
    for (const allowed of ALLOWED_DIFFERENCES) {
      try {
        allowed.check(ref.headers[allowed.header], ours.headers[allowed.header], { origin });
      } catch (err) {
        differences.push({ step: ref.step, what: `${allowed.header}: ${err.message}` });
      }
      delete ref.headers[allowed.header];
      delete ours.headers[allowed.header];
    }
    for (const field of ["step", "request", "status", "statusText", "headers", "body"]) {
      const a = JSON.stringify(ref[field]);
      const b = JSON.stringify(ours[field]);
      if (a !== b) differences.push({ step: ref.step, what: field, reference: ref[field], rust: ours[field] });
    }
  }
  return differences;
}
