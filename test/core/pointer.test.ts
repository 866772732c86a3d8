/** Keys and signed channel pointers, docs/FORMAT.md §6. */
import assert from "node:assert/strict";
import { createHash, generateKeyPairSync } from "node:crypto";
import { describe, it } from "node:test";
import { canonicalBytes } from "../../src/core/canonical-json.js";
import { expectCodeAsync } from "../helpers/helpers.js";
import { type PublicKey, signBytes, verifyBytes } from "../../src/core/keys.js";
import { generateKeyPair, parsePrivateKey, parsePublicKey } from "../../src/node/node-keys.js";
import {
  checkFreshness,
  parsePointer,
  type PointerBody,
  signPointer,
  verifyPointer,
} from "../../src/core/pointer.js";
import type { RootBody } from "../../src/core/root.js";
import { nodeCrypto } from "../../src/node/node-crypto.js";

const URL = "https://cdn.example/game/channels/stable.json";

const pairA = generateKeyPair();
const pairB = generateKeyPair();
const publicA = parsePublicKey(pairA.publicText, "a.pub");
const privateA = parsePrivateKey(pairA.privatePem, "a.key");
const publicB = parsePublicKey(pairB.publicText, "b.pub");
const privateB = parsePrivateKey(pairB.privatePem, "b.key");

const BODY: PointerBody = {
  channel: "stable",
  version: "1.2.0",
  serial: 7,
  root: 1,
  published: "2026-11-21T22:00:00Z",
  expires: "2026-12-21T22:00:00Z",
  manifest: { hash: "ab".repeat(32), size: 5120, codec: "br", rawSize: 40960 },
};

type Doc = { signed: Record<string, unknown>; signatures: { keyid: string; sig: string }[] } & Record<
  string,
  unknown
>;

/** A root whose release role is exactly `keys`, threshold 1 (roles themselves: test/core/trust-roles.test.ts). */
async function verifyWith(bytes: Uint8Array, keys: readonly PublicKey[]) {
  const root: RootBody = {
    version: 1,
    expires: "2099-01-01T00:00:00Z",
    keys: new Map(keys.map((k) => [k.keyid, k])),
    roles: {
      root: { keyids: keys.map((k) => k.keyid), threshold: 1 },
      release: { keyids: keys.map((k) => k.keyid), threshold: 1 },
    },
  };
  return await verifyPointer(parsePointer(bytes, URL), root, nodeCrypto);
}

function parseDoc(bytes: Uint8Array): Doc {
  return JSON.parse(new TextDecoder().decode(bytes)) as Doc;
}

function encode(value: unknown, space?: number): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value, null, space));
}

describe("keys", async () => {
  it("generateKeyPair writes a one-line ferry-ed25519 public key and a PKCS#8 PEM", async () => {
    assert.match(pairA.publicText, /^ferry-ed25519:[A-Za-z0-9+/]{43}=\n$/);
    assert.match(pairA.privatePem, /^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
    assert.notEqual(pairA.publicText, pairB.publicText);
  });

  it("the key id is the SHA-256 of the 32 raw public key bytes, same for both halves", async () => {
    const raw = Buffer.from(pairA.publicText.trim().slice("ferry-ed25519:".length), "base64");
    assert.equal(raw.length, 32);
    assert.deepEqual(Buffer.from(publicA.raw), raw);
    assert.equal(publicA.keyid, createHash("sha256").update(raw).digest("hex"));
    assert.equal(privateA.keyid, publicA.keyid);
    assert.notEqual(publicA.keyid, publicB.keyid);
  });

  it("parsePublicKey tolerates surrounding whitespace", async () => {
    assert.equal(parsePublicKey(`  ${pairA.publicText.trim()}  \r\n`, "x").keyid, publicA.keyid);
  });

  it("signBytes/verifyBytes: Ed25519 round trip, 64-byte signature", async () => {
    const data = new TextEncoder().encode("hello");
    const sig = signBytes(privateA, data);
    assert.equal(Buffer.from(sig, "base64").length, 64);
    assert.equal(await verifyBytes(nodeCrypto, publicA, data, sig), true);
    assert.equal(await verifyBytes(nodeCrypto, publicB, data, sig), false);
    assert.equal(await verifyBytes(nodeCrypto, publicA, new TextEncoder().encode("hellO"), sig), false);
    assert.equal(await verifyBytes(nodeCrypto, publicA, data, ""), false);
    assert.equal(await verifyBytes(nodeCrypto, publicA, data, Buffer.alloc(63).toString("base64")), false);
  });

  it("parsePublicKey rejects garbage with E_KEY", async () => {
    const raw32 = Buffer.alloc(32, 7).toString("base64");
    for (const text of [
      "",
      "garbage",
      "ferry-ed25519:",
      "ferry-ed25519:AAAA",
      `ferry-ed25519:${Buffer.alloc(31, 7).toString("base64")}`,
      `ferry-ed25519:${Buffer.alloc(33, 7).toString("base64")}`,
      `ferry-rsa:${raw32}`,
      raw32,
      pairA.privatePem,
    ]) {
      await expectCodeAsync(async () => parsePublicKey(text, "test.pub"), "E_KEY");
    }
  });

  it("parsePrivateKey rejects garbage and non-Ed25519 keys with E_KEY", async () => {
    await expectCodeAsync(async () => parsePrivateKey("not a key", "test.key"), "E_KEY");
    await expectCodeAsync(async () => parsePrivateKey(pairA.publicText, "test.key"), "E_KEY");
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 });
    await expectCodeAsync(
      async () =>
        parsePrivateKey(rsa.privateKey.export({ format: "pem", type: "pkcs8" }).toString(), "rsa.key"),
      "E_KEY",
    );
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    await expectCodeAsync(
      async () =>
        parsePrivateKey(ec.privateKey.export({ format: "pem", type: "pkcs8" }).toString(), "ec.key"),
      "E_KEY",
    );
  });
});

