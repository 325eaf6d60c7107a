#!/usr/bin/env node
// The load generator of the `passkey-authenticate` scenario (bench/bench.mjs): wrk cannot sign
// a server's challenge, so this drives it. `connections` loops over keep-alive connections,
// each iteration a passkey sign-in as a browser makes it:
//
//   GET  /passkey/generate-authenticate-options   → challenge, signed challenge cookie
//   POST /passkey/verify-authentication {response} with that cookie → {session, user}
//
// the assertion signed by bench/authenticator.mjs with the credential registered in set-up.
// Every request's latency is recorded (closed loop, no coordinated-omission correction); at the
// end one line `BENCH_RESULT {json}` as bench/request.lua writes it, plus `failed` (iterations
// whose verification did not sign in), `iterations` and the driver's own CPU time.
//
//   node bench/passkey-driver.mjs CONFIG.json
//   CONFIG: {base, path (base path), origin, rpId, credentials: [{id, pem}], connections, duration_s}

import { readFileSync } from "node:fs";
import http from "node:http";
import { signer } from "./authenticator.mjs";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const url = new URL(config.base);
const agent = new http.Agent({ keepAlive: true, maxSockets: config.connections });
const signers = config.credentials.map((c) => signer(c, config));

const errors = { connect: 0, read: 0, write: 0, status: 0, timeout: 0 };
const latencies = [];
let requests = 0;
let failed = 0;
let iterations = 0;
let bytes = 0;

function send(method, path, headers, body) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const req = http.request(
      { host: url.hostname, port: url.port, method, path: config.path + path, agent, headers },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          latencies.push(Number(process.hrtime.bigint() - started) / 1000);
          requests++;
          bytes += text.length;
          if (res.statusCode > 399) errors.status++;
          resolve({ status: res.statusCode, headers: res.headers, text });
        });
        res.on("error", () => {
          errors.read++;
          resolve(null);
        });
      },
    );
    req.on("error", () => {
      errors.connect++;
      resolve(null);
    });
    req.end(body);
  });
}

async function loop(n, deadline) {
  const sign = signers[n % signers.length];
  while (performance.now() < deadline) {
    const options = await send("GET", "/passkey/generate-authenticate-options", {});
    if (performance.now() >= deadline) break;
    let challenge;
    let cookie;
    try {
      challenge = JSON.parse(options.text).challenge;
      cookie = options.headers["set-cookie"].map((c) => c.split(";")[0]).join("; ");
    } catch {
      failed++;
      continue;
    }
    const body = JSON.stringify({ response: sign(challenge) });
    const answer = await send("POST", "/passkey/verify-authentication", {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      origin: config.origin,
      cookie,
    }, body);
    iterations++;
    if (!answer || answer.status !== 200 || !answer.text.includes('"session"')) failed++;
  }
}

const cpuBefore = process.cpuUsage();
const started = performance.now();
const deadline = started + config.duration_s * 1000;
await Promise.all(Array.from({ length: config.connections }, (_, n) => loop(n, deadline)));
const duration_us = Math.round((performance.now() - started) * 1000);
const cpu = process.cpuUsage(cpuBefore);
agent.destroy();

latencies.sort((a, b) => a - b);
const pct = (p) => (latencies.length ? Math.round(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]) : 0);
const mean = latencies.length ? latencies.reduce((a, b) => a + b, 0) / latencies.length : 0;
console.log(`BENCH_RESULT ${JSON.stringify({
  requests,
  duration_us,
  bytes,
  failed,
  iterations,
  errors,
  latency_us: { mean: Math.round(mean * 10) / 10, p50: pct(50), p90: pct(90), p99: pct(99), max: Math.round(latencies.at(-1) ?? 0) },
  driver_cpu_us: cpu.user + cpu.system,
})}`);
