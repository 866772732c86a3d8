/** Keys and signed channel pointers, docs/FORMAT.md §6. */
import assert from "node:assert/strict";
import { createHash, generateKeyPairSync } from "node:crypto";
import { describe, it } from "node:test";
import { canonicalBytes } from "../src/core/canonical-json.js";
import { expectCode } from "./helpers.js";
import { type PublicKey, signBytes, verifyBytes } from "../src/core/keys.js";
import { generateKeyPair, parsePrivateKey, parsePublicKey } from "../src/node/node-keys.js";
import {
  checkFreshness,
  parsePointer,
  type PointerBody,
  signPointer,
  verifyPointer,
} from "../src/core/pointer.js";
import type { RootBody } from "../src/core/root.js";

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

/** A root whose release role is exactly `keys`, threshold 1 (roles themselves: test/trust-roles.test.ts). */
function verifyWith(bytes: Uint8Array, keys: readonly PublicKey[]) {
  const root: RootBody = {
    version: 1,
    expires: "2099-01-01T00:00:00Z",
    keys: new Map(keys.map((k) => [k.keyid, k])),
    roles: {
      root: { keyids: keys.map((k) => k.keyid), threshold: 1 },
      release: { keyids: keys.map((k) => k.keyid), threshold: 1 },
    },
  };
  return verifyPointer(parsePointer(bytes, URL), root);
}

function parseDoc(bytes: Uint8Array): Doc {
  return JSON.parse(new TextDecoder().decode(bytes)) as Doc;
}

function encode(value: unknown, space?: number): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value, null, space));
}

describe("keys", () => {
  it("generateKeyPair writes a one-line ferry-ed25519 public key and a PKCS#8 PEM", () => {
    assert.match(pairA.publicText, /^ferry-ed25519:[A-Za-z0-9+/]{43}=\n$/);
    assert.match(pairA.privatePem, /^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
    assert.notEqual(pairA.publicText, pairB.publicText);
  });

  it("the key id is the SHA-256 of the 32 raw public key bytes, same for both halves", () => {
    const raw = Buffer.from(pairA.publicText.trim().slice("ferry-ed25519:".length), "base64");
    assert.equal(raw.length, 32);
    assert.deepEqual(Buffer.from(publicA.raw), raw);
    assert.equal(publicA.keyid, createHash("sha256").update(raw).digest("hex"));
    assert.equal(privateA.keyid, publicA.keyid);
    assert.notEqual(publicA.keyid, publicB.keyid);
  });

  it("parsePublicKey tolerates surrounding whitespace", () => {
    assert.equal(parsePublicKey(`  ${pairA.publicText.trim()}  \r\n`, "x").keyid, publicA.keyid);
  });

  it("signBytes/verifyBytes: Ed25519 round trip, 64-byte signature", () => {
    const data = new TextEncoder().encode("hello");
    const sig = signBytes(privateA, data);
    assert.equal(Buffer.from(sig, "base64").length, 64);
    assert.equal(verifyBytes(publicA, data, sig), true);
    assert.equal(verifyBytes(publicB, data, sig), false);
    assert.equal(verifyBytes(publicA, new TextEncoder().encode("hellO"), sig), false);
    assert.equal(verifyBytes(publicA, data, ""), false);
    assert.equal(verifyBytes(publicA, data, Buffer.alloc(63).toString("base64")), false);
  });

  it("parsePublicKey rejects garbage with E_KEY", () => {
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
      expectCode(() => parsePublicKey(text, "test.pub"), "E_KEY");
    }
  });

  it("parsePrivateKey rejects garbage and non-Ed25519 keys with E_KEY", () => {
    expectCode(() => parsePrivateKey("not a key", "test.key"), "E_KEY");
    expectCode(() => parsePrivateKey(pairA.publicText, "test.key"), "E_KEY");
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 });
    expectCode(
      () => parsePrivateKey(rsa.privateKey.export({ format: "pem", type: "pkcs8" }).toString(), "rsa.key"),
      "E_KEY",
    );
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    expectCode(
      () => parsePrivateKey(ec.privateKey.export({ format: "pem", type: "pkcs8" }).toString(), "ec.key"),
      "E_KEY",
    );
  });
});