describe("pointer: sign and verify", async () => {
  it("signPointer -> verifyPointer round trip", async () => {
    const bytes = signPointer(BODY, [privateA]);
    assert.ok(bytes.length < 64 * 1024);
    const verified = await verifyWith(bytes, [publicA]);
    assert.deepEqual(verified.body, BODY);
    const doc = parseDoc(bytes);
    assert.deepEqual(verified.document, doc);
    assert.deepEqual(doc.signed, { format: 1, type: "ferry-channel", ...BODY });
    assert.equal(doc.signatures.length, 1);
    assert.equal(doc.signatures[0]!.keyid, publicA.keyid);
  });

  it("the signature covers the canonical JSON bytes of `signed`", async () => {
    const doc = parseDoc(signPointer(BODY, [privateA]));
    assert.equal(
      await verifyBytes(nodeCrypto, publicA, canonicalBytes(doc.signed), doc.signatures[0]!.sig),
      true,
    );
  });

  it("verifies when one of several trusted keys signed it", async () => {
    const bytes = signPointer(BODY, [privateB]);
    assert.deepEqual((await verifyWith(bytes, [publicA, publicB])).body, BODY);
  });

  it("wrong key -> E_SIGNATURE", async () => {
    const bytes = signPointer(BODY, [privateB]);
    const err = await expectCodeAsync(async () => verifyWith(bytes, [publicA]), "E_SIGNATURE");
    assert.ok(err.message.includes(URL));
    await expectCodeAsync(async () => verifyWith(bytes, []), "E_SIGNATURE");
  });

  it("a signature by another key under the trusted key id -> E_SIGNATURE", async () => {
    const doc = parseDoc(signPointer(BODY, [privateB]));
    doc.signatures[0]!.keyid = publicA.keyid;
    await expectCodeAsync(async () => verifyWith(encode(doc), [publicA]), "E_SIGNATURE");
  });

  const tampers: [string, (signed: Record<string, unknown>) => void][] = [
    ["serial", (s) => (s.serial = 8)],
    ["manifest hash", (s) => ((s.manifest as Record<string, unknown>).hash = "cd".repeat(32))],
    ["manifest size", (s) => ((s.manifest as Record<string, unknown>).size = 5121)],
    ["expires", (s) => (s.expires = "2099-12-21T22:00:00Z")],
    ["channel", (s) => (s.channel = "beta")],
    ["added field", (s) => (s.extra = true)],
    ["removed field", (s) => delete s.published],
  ];
  for (const [what, change] of tampers) {
    it(`tampering with signed.${what} -> E_SIGNATURE`, async () => {
      const doc = parseDoc(signPointer(BODY, [privateA]));
      change(doc.signed);
      await expectCodeAsync(async () => verifyWith(encode(doc, 2), [publicA]), "E_SIGNATURE");
    });
  }

  it("a single flipped byte inside `signed` -> E_SIGNATURE (or E_FORMAT when it breaks the JSON)", async () => {
    const bytes = signPointer(BODY, [privateA]);
    const text = new TextDecoder().decode(bytes);
    const at = text.indexOf('"serial": 7');
    assert.ok(at > 0);
    const tampered = Buffer.from(bytes);
    tampered[at + '"serial": '.length] = "9".charCodeAt(0);
    await expectCodeAsync(async () => verifyWith(tampered, [publicA]), "E_SIGNATURE");
  });

  it("a signature of the wrong length -> E_SIGNATURE", async () => {
    for (const length of [0, 32, 63, 65, 128]) {
      const doc = parseDoc(signPointer(BODY, [privateA]));
      const sig = Buffer.from(doc.signatures[0]!.sig, "base64");
      const wrong = Buffer.alloc(length);
      sig.copy(wrong, 0, 0, Math.min(length, sig.length));
      doc.signatures[0]!.sig = wrong.toString("base64");
      await expectCodeAsync(async () => verifyWith(encode(doc), [publicA]), "E_SIGNATURE");
    }
  });

  it("a signature with one flipped bit -> E_SIGNATURE", async () => {
    const doc = parseDoc(signPointer(BODY, [privateA]));
    const sig = Buffer.from(doc.signatures[0]!.sig, "base64");
    sig[10] = sig[10]! ^ 1;
    doc.signatures[0]!.sig = sig.toString("base64");
    await expectCodeAsync(async () => verifyWith(encode(doc), [publicA]), "E_SIGNATURE");
  });

  it("reordered keys and different whitespace still verify (signature is over canonical JSON)", async () => {
    const doc = parseDoc(signPointer(BODY, [privateA]));
    const reverse = (o: Record<string, unknown>): Record<string, unknown> =>
      Object.fromEntries(
        Object.entries(o)
          .reverse()
          .map(([k, v]) => [
            k,
            v !== null && typeof v === "object" && !Array.isArray(v)
              ? reverse(v as Record<string, unknown>)
              : v,
          ]),
      );
    const reordered = { signatures: doc.signatures, signed: reverse(doc.signed) };
    for (const bytes of [
      encode(reordered),
      encode(reordered, 4),
      encode(doc),
      new TextEncoder().encode(`\n\t ${JSON.stringify(doc, null, "\t")} \n`),
    ]) {
      assert.deepEqual((await verifyWith(bytes, [publicA])).body, BODY);
    }
  });

  it("unsigned additions outside `signed` and an extra untrusted signature do not matter", async () => {
    const doc = parseDoc(signPointer(BODY, [privateA]));
    const other = parseDoc(signPointer(BODY, [privateB]));
    doc.comment = "mirror note";
    doc.signatures.unshift(other.signatures[0]!);
    assert.deepEqual((await verifyWith(encode(doc), [publicA])).body, BODY);
  });

  it("malformed documents -> E_FORMAT", async () => {
    await expectCodeAsync(
      async () => verifyWith(new TextEncoder().encode("not json"), [publicA]),
      "E_FORMAT",
    );
    await expectCodeAsync(
      async () => verifyWith(new Uint8Array([0xff, 0xfe, 0x7b, 0x7d]), [publicA]),
      "E_FORMAT",
    );
    await expectCodeAsync(async () => verifyWith(encode({ signatures: [] }), [publicA]), "E_FORMAT");
    await expectCodeAsync(
      async () => verifyWith(encode({ signed: {}, signatures: "x" }), [publicA]),
      "E_FORMAT",
    );
  });

  it("a validly signed pointer with format 2 -> E_UNSUPPORTED_FORMAT; bad fields -> E_FORMAT", async () => {
    const signCustom = (signed: Record<string, unknown>): Uint8Array =>
      encode({
        signed,
        signatures: [{ keyid: privateA.keyid, sig: signBytes(privateA, canonicalBytes(signed)) }],
      });
    const base = { format: 1, type: "ferry-channel", ...BODY };
    assert.deepEqual((await verifyWith(signCustom(base), [publicA])).body, BODY);
    await expectCodeAsync(
      async () => verifyWith(signCustom({ ...base, format: 2 }), [publicA]),
      "E_UNSUPPORTED_FORMAT",
    );
    await expectCodeAsync(
      async () => verifyWith(signCustom({ ...base, requires: ["tuf"] }), [publicA]),
      "E_UNSUPPORTED_FORMAT",
    );
    await expectCodeAsync(
      async () => verifyWith(signCustom({ ...base, type: "ferry-release" }), [publicA]),
      "E_FORMAT",
    );
    await expectCodeAsync(
      async () => verifyWith(signCustom({ ...base, channel: "Stable" }), [publicA]),
      "E_FORMAT",
    );
    await expectCodeAsync(async () => verifyWith(signCustom({ ...base, serial: 0 }), [publicA]), "E_FORMAT");
    await expectCodeAsync(
      async () => verifyWith(signCustom({ ...base, expires: "tomorrow" }), [publicA]),
      "E_FORMAT",
    );
    await expectCodeAsync(
      async () =>
        verifyWith(signCustom({ ...base, manifest: { ...BODY.manifest, codec: "raw" } }), [publicA]),
      "E_FORMAT",
    );
    // Unknown fields inside `signed` are covered by the signature and otherwise ignored.
    assert.deepEqual((await verifyWith(signCustom({ ...base, mirrors: ["x"] }), [publicA])).body, BODY);
  });
});

