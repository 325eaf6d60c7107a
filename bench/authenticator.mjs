// A software WebAuthn authenticator for the bench's passkey scenario: an ES256 (P-256) key from
// node:crypto, the registration's attestation object (fmt "none", the COSE key in the attested
// credential data) and assertions (authenticatorData: rpIdHash, flags UP|UV, a counter of 0,
// which the WebAuthn rules accept again and again while the stored counter is 0 too), written
// with a minimal CBOR encoder. Used by bench/bench.mjs (registration, set-up) and
// bench/passkey-driver.mjs (assertions, the measured loop).

import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign } from "node:crypto";

export const b64url = (buf) => Buffer.from(buf).toString("base64url");
const sha256 = (data) => createHash("sha256").update(data).digest();

/** CBOR (RFC 8949) for what WebAuthn needs: unsigned and negative integers, byte and text
 *  strings, maps (insertion order; the callers give canonical order). */
export function cbor(value) {
  const head = (major, n) => {
    if (n < 24) return Buffer.from([(major << 5) | n]);
    if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
    if (n < 0x10000) return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]);
    const b = Buffer.alloc(5);
    b[0] = (major << 5) | 26;
    b.writeUInt32BE(n, 1);
    return b;
  };
  if (typeof value === "number") return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === "string") {
    const s = Buffer.from(value, "utf8");
    return Buffer.concat([head(3, s.length), s]);
  }
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.concat([head(2, value.length), Buffer.from(value)]);
  if (value instanceof Map) {
    const parts = [head(5, value.size)];
    for (const [k, v] of value) parts.push(cbor(k), cbor(v));
    return Buffer.concat(parts);
  }
  throw new Error(`cbor: unsupported value ${value}`);
}

/** A new credential: its id and key; `pem` and `id` are what the driver needs to sign. */
export function newCredential() {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { id: b64url(randomBytes(16)), pem: privateKey.export({ type: "pkcs8", format: "pem" }) };
}

function coseKey(credential) {
  const jwk = createPrivateKey(credential.pem).export({ format: "jwk" });
  // kty EC2 (2), alg ES256 (-7), crv P-256 (1), x, y.
  return cbor(new Map([[1, 2], [3, -7], [-1, 1], [-2, Buffer.from(jwk.x, "base64url")], [-3, Buffer.from(jwk.y, "base64url")]]));
}

const clientData = (type, challenge, origin) =>
  Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));

/** The browser's registration JSON (`response` of /passkey/verify-registration). */
export function registration(credential, { challenge, rpId, origin }) {
  const idBytes = Buffer.from(credential.id, "base64url");
  const counter = Buffer.alloc(4);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(idBytes.length);
  // Flags: UP (0x01), UV (0x04), AT (0x40, attested credential data follows).
  const authData = Buffer.concat([sha256(rpId), Buffer.from([0x45]), counter, Buffer.alloc(16), length, idBytes, coseKey(credential)]);
  const attestationObject = cbor(new Map([["fmt", "none"], ["attStmt", new Map()], ["authData", authData]]));
  return {
    id: credential.id,
    rawId: credential.id,
    type: "public-key",
    response: {
      clientDataJSON: b64url(clientData("webauthn.create", challenge, origin)),
      attestationObject: b64url(attestationObject),
      transports: ["internal"],
    },
    clientExtensionResults: {},
    authenticatorAttachment: "platform",
  };
}

/** An authenticator that signs assertions for one credential. */
export function signer(credential, { rpId, origin }) {
  const key = createPrivateKey(credential.pem);
  // Flags UP | UV, counter 0: the same authenticatorData for every assertion.
  const authenticatorData = Buffer.concat([sha256(rpId), Buffer.from([0x05]), Buffer.alloc(4)]);
  const authData64 = b64url(authenticatorData);
  /** The browser's authentication JSON (`response` of /passkey/verify-authentication). */
  return (challenge) => {
    const cd = clientData("webauthn.get", challenge, origin);
    const signature = sign("sha256", Buffer.concat([authenticatorData, sha256(cd)]), key);
    return {
      id: credential.id,
      rawId: credential.id,
      type: "public-key",
      response: { clientDataJSON: b64url(cd), authenticatorData: authData64, signature: b64url(signature) },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  };
}