describe("pointer: sign and verify", () => {
  it("signPointer -> verifyPointer round trip", () => {
    const bytes = signPointer(BODY, [privateA]);
    assert.ok(bytes.length < 64 * 1024);
    const verified = verifyWith(bytes, [publicA]);
    assert.deepEqual(verified.body, BODY);
    const doc = parseDoc(bytes);
    assert.deepEqual(verified.document, doc);
    assert.deepEqual(doc.signed, { format: 1, type: "ferry-channel", ...BODY });
    assert.equal(doc.signatures.length, 1);
    assert.equal(doc.signatures[0]!.keyid, publicA.keyid);
  });

  it("the signature covers the canonical JSON bytes of `signed`", () => {
    const doc = parseDoc(signPointer(BODY, [privateA]));
    assert.equal(verifyBytes(publicA, canonicalBytes(doc.signed), doc.signatures[0]!.sig), true);
  });

  it("verifies when one of several trusted keys signed it", () => {
    const bytes = signPointer(BODY, [privateB]);
    assert.deepEqual(verifyWith(bytes, [publicA, publicB]).body, BODY);
  });

  it("wrong key -> E_SIGNATURE", () => {
    const bytes = signPointer(BODY, [privateB]);
    const err = expectCode(() => verifyWith(bytes, [publicA]), "E_SIGNATURE");
    assert.ok(err.message.includes(URL));
    expectCode(() => verifyWith(bytes, []), "E_SIGNATURE");
  });

  it("a signature by another key under the trusted key id -> E_SIGNATURE", () => {
    const doc = parseDoc(signPointer(BODY, [privateB]));
    doc.signatures[0]!.keyid = publicA.keyid;
    expectCode(() => verifyWith(encode(doc), [publicA]), "E_SIGNATURE");
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
    it(`tampering with signed.${what} -> E_SIGNATURE`, () => {
      const doc = parseDoc(signPointer(BODY, [privateA]));
      change(doc.signed);
      expectCode(() => verifyWith(encode(doc, 2), [publicA]), "E_SIGNATURE");
    });
  }

  it("a single flipped byte inside `signed` -> E_SIGNATURE (or E_FORMAT when it breaks the JSON)", () => {
    const bytes = signPointer(BODY, [privateA]);
    const text = new TextDecoder().decode(bytes);
    const at = text.indexOf('"serial": 7');
    assert.ok(at > 0);
    const tampered = Buffer.from(bytes);
    tampered[at + '"serial": '.length] = "9".charCodeAt(0);
    expectCode(() => verifyWith(tampered, [publicA]), "E_SIGNATURE");
  });

  it("a signature of the wrong length -> E_SIGNATURE", () => {
    for (const length of [0, 32, 63, 65, 128]) {
      const doc = parseDoc(signPointer(BODY, [privateA]));
      const sig = Buffer.from(doc.signatures[0]!.sig, "base64");
      const wrong = Buffer.alloc(length);
      sig.copy(wrong, 0, 0, Math.min(length, sig.length));
      doc.signatures[0]!.sig = wrong.toString("base64");
      expectCode(() => verifyWith(encode(doc), [publicA]), "E_SIGNATURE");
    }
  });

  it("a signature with one flipped bit -> E_SIGNATURE", () => {
    const doc = parseDoc(signPointer(BODY, [privateA]));
    const sig = Buffer.from(doc.signatures[0]!.sig, "base64");
    sig[10] = sig[10]! ^ 1;
    doc.signatures[0]!.sig = sig.toString("base64");
    expectCode(() => verifyWith(encode(doc), [publicA]), "E_SIGNATURE");
  });

  it("reordered keys and different whitespace still verify (signature is over canonical JSON)", () => {
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
      assert.deepEqual(verifyWith(bytes, [publicA]).body, BODY);
    }
  });

  it("unsigned additions outside `signed` and an extra untrusted signature do not matter", () => {
    const doc = parseDoc(signPointer(BODY, [privateA]));
    const other = parseDoc(signPointer(BODY, [privateB]));
    doc.comment = "mirror note";
    doc.signatures.unshift(other.signatures[0]!);
    assert.deepEqual(verifyWith(encode(doc), [publicA]).body, BODY);
  });

  it("malformed documents -> E_FORMAT", () => {
    expectCode(() => verifyWith(new TextEncoder().encode("not json"), [publicA]), "E_FORMAT");
    expectCode(() => verifyWith(new Uint8Array([0xff, 0xfe, 0x7b, 0x7d]), [publicA]), "E_FORMAT");
    expectCode(() => verifyWith(encode({ signatures: [] }), [publicA]), "E_FORMAT");
    expectCode(() => verifyWith(encode({ signed: {}, signatures: "x" }), [publicA]), "E_FORMAT");
  });

  it("a validly signed pointer with format 2 -> E_UNSUPPORTED_FORMAT; bad fields -> E_FORMAT", () => {
    const signCustom = (signed: Record<string, unknown>): Uint8Array =>
      encode({
        signed,
        signatures: [{ keyid: privateA.keyid, sig: signBytes(privateA, canonicalBytes(signed)) }],
      });
    const base = { format: 1, type: "ferry-channel", ...BODY };
    assert.deepEqual(verifyWith(signCustom(base), [publicA]).body, BODY);
    expectCode(() => verifyWith(signCustom({ ...base, format: 2 }), [publicA]), "E_UNSUPPORTED_FORMAT");
    expectCode(
      () => verifyWith(signCustom({ ...base, requires: ["tuf"] }), [publicA]),
      "E_UNSUPPORTED_FORMAT",
    );
    expectCode(() => verifyWith(signCustom({ ...base, type: "ferry-release" }), [publicA]), "E_FORMAT");
    expectCode(() => verifyWith(signCustom({ ...base, channel: "Stable" }), [publicA]), "E_FORMAT");
    expectCode(() => verifyWith(signCustom({ ...base, serial: 0 }), [publicA]), "E_FORMAT");
    expectCode(() => verifyWith(signCustom({ ...base, expires: "tomorrow" }), [publicA]), "E_FORMAT");
    expectCode(
      () => verifyWith(signCustom({ ...base, manifest: { ...BODY.manifest, codec: "raw" } }), [publicA]),
      "E_FORMAT",
    );
    // Unknown fields inside `signed` are covered by the signature and otherwise ignored.
    assert.deepEqual(verifyWith(signCustom({ ...base, mirrors: ["x"] }), [publicA]).body, BODY);
  });
});

