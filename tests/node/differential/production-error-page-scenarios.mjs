// GET /error in production (NODE_ENV=production for Better Auth, BETTER_AUTH_ENV=production
// here): a redirect to the site root with the code (packages/better-auth/src/api/routes/error.ts).

export const servers = { env: { NODE_ENV: "production", BETTER_AUTH_ENV: "production" } };

export const scenarios = [
  {
    name: "GET /error in production",
    run: async (ctx) => {
      const b = ctx.browser();
      const first = await b.get("/error");
      if (first.status !== 302) throw new Error(`expected a redirect, got ${first.status}`);
      await b.get("/error", { query: { error: "INVALID_TOKEN" } });
      await b.get("/error", { query: { error: "it's<b>", error_description: "a b&c=d é" } });
    },
  },
];
