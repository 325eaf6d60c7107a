// The session cookie cache (`session.cookieCache`, `[session.cookie_cache]` here) with the
// compact strategy: which answers set or clear `session_data`, with which attributes
// (packages/better-auth/src/cookies/index.ts). The cookie's value is signed and time-stamped, so
// it is compared as `<signed value>`; tests/node/e2e-account.test.mjs decodes it.

export const servers = {
  env: { COOKIE_CACHE: "compact" },
  toml: '[session.cookie_cache]\nenabled = true\nstrategy = "compact"\n',
};

export const scenarios = [
  {
    name: "cookie cache: sign-up, get-session, update-user, sign-out",
    run: async (ctx) => {
      const b = ctx.browser();
      const email = ctx.email("cache");
      await b.signUp(email);
      await b.get("/get-session");
      await b.post("/update-user", { name: "Grace" });
      await b.get("/get-session");
      await b.get("/get-session", { query: { disableCookieCache: "true" } });
      const other = ctx.browser("other");
      await other.signIn(email, { rememberMe: false });
      await other.get("/get-session");
      await b.post("/sign-out", {});
      await b.get("/get-session");
    },
  },
];