describe("pointer: checkFreshness", () => {
  const expires = new Date(BODY.expires);
  const before = new Date(expires.getTime() - 1000);
  const installed = { serial: 7, manifestHash: BODY.manifest.hash, version: BODY.version };

  it("accepts a pointer that expires after now, with no installed state", () => {
    checkFreshness(BODY, before, undefined, URL);
    checkFreshness(BODY, new Date(expires.getTime() - 1), undefined, URL);
  });

  it("expires == now -> E_EXPIRED, message mentions the clock", () => {
    const err = expectCode(() => checkFreshness(BODY, expires, undefined, URL), "E_EXPIRED");
    assert.match(err.message, /clock/);
    assert.ok(err.message.includes(BODY.expires));
  });

  it("expired before now -> E_EXPIRED, message mentions the clock", () => {
    const err = expectCode(
      () => checkFreshness(BODY, new Date("2027-06-01T00:00:00Z"), installed, URL),
      "E_EXPIRED",
    );
    assert.match(err.message, /clock/);
  });

  it("lower serial -> E_ROLLBACK", () => {
    expectCode(
      () =>
        checkFreshness(BODY, before, { serial: 8, manifestHash: BODY.manifest.hash, version: "1.0" }, URL),
      "E_ROLLBACK",
    );
    expectCode(
      () => checkFreshness(BODY, before, { serial: 100, manifestHash: "cd".repeat(32), version: "1.0" }, URL),
      "E_ROLLBACK",
    );
  });

  it("same serial naming another manifest -> E_ROLLBACK", () => {
    expectCode(
      () => checkFreshness(BODY, before, { serial: 7, manifestHash: "cd".repeat(32), version: "1.0" }, URL),
      "E_ROLLBACK",
    );
  });

  it("same serial, same manifest -> ok", () => {
    checkFreshness(BODY, before, installed, URL);
  });

  it("lower release version with a higher serial -> E_ROLLBACK naming both versions", () => {
    const err = expectCode(
      () =>
        checkFreshness(BODY, before, { serial: 6, manifestHash: "cd".repeat(32), version: "1.10.0" }, URL),
      "E_ROLLBACK",
    );
    assert.match(err.message, /1\.2\.0, older than the installed 1\.10\.0/);
  });

  it("a pre-release after its release -> E_ROLLBACK", () => {
    expectCode(
      () =>
        checkFreshness(
          { ...BODY, version: "1.2.0-rc.1" },
          before,
          { ...installed, serial: 1, version: "1.2.0" },
          URL,
        ),
      "E_ROLLBACK",
    );
  });

  it("allowDowngrade (the caller's decision) accepts lower serials and versions, never an expired pointer", () => {
    checkFreshness(BODY, before, { serial: 8, manifestHash: "cd".repeat(32), version: "9.0" }, URL, true);
    expectCode(() => checkFreshness(BODY, expires, installed, URL, true), "E_EXPIRED");
  });

  it("higher serial -> ok (with the same or another manifest)", () => {
    checkFreshness(BODY, before, { serial: 6, manifestHash: BODY.manifest.hash, version: "1.0" }, URL);
    checkFreshness(BODY, before, { serial: 1, manifestHash: "cd".repeat(32), version: "1.0" }, URL);
  });
});
