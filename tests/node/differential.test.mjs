// The differential harness (docs/testing.md, "Differential harness"): every scenario of
// tests/node/differential/*-scenarios.mjs runs against the real Better Auth (the reference server)
// and against this service, each on its own fresh database, and the two transcripts must be equal
// once volatile values are normalised: status and reason phrase, the headers clients read
// (Content-Type, Set-Cookie names and attributes, Location, CORS), and the body. Differences
// that are deliberate are listed, with their reason, in ALLOWED_DIFFERENCES (runner.mjs).
//
//   BETTER_AUTH_BIN=../../target/debug/better-auth-rs node --test differential.test.mjs

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { here, startServer, stopAllServers } from "./harness.mjs";
import { compareTranscripts, createContext } from "./differential/runner.mjs";

// The service's side uses the cheapest argon2 parameters (a debug build hashes slowly); hashing
// costs are no part of what is compared.
const configDir = mkdtempSync(join(tmpdir(), "ba-differential-"));
// A module's `servers.toml` is appended to the service's configuration (its `servers.config`,
// else e2e.toml).
function serviceConfig(config, extra = "") {
  const out = join(configDir, `${readdirSync(configDir).length}.toml`);
  writeFileSync(out, `danger_password_hashing = "danger_test_minimum"\n${readFileSync(config, "utf8")}\n${extra}`);
  return out;
}

after(async () => {
  await stopAllServers();
  rmSync(configDir, { recursive: true, force: true });
});

const dir = join(here, "differential");
const modules = [];
for (const file of readdirSync(dir).filter((f) => f.endsWith("-scenarios.mjs")).sort()) {
  modules.push({ file, ...(await import(join(dir, file))) });
}

async function runOn(server, scenario) {
  const ctx = createContext(server);
  try {
    await scenario.run(ctx);
  } catch (err) {
    err.message = `on the ${server.target} server: ${err.message}`;
    throw err;
  }
  return ctx.transcript;
}

// Every module's pair of servers starts at once, and scenarios, independent of each other (each
// run has its own addresses), run side by side across modules.
describe("differential", { concurrency: 6 }, () => {
  const pairs = new Map();
  before(async () => {
    await Promise.all(
      modules.map(async (mod) => {
        const env = mod.servers?.env ?? {};
        const config = serviceConfig(mod.servers?.config ?? join(here, "e2e.toml"), mod.servers?.toml);
        const [reference, rust] = await Promise.all([
          startServer({ target: "reference", env }),
          startServer({ target: "rust", env, config }),
        ]);
        pairs.set(mod.file, { reference, rust });
      }),
    );
  });
  after(async () => {
    await Promise.all([...pairs.values()].flatMap(({ reference, rust }) => [reference.stop(), rust.stop()]));
  });

  for (const mod of modules) {
    for (const scenario of mod.scenarios) {
      test(`${mod.file.replace(/-scenarios\.mjs$/, "")}: ${scenario.name}`, async () => {
        const { reference, rust } = pairs.get(mod.file);
        const [ref, ours] = await Promise.all([runOn(reference, scenario), runOn(rust, scenario)]);
        assert.ok(ref.length > 0, "the scenario made no request");
        const differences = compareTranscripts(ref, ours);
        assert.equal(differences.length, 0, `differences:\n${JSON.stringify(differences, null, 1)}`);
      });
    }
  }
});
