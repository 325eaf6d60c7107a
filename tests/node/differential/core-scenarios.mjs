// Scenarios of Better Auth's core routes (packages/better-auth/src/api/routes/*.ts), run by
// differential.test.mjs against the real Better Auth and this service. Both servers are started
// with tests/node/e2e.toml / reference-config.mjs (email and password, change-email and
// delete-user with mailed confirmations, custom fields `role` and `nickname`, jwt and bearer).
//
// Each scenario is `{ name, run(ctx) }`; see runner.mjs for what `ctx` offers. Keep a scenario
// deterministic: the same requests in the same order whatever the server answers.

export const servers = {}; // the defaults of harness.mjs startServer

/** A signed-up browser: `{ b, email, user }`. */
async function signedUp(ctx, local = "ada", extra = {}) {
  const b = ctx.browser(local);
  const email = ctx.email(local);
  const { json } = await b.signUp(email, extra);
  return { b, email, user: json?.user };
}

export const scenarios = [
  // ---- utility routes ----------------------------------------------------------------------
  {
    name: "GET /ok",
    run: async (ctx) => {
      await ctx.browser().get("/ok");
    },
  },
  {
    name: "GET /error: codes, unsafe codes, descriptions",
    run: async (ctx) => {
      const b = ctx.browser();
      await b.get("/error");
      await b.get("/error", { query: { error: "INVALID_TOKEN" } });
      await b.get("/error", { query: { error: "it's_a-CODE" } });
      await b.get("/error", { query: { error: "<script>alert(1)</script>" } });
      await b.get("/error", { query: { error: "" } });
      await b.get("/error", { query: { error: "X", error_description: "a & b <i>x</i> \"q\" &amp;" } });
    },
  },
  {
    name: "unknown route and wrong method",
    run: async (ctx) => {
      const b = ctx.browser();
      await b.get("/no-such-route");
      await b.post("/no-such-route", {});
      await b.get("/sign-in/email");
    },
  },

  // ---- sign-up -----------------------------------------------------------------------------
  {
    name: "sign-up: success, then the same email again",
    run: async (ctx) => {
      const b = ctx.browser();
      const email = ctx.email("Mixed.Case");
      await b.signUp(email, { nickname: "ada" });
      await ctx.browser("other").signUp(email.toLowerCase());
    },
  },
  {
    name: "sign-up: rememberMe false, image, callbackURL",
    run: async (ctx) => {
      const b = ctx.browser();
      await b.signUp(ctx.email("forget"), { rememberMe: false, image: "https://example.com/a.png", callbackURL: "/welcome" });
      await b.get("/get-session");
    },
  },
  {
    name: "sign-up: validation errors",
    run: async (ctx) => {
      const b = ctx.browser();
      await b.post("/sign-up/email", { email: "not-an-email", password: "password123", name: "A" });
      await b.post("/sign-up/email", { email: ctx.email("short"), password: "short", name: "A" });
      await b.post("/sign-up/email", { email: ctx.email("long"), password: "x".repeat(129), name: "A" });
      await b.post("/sign-up/email", { email: ctx.email("noname"), password: "password123" });
      await b.post("/sign-up/email", { password: "password123", name: "A" });
      await b.post("/sign-up/email", { email: ctx.email("role"), password: "password123", name: "A", role: "admin" });
      await b.post("/sign-up/email", { email: ctx.email("cb"), password: "password123", name: "A", callbackURL: "https://evil.example/x" });
      await b.post("/sign-up/email", ["not", "an", "object"]);
      await b.post("/sign-up/email", "a string");
      await b.request("POST", "/sign-up/email", { rawBody: "" });
      await b.request("POST", "/sign-up/email", { rawBody: "{not json" });
    },
  },
  {
    name: "sign-up: origin checks",
    run: async (ctx) => {
      const b = ctx.browser();
      await b.post("/sign-up/email", { email: ctx.email("evil"), password: "password123", name: "A" }, { origin: "https://evil.example" });
      await b.post("/sign-up/email", { email: ctx.email("null"), password: "password123", name: "A" }, { origin: "null" });
    },
  },

  // ---- sign-in -----------------------------------------------------------------------------
  {
    name: "sign-in: success, wrong password, unknown email",
    run: async (ctx) => {
      const { email } = await signedUp(ctx);
      const b = ctx.browser("again");
      await b.signIn(email);
      await b.signIn(email, { password: "wrong-password" });
      await b.signIn(ctx.email("nobody"));
      await b.signIn(email.toUpperCase());
      await b.signIn(email, { password: "x".repeat(129) });
      await b.signIn(ctx.email("nobody"), { password: "x".repeat(129) });
    },
  },
  {
    name: "sign-in: rememberMe false and callbackURL",
    run: async (ctx) => {
      const { email } = await signedUp(ctx);
      const b = ctx.browser("again");
      await b.signIn(email, { rememberMe: false });
      await b.get("/get-session");
      await b.signIn(email, { callbackURL: "/dashboard" });
      await b.signIn(email, { callbackURL: "https://evil.example/steal" });
    },
  },
  {
    name: "sign-in: validation errors",
    run: async (ctx) => {
      const b = ctx.browser();
      await b.post("/sign-in/email", { email: "nope", password: "password123" });
      await b.post("/sign-in/email", { email: ctx.email("x") });
      await b.post("/sign-in/email", { email: ctx.email("x"), password: 12 });
      await b.request("POST", "/sign-in/email", { rawBody: "" });
      await b.request("POST", "/sign-in/email", { rawBody: " " });
      await b.request("POST", "/sign-in/email", { rawBody: "email=a", contentType: "text/plain" });
      // Without a Content-Type the body is not read at all (better-call's node adapter).
      await b.request("POST", "/sign-in/email", { rawBody: JSON.stringify({ email: "a@b.co", password: "x" }), contentType: null });
      await b.request("POST", "/sign-in/email", { rawBody: "email=nope&password=x", contentType: "application/x-www-form-urlencoded" });
      await b.request("POST", "/sign-in/email", { rawBody: "", contentType: "text/plain" });
      await b.request("POST", "/change-password", { rawBody: "" });
      await b.request("POST", "/sign-out", { rawBody: "{}", contentType: "application/ld+json" });
    },
  },

  // ---- sessions ----------------------------------------------------------------------------
  {
    name: "get-session: none, signed in, flags, POST",
    run: async (ctx) => {
      const anon = ctx.browser("anon");
      await anon.get("/get-session");
      const { b } = await signedUp(ctx);
      await b.get("/get-session");
      await b.get("/get-session", { query: { disableCookieCache: "true" } });
      await b.get("/get-session", { query: { disableRefresh: "true" } });
      await b.post("/get-session", {});
      await anon.get("/get-session", { headers: { cookie: "better-auth.session_token=forged.value" } });
    },
  },
  {
    name: "sign-out: with and without a session",
    run: async (ctx) => {
      const { b } = await signedUp(ctx);
      await b.post("/sign-out", {});
      await b.get("/get-session");
      await b.post("/sign-out", {});
    },
  },
  {
    name: "list, revoke one, revoke others, revoke all",
    run: async (ctx) => {
      const { b, email } = await signedUp(ctx);
      const second = ctx.browser("second");
      await second.signIn(email);
      const third = ctx.browser("third");
      await third.signIn(email);
      const { json: list } = await b.get("/list-sessions");
      const thirdToken = third.jar.get("better-auth.session_token");
      const token = list.find((s) => thirdToken.startsWith(encodeURIComponent(s.token)) || thirdToken.startsWith(s.token))?.token;
      await b.post("/revoke-session", { token });
      await third.get("/get-session");
      await b.post("/revoke-session", { token: "not-a-session" });
      await b.post("/revoke-session", {});
      await b.post("/revoke-other-sessions", {});
      await second.get("/get-session");
      await b.get("/list-sessions");
      await b.post("/revoke-sessions", {});
      await b.get("/get-session");
    },
  },
  {
    name: "session routes without a session",
    run: async (ctx) => {
      const b = ctx.browser();
      await b.get("/list-sessions");
      await b.post("/revoke-session", { token: "x" });
      await b.post("/revoke-sessions", {});
      await b.post("/revoke-other-sessions", {});
      await b.post("/update-session", {});
    },
  },
  {
    name: "update-session",
    run: async (ctx) => {
      const { b } = await signedUp(ctx);
      await b.post("/update-session", {});
      await b.post("/update-session", { unknown: 1 });
    },
  },

  // ---- user and account --------------------------------------------------------------------
  {
    name: "update-user",
    run: async (ctx) => {
      const { b } = await signedUp(ctx);
      await b.post("/update-user", { name: "Grace", nickname: "g" });
      await b.post("/update-user", { image: null });
      await b.post("/update-user", { email: "new@example.com" });
      await b.post("/update-user", {});
      await b.post("/update-user", { role: "admin" });
      await b.get("/get-session");
      await ctx.browser("anon").post("/update-user", { name: "x" });
      // Allowed difference (runner.mjs ALLOWED_STEPS): last, so nothing after depends on it.
      await b.post("/update-user", { name: 5 }, { label: "update-user with a number as name" });
    },
  },
  {
    name: "change-password",
    run: async (ctx) => {
      const { b, email } = await signedUp(ctx);
      const other = ctx.browser("other");
      await other.signIn(email);
      await b.post("/change-password", { currentPassword: "wrong-password", newPassword: "new-password-1" });
      await b.post("/change-password", { currentPassword: "correct-horse-battery", newPassword: "short" });
      await b.post("/change-password", { currentPassword: "correct-horse-battery" });
      await b.post("/change-password", { currentPassword: "correct-horse-battery", newPassword: "new-password-1" });
      await b.post("/change-password", { currentPassword: "new-password-1", newPassword: "new-password-2", revokeOtherSessions: true });
      await other.get("/get-session");
      await b.get("/get-session");
      await ctx.browser("anon").post("/change-password", { currentPassword: "a", newPassword: "b" });
    },
  },
  {
    name: "verify-password",
    run: async (ctx) => {
      const { b } = await signedUp(ctx);
      await b.post("/verify-password", { password: "correct-horse-battery" });
      await b.post("/verify-password", { password: "wrong-password" });
      await b.post("/verify-password", { password: "x".repeat(200) });
      await b.post("/verify-password", {});
      await b.post("/verify-password", { password: 1 });
      await ctx.browser("anon").post("/verify-password", { password: "correct-horse-battery" });
    },
  },
  {
    name: "list-accounts, unlink-account, account-info",
    run: async (ctx) => {
      const { b } = await signedUp(ctx);
      const { json: accounts } = await b.get("/list-accounts");
      const id = accounts?.[0]?.id;
      await b.post("/unlink-account", { accountId: id });
      await b.post("/unlink-account", {});
      await b.get("/account-info", { query: { accountId: id } });
      await b.get("/account-info", { query: { accountId: "not-mine" } });
      await b.get("/account-info");
      await b.get("/account-info", { query: { accountId: id, foo: "1" } });
      await b.get("/account-info", { query: { useAccountCookie: "true" } });
      const anon = ctx.browser("anon");
      await anon.get("/list-accounts");
      await anon.get("/account-info", { query: { accountId: id } });
      await anon.get("/account-info");
    },
  },
  {
    name: "change-email (unverified user: changed at once)",
    run: async (ctx) => {
      const { b, email } = await signedUp(ctx);
      await b.post("/change-email", { newEmail: email });
      await b.post("/change-email", { newEmail: "not-an-email" });
      await b.post("/change-email", { newEmail: ctx.email("new") });
      await b.get("/get-session");
      const { email: taken } = await signedUp(ctx, "taken");
      await b.post("/change-email", { newEmail: taken });
      await ctx.browser("anon").post("/change-email", { newEmail: ctx.email("z") });
    },
  },
  {
    name: "change-email (verified user: confirmed by mail)",
    run: async (ctx) => {
      const { b, email } = await signedUp(ctx);
      await b.post("/send-verification-email", { email });
      const { token } = await ctx.mail("verify-email", email);
      await b.get("/verify-email", { query: { token } });
      const newEmail = ctx.email("next");
      await b.post("/change-email", { newEmail, callbackURL: "/done" });
      const mail = await ctx.mail("change-email-verification", email);
      await b.get("/verify-email", { query: { token: mail.token, callbackURL: "/done" } });
      await b.get("/get-session");
    },
  },
  {
    name: "delete-user: password, mailed link, callback",
    run: async (ctx) => {
      const { b, email } = await signedUp(ctx);
      await b.post("/delete-user", { password: "wrong-password" });
      await b.post("/delete-user", { callbackURL: "/bye" });
      const { token } = await ctx.mail("delete-account", email);
      await b.get("/delete-user/callback", { query: { token: "not-a-token" } });
      await b.get("/delete-user/callback", { query: { token, callbackURL: "/bye" } });
      await b.get("/get-session");
      await b.signIn(email);
      const { b: c } = await signedUp(ctx, "pwd");
      await c.post("/delete-user", { password: "correct-horse-battery" });
      await c.get("/get-session");
      await ctx.browser("anon").post("/delete-user", {});
    },
  },

  // ---- mail flows --------------------------------------------------------------------------
  {
    name: "request-password-reset and reset-password",
    run: async (ctx) => {
      const { email } = await signedUp(ctx);
      const b = ctx.browser("forgot");
      await b.post("/request-password-reset", { email, redirectTo: "/reset" });
      await b.post("/request-password-reset", { email: ctx.email("nobody") });
      await b.post("/request-password-reset", { email: "bad" });
      const { token } = await ctx.mail("reset-password", email);
      await b.get(`/reset-password/${token}`, { query: { callbackURL: "/reset" } });
      await b.get("/reset-password/not-a-token", { query: { callbackURL: "/reset" } });
      await b.get("/reset-password/not-a-token");
      await b.post("/reset-password", { newPassword: "short", token });
      await b.post("/reset-password", { newPassword: "brand-new-password", token: "not-a-token" });
      await b.post("/reset-password", { newPassword: "brand-new-password", token });
      await b.post("/reset-password", { newPassword: "brand-new-password", token });
      await b.signIn(email, { password: "brand-new-password" });
    },
  },
  {
    name: "send-verification-email and verify-email",
    run: async (ctx) => {
      const { b, email } = await signedUp(ctx);
      const anon = ctx.browser("anon");
      await anon.post("/send-verification-email", { email, callbackURL: "/verified" });
      await anon.post("/send-verification-email", { email: ctx.email("nobody") });
      await anon.post("/send-verification-email", {});
      const { token } = await ctx.mail("verify-email", email);
      await anon.get("/verify-email", { query: { token: "not-a-token" } });
      await anon.get("/verify-email", { query: { token: "not-a-token", callbackURL: "/verified" } });
      await anon.get("/verify-email", { query: { token, callbackURL: "/verified" } });
      await b.get("/get-session", { query: { disableCookieCache: "true" } });
      await b.post("/send-verification-email", { email });
      await anon.get("/verify-email", {});
    },
  },

  // ---- routes answered differently on purpose (runner.mjs ALLOWED_STEPS) -------------------
  {
    name: "forget-password alias",
    run: async (ctx) => {
      const { b, email } = await signedUp(ctx);
      await b.post("/forget-password", { email }, { label: "forget-password alias" });
    },
  },
  {
    name: "social sign-in routes without a configured provider",
    run: async (ctx) => {
      const { b } = await signedUp(ctx);
      await b.post("/sign-in/social", { provider: "github" });
      await b.get("/callback/github", { query: { state: "x", code: "y" } });
      await b.get("/callback/github", { query: { code: "y" } });
      await b.post("/callback/github", {});
      await b.post("/link-social", { provider: "github" });
      await b.post("/get-access-token", { accountId: "not-mine" });
      await b.post("/refresh-token", { accountId: "not-mine" });
    },
  },
  // ---- cross-origin ------------------------------------------------------------------------
  {
    name: "cross-origin requests from a trusted and an untrusted origin",
    run: async (ctx) => {
      const { b } = await signedUp(ctx);
      await b.get("/get-session", { origin: "http://localhost:3000" });
      await b.post("/update-user", { name: "x" }, { origin: "https://evil.example" });
      await b.post("/sign-out", {}, { origin: null });
    },
  },
];