describe("pointer: checkFreshness", async () => {
  const expires = new Date(BODY.expires);
  const before = new Date(expires.getTime() - 1000);
  const installed = { serial: 7, manifestHash: BODY.manifest.hash, version: BODY.version };

  it("accepts a pointer that expires after now, with no installed state", async () => {
    checkFreshness(BODY, before, undefined, URL);
    checkFreshness(BODY, new Date(expires.getTime() - 1), undefined, URL);
  });

  it("expires == now -> E_EXPIRED, message mentions the clock", async () => {
    const err = await expectCodeAsync(async () => checkFreshness(BODY, expires, undefined, URL), "E_EXPIRED");
    assert.match(err.message, /clock/);
    assert.ok(err.message.includes(BODY.expires));
  });

  it("expired before now -> E_EXPIRED, message mentions the clock", async () => {
    const err = await expectCodeAsync(
      async () => checkFreshness(BODY, new Date("2027-06-01T00:00:00Z"), installed, URL),
      "E_EXPIRED",
    );
    assert.match(err.message, /clock/);
  });

  it("lower serial -> E_ROLLBACK", async () => {
    await expectCodeAsync(
      async () =>
        checkFreshness(BODY, before, { serial: 8, manifestHash: BODY.manifest.hash, version: "1.0" }, URL),
      "E_ROLLBACK",
    );
    await expectCodeAsync(
      async () =>
        checkFreshness(BODY, before, { serial: 100, manifestHash: "cd".repeat(32), version: "1.0" }, URL),
      "E_ROLLBACK",
    );
  });

  it("same serial naming another manifest -> E_ROLLBACK", async () => {
    await expectCodeAsync(
      async () =>
        checkFreshness(BODY, before, { serial: 7, manifestHash: "cd".repeat(32), version: "1.0" }, URL),
      "E_ROLLBACK",
    );
  });

  it("same serial, same manifest -> ok", async () => {
    checkFreshness(BODY, before, installed, URL);
  });

  it("lower release version with a higher serial -> E_ROLLBACK naming both versions", async () => {
    const err = await expectCodeAsync(
      async () =>
        checkFreshness(BODY, before, { serial: 6, manifestHash: "cd".repeat(32), version: "1.10.0" }, URL),
      "E_ROLLBACK",
    );
    assert.match(err.message, /1\.2\.0, older than the installed 1\.10\.0/);
  });

  it("a pre-release after its release -> E_ROLLBACK", async () => {
    await expectCodeAsync(
      async () =>
        checkFreshness(
          { ...BODY, version: "1.2.0-rc.1" },
          before,
          { ...installed, serial: 1, version: "1.2.0" },
          URL,
        ),
      "E_ROLLBACK",
    );
  });

  it("allowDowngrade (the caller's decision) accepts lower serials and versions, never an expired pointer", async () => {
    checkFreshness(BODY, before, { serial: 8, manifestHash: "cd".repeat(32), version: "9.0" }, URL, true);
    await expectCodeAsync(async () => checkFreshness(BODY, expires, installed, URL, true), "E_EXPIRED");
  });

  it("higher serial -> ok (with the same or another manifest)", async () => {
    checkFreshness(BODY, before, { serial: 6, manifestHash: BODY.manifest.hash, version: "1.0" }, URL);
    checkFreshness(BODY, before, { serial: 1, manifestHash: "cd".repeat(32), version: "1.0" }, URL);
  });
});
