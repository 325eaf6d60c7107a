// GET /error where Better Auth redirects instead of answering its page
// (packages/better-auth/src/api/routes/error.ts): with `onAPIError.errorURL` set
// (`[on_api_error] error_url` here), to that URL with `error` and `error_description` appended.
// The production case (a redirect to `/?error=…`) is production-error-page-scenarios.mjs.

const ERROR_URL = "http://localhost:3000/auth/error?from=api";

export const servers = { env: { ERROR_URL }, toml: `[on_api_error]\nerror_url = "${ERROR_URL}"\n` };

export const scenarios = [
  {
    name: "GET /error with an error URL configured",
    run: async (ctx) => {
      const b = ctx.browser();
      const first = await b.get("/error");
      if (first.status !== 302) throw new Error(`expected a redirect, got ${first.status}`);
      await b.get("/error", { query: { error: "INVALID_TOKEN" } });
      await b.get("/error", { query: { error: "<script>", error_description: "a b&c=d é" } });
    },
  },
];
