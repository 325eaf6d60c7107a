#!/usr/bin/env node
// The OAuth provider of the bench's social scenarios (bench/bench.mjs): a tiny HTTP server on
// 127.0.0.1 answering with fixed JSON, so that a callback costs the services what their own
// work costs plus two short local requests. Plain OAuth 2.0 (no jwks_uri, no ID token): the
// callback gets the profile from user info, on better-auth-rs and on Better Auth alike.
//
//   node bench/fake-provider.mjs      # prints `listening on <port>`
//
//   GET  /.well-known/openid-configuration  issuer, authorization, token and user info endpoints
//   GET  /authorize                         302 to redirect_uri?code=bench-code&state=<state>
//   POST /token                             {access_token, token_type, expires_in, scope}
//   GET  /userinfo                          the person the access token names
//
// A code `bench-code-<n>` is exchanged for `bench-access-token-<n>`, whose user info is person
// n (`bench-person-<n>`, person-<n>@bench.example): the bench's callbacks sign in many people,
// as a service's do. The plain `bench-code` is the person `bench-social-1`,
// social@bench.example.

import http from "node:http";

const PERSON = {
  sub: "bench-social-1",
  id: "bench-social-1",
  email: "social@bench.example",
  email_verified: true,
  name: "Bench Social",
};
const tokens = (n) =>
  JSON.stringify({
    access_token: n === "" ? "bench-access-token" : `bench-access-token-${n}`,
    token_type: "Bearer",
    expires_in: 3600,
    scope: "openid email profile",
  });
const userinfo = (n) =>
  JSON.stringify(n === "" ? PERSON : { ...PERSON, sub: `bench-person-${n}`, id: `bench-person-${n}`, email: `person-${n}@bench.example`, name: `Bench Person ${n}` });
// The number after `bench-code-` / `bench-access-token-`, "" when none.
const CODE = /bench-code-(\d{1,6})\b/;
const TOKEN = /bench-access-token-(\d{1,6})\b/;
const suffix = (text, pattern) => pattern.exec(text ?? "")?.[1] ?? "";

let discovery;
const json = (res, text) => {
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
};

const server = http.createServer((req, res) => {
  const path = req.url.split("?")[0];
  if (req.method === "POST" && path === "/token") {
    // Read the form (code, verifier, client) to its end so the connection stays usable.
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => json(res, tokens(suffix(Buffer.concat(chunks).toString("latin1"), CODE))));
    return;
  }
  if (path === "/userinfo") return json(res, userinfo(suffix(req.headers.authorization, TOKEN)));
  if (path === "/.well-known/openid-configuration") return json(res, discovery);
  if (path === "/authorize") {
    const q = new URL(req.url, "http://provider").searchParams;
    const back = new URL(q.get("redirect_uri"));
    back.searchParams.set("code", "bench-code");
    back.searchParams.set("state", q.get("state"));
    res.writeHead(302, { location: back.toString() });
    return res.end();
  }
  res.statusCode = 404;
  res.end();
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  const base = `http://127.0.0.1:${server.address().port}`;
  discovery = JSON.stringify({
    issuer: base,
    authorization_endpoint: `${base}/authorize`,
    token_endpoint: `${base}/token`,
    userinfo_endpoint: `${base}/userinfo`,
    response_types_supported: ["code"],
    scopes_supported: ["openid", "email", "profile"],
  });
  console.log(`listening on ${server.address().port}`);
});
