// The JWT plugin's tokens checked by an independent verifier, `jose`'s
// createRemoteJWKSet over GET /jwks, for every key pair algorithm:
//
//   BETTER_AUTH_BIN=../../target/debug/better-auth-rs node --test e2e-jwt.test.mjs
//   E2E_TARGET=reference node --test e2e-jwt.test.mjs   # the real Better Auth
//
// The real Better Auth supports all five algorithms, so every assertion runs
// against both servers. A token from /token and one from the set-auth-jwt header
// must verify (issuer and audience = the base origin); a flipped signature bit,
// `alg: none`, an HS256 token keyed with the public key, and an expired token
// must not.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { SignJWT, createRemoteJWKSet, decodeProtectedHeader, exportSPKI, importJWK, jwtVerify } from "jose";
import { PASSWORD, here, newBrowser, startServer, stopAllServers, uniqueEmail } from "./harness.mjs";

const TARGET = process.env.E2E_TARGET === "reference" ? "reference" : "rust";
const ALGORITHMS = ["EdDSA", "ES256", "ES512", "RS256", "PS256"];

const configDir = mkdtempSync(join(tmpdir(), "ba-e2e-jwt-"));
after(async () => {
  await stopAllServers();
  rmSync(configDir, { recursive: true, force: true });
});

/** The server under test with the jwt plugin signing with `alg`. */
function startWithAlg(alg) {
  if (TARGET === "reference") return startServer({ target: TARGET, env: { JWT_ALG: alg } });
  const base = readFileSync(join(here, "e2e.toml"), "utf8");
  const toml = base.replace("[plugins.jwt]\nenabled = true", `[plugins.jwt]\nenabled = true\nalg = "${alg}"`);
  assert.notEqual(toml, base, "e2e.toml has the [plugins.jwt] section");
  const config = join(configDir, `${alg}.toml`);
  writeFileSync(config, toml);
  return startServer({ target: TARGET, config });
}

const b64url = (bytes) => Buffer.from(bytes).toString("base64url");

function withFlippedSignatureBit(token) {
  const [h, p, s] = token.split(".");
  const sig = Buffer.from(s, "base64url");
  sig[0] ^= 0x01;
  return `${h}.${p}.${b64url(sig)}`;
}

function unsigned(token) {
  const [h, p] = token.split(".");
  const header = JSON.parse(Buffer.from(h, "base64url").toString("utf8"));
  return `${b64url(JSON.stringify({ ...header, alg: "none" }))}.${p}.`;
}

for (const alg of ALGORITHMS) {
  describe(`${alg} tokens (${TARGET})`, () => {
    test("verify with jose's remote JWKS and forgeries are rejected", async () => {
      const server = await startWithAlg(alg);
      try {
        const { client, responses } = newBrowser(server.base);
        const email = uniqueEmail(`jwt-${alg.toLowerCase()}`);
        const { data: signUp, error } = await client.signUp.email({ email, password: PASSWORD, name: "Ada" });
        assert.equal(error, null);

        const { data, error: tokenError } = await client.token();
        assert.equal(tokenError, null);
        await client.getSession();
        const headerJwt = responses.at(-1).headers.get("set-auth-jwt");
        assert.ok(headerJwt, "set-auth-jwt header on get-session");

        const jwks = createRemoteJWKSet(new URL(`${server.base}/api/auth/jwks`));
        const expected = { issuer: server.base, audience: server.base };
        for (const token of [data.token, headerJwt]) {
          const { payload, protectedHeader } = await jwtVerify(token, jwks, expected);
          assert.equal(protectedHeader.alg, alg);
          assert.equal(payload.sub, signUp.user.id);
          assert.equal(payload.email, email);
        }

        const token = data.token;
        const { payload } = await jwtVerify(token, jwks, expected);
        const kid = decodeProtectedHeader(token).kid;
        const { keys } = await (await fetch(`${server.base}/api/auth/jwks`)).json();
        const jwk = keys.find((k) => k.kid === kid);
        assert.ok(jwk, "the token's kid is published");
        assert.equal(jwk.alg, alg);
        const publicPem = await exportSPKI(await importJWK(jwk, alg));
        const keyedWithPublicKey = await new SignJWT(payload)
          .setProtectedHeader({ alg: "HS256", kid })
          .sign(new TextEncoder().encode(publicPem));

        await assert.rejects(jwtVerify(withFlippedSignatureBit(token), jwks, expected), {
          code: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
        });
        // A JWKS-backed verifier takes neither `none` nor a symmetric algorithm.
        await assert.rejects(jwtVerify(unsigned(token), jwks, expected), { code: "ERR_JOSE_NOT_SUPPORTED" });
        await assert.rejects(jwtVerify(keyedWithPublicKey, jwks, expected), { code: "ERR_JOSE_NOT_SUPPORTED" });
        // The same token once its `exp` has passed (jose's clock moved, not the server's).
        await assert.rejects(
          jwtVerify(token, jwks, { ...expected, currentDate: new Date((payload.exp + 1) * 1000) }),
          { code: "ERR_JWT_EXPIRED" },
        );
      } finally {
        await server.stop();
      }
    });
  });
}
