/**
 * Roles, thresholds and root rotation (docs/FORMAT.md §6, docs/SECURITY.md): the pure verifiers, case by
 * case. Every case builds real Ed25519 signatures; nothing is mocked.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { canonicalBytes } from "../../src/core/canonical-json.js";
import { expectCodeAsync } from "../helpers/helpers.js";
import {
  type PublicKey,
  publicKeyOf,
  publicKeyText,
  type SigningKey,
  signBytes,
} from "../../src/core/keys.js";
import { generateKeyPair, parsePrivateKey } from "../../src/node/node-keys.js";
import { parsePointer, type PointerBody, signPointer, verifyPointer } from "../../src/core/pointer.js";
import {
  checkRootExpiry,
  type RootBody,
  type RootSpec,
  rootSigned,
  signRoot,
  trustFirstRoot,
  trustNextRoot,
  trustShippedRoot,
} from "../../src/core/root.js";
import { nodeCrypto } from "../../src/node/node-crypto.js";

const signing: SigningKey[] = Array.from({ length: 7 }, (_, i) =>
  parsePrivateKey(generateKeyPair().privatePem, `key${i}`),
);
const pub: PublicKey[] = signing.map(publicKeyOf);
const [k0, k1, k2, k3, k4, k5, k6] = signing as [
  SigningKey,
  SigningKey,
  SigningKey,
  SigningKey,
  SigningKey,
  SigningKey,
  SigningKey,
];
const [p0, p1, p2, p3, p4, p5, p6] = pub as [
  PublicKey,
  PublicKey,
  PublicKey,
  PublicKey,
  PublicKey,
  PublicKey,
  PublicKey,
];
const URL = "https://cdn.example/game/root/2.json";
const FAR = "2099-01-01T00:00:00Z";

function spec(over: Partial<RootSpec> = {}): RootSpec {
  return {
    version: 1,
    expires: FAR,
    rootKeys: [p0],
    rootThreshold: 1,
    releaseKeys: [p1],
    releaseThreshold: 1,
    ...over,
  };
}

const root1 = (await trustShippedRoot(signRoot(spec(), [k0]), "root1", nodeCrypto)).body;

type Doc = { signed: Record<string, unknown>; signatures: { keyid: string; sig: string }[] };
const parse = (bytes: Uint8Array): Doc => JSON.parse(new TextDecoder().decode(bytes)) as Doc;
const encode = (doc: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(doc));
/** Signs an arbitrary `signed` object with the given keys (bypassing the builders' checks). */
function rawSigned(signed: Record<string, unknown>, keys: readonly SigningKey[]): Uint8Array {
  const payload = canonicalBytes(signed);
  return encode({ signed, signatures: keys.map((k) => ({ keyid: k.keyid, sig: signBytes(k, payload) })) });
}

const BODY: PointerBody = {
  channel: "stable",
  version: "2.0.0",
  serial: 3,
  root: 1,
  published: "2026-11-01T00:00:00Z",
  expires: FAR,
  manifest: { hash: "ab".repeat(32), size: 100, codec: "br", rawSize: 400 },
};
const verifyP = async (bytes: Uint8Array, root: RootBody) =>
  await verifyPointer(parsePointer(bytes, "channels/stable.json"), root, nodeCrypto);

describe("pointer signatures: the release role and its threshold", async () => {
  const twoOfThree = (
    await trustShippedRoot(
      signRoot(spec({ releaseKeys: [p1, p2, p3], releaseThreshold: 2 }), [k0]),
      "r",
      nodeCrypto,
    )
  ).body;

  it("1. a release key signs: accepted", async () => {
    assert.deepEqual((await verifyP(signPointer(BODY, [k1]), root1)).body, BODY);
  });
  it("2. the root key (wrong role) signs a pointer: E_SIGNATURE", async () => {
    await expectCodeAsync(async () => await verifyP(signPointer(BODY, [k0]), root1), "E_SIGNATURE");
  });
  it("3. no signatures at all: E_SIGNATURE", async () => {
    await expectCodeAsync(async () => await verifyP(signPointer(BODY, []), root1), "E_SIGNATURE");
  });
  it("4. a key unknown to the root signs: E_SIGNATURE", async () => {
    await expectCodeAsync(async () => await verifyP(signPointer(BODY, [k5]), root1), "E_SIGNATURE");
  });
  it("5. threshold 2 of 3, one signature: E_SIGNATURE naming the counts", async () => {
    const err = await expectCodeAsync(
      async () => await verifyP(signPointer(BODY, [k1]), twoOfThree),
      "E_SIGNATURE",
    );
    assert.match(err.message, /1 valid signature\(s\) from the 3 authorised key\(s\); 2 required/);
  });
  it("6. threshold 2 of 3, two signatures: accepted", async () => {
    assert.equal((await verifyP(signPointer(BODY, [k1, k3]), twoOfThree)).body.serial, 3);
  });
  it("7. threshold 3 of 3 roles, all three sign: accepted", async () => {
    const all = await trustShippedRoot(
      signRoot(spec({ releaseKeys: [p1, p2, p3], releaseThreshold: 3 }), [k0]),
      "r",
      nodeCrypto,
    );
    assert.equal((await verifyP(signPointer(BODY, [k1, k2, k3]), all.body)).body.version, "2.0.0");
  });
  it("8. threshold 2: the same key's signature twice counts once: E_SIGNATURE", async () => {
    const doc = parse(signPointer(BODY, [k1]));
    doc.signatures.push({ ...doc.signatures[0]! });
    await expectCodeAsync(async () => await verifyP(encode(doc), twoOfThree), "E_SIGNATURE");
  });
  it("9. threshold 2: second signature invalid (bit flipped): E_SIGNATURE", async () => {
    const doc = parse(signPointer(BODY, [k1, k2]));
    const sig = Buffer.from(doc.signatures[1]!.sig, "base64");
    sig[5] = sig[5]! ^ 0x10;
    doc.signatures[1]!.sig = sig.toString("base64");
    await expectCodeAsync(async () => await verifyP(encode(doc), twoOfThree), "E_SIGNATURE");
  });
  it("10. threshold met plus extra signatures by unknown keys: accepted", async () => {
    assert.equal((await verifyP(signPointer(BODY, [k1, k2, k5, k6]), twoOfThree)).body.channel, "stable");
  });
  it("11. a signature made by another key but labelled with the release key's id: E_SIGNATURE", async () => {
    const doc = parse(signPointer(BODY, [k5]));
    doc.signatures[0]!.keyid = k1.keyid;
    await expectCodeAsync(async () => await verifyP(encode(doc), root1), "E_SIGNATURE");
  });
  it("12. signatures moved from another channel's pointer: E_SIGNATURE", async () => {
    const beta = parse(signPointer({ ...BODY, channel: "beta" }, [k1]));
    const stable = parse(signPointer(BODY, [k1]));
    await expectCodeAsync(
      async () => await verifyP(encode({ signed: stable.signed, signatures: beta.signatures }), root1),
      "E_SIGNATURE",
    );
  });
  it("13. more than 32 signatures: E_FORMAT (bounded verification work)", async () => {
    const doc = parse(signPointer(BODY, [k1]));
    doc.signatures = Array.from({ length: 33 }, () => ({ ...doc.signatures[0]! }));
    await expectCodeAsync(async () => await verifyP(encode(doc), root1), "E_FORMAT");
  });
  it("14. a malformed key id in a signature: E_FORMAT", async () => {
    const doc = parse(signPointer(BODY, [k1]));
    doc.signatures[0]!.keyid = "K1";
    await expectCodeAsync(async () => await verifyP(encode(doc), root1), "E_FORMAT");
  });
  it("15. tampering with any signed field after signing: E_SIGNATURE, not a parse of the tampered field", async () => {
    for (const change of [
      (s: Record<string, unknown>) => (s.serial = 99),
      (s: Record<string, unknown>) => (s.version = "9.9.9"),
      (s: Record<string, unknown>) => (s.expires = "not a time"),
      (s: Record<string, unknown>) => (s.root = 1),
      (s: Record<string, unknown>) => delete s.manifest,
    ]) {
      const doc = parse(signPointer({ ...BODY, root: 2 }, [k1]));
      change(doc.signed);
      await expectCodeAsync(async () => await verifyP(encode(doc), root1), "E_SIGNATURE");
    }
  });
});

describe("root metadata: shape and self-signature", async () => {
  it("16. a well-formed root signed by its root key: accepted, roles as written", async () => {
    const root = (
      await trustShippedRoot(
        signRoot(spec({ rootKeys: [p0, p2], rootThreshold: 2 }), [k0, k2]),
        "r",
        nodeCrypto,
      )
    ).body;
    assert.equal(root.roles.root.threshold, 2);
    assert.deepEqual([...root.roles.root.keyids].sort(), [p0.keyid, p2.keyid].sort());
    assert.deepEqual(root.roles.release.keyids, [p1.keyid]);
  });
  it("17. a shipped root below its own root threshold: E_SIGNATURE", async () => {
    await expectCodeAsync(
      async () =>
        await trustShippedRoot(
          signRoot(spec({ rootKeys: [p0, p2], rootThreshold: 2 }), [k0]),
          "r",
          nodeCrypto,
        ),
      "E_SIGNATURE",
    );
  });
  it("18. a root signed only by its release key (wrong role): E_SIGNATURE", async () => {
    await expectCodeAsync(
      async () => await trustShippedRoot(signRoot(spec(), [k1]), "r", nodeCrypto),
      "E_SIGNATURE",
    );
  });
  it("19. a key id that is not the SHA-256 of its key: E_FORMAT", async () => {
    const signed = rootSigned(spec());
    const keys = signed.keys as Record<string, string>;
    keys[p0.keyid] = publicKeyText(p5);
    await expectCodeAsync(
      async () => await trustShippedRoot(rawSigned(signed, [k0]), "r", nodeCrypto),
      "E_FORMAT",
    );
  });
  it("20. a role naming a key id absent from `keys`: E_FORMAT", async () => {
    const signed = rootSigned(spec());
    (signed.roles as { release: { keyids: string[] } }).release.keyids = [p6.keyid];
    await expectCodeAsync(
      async () => await trustShippedRoot(rawSigned(signed, [k0]), "r", nodeCrypto),
      "E_FORMAT",
    );
  });
  it("21. threshold 0: E_FORMAT", async () => {
    await expectCodeAsync(
      async () =>
        await trustShippedRoot(rawSigned(rootSigned(spec({ releaseThreshold: 0 })), [k0]), "r", nodeCrypto),
      "E_FORMAT",
    );
  });
  it("22. threshold above the number of keys: E_FORMAT", async () => {
    await expectCodeAsync(
      async () =>
        await trustShippedRoot(rawSigned(rootSigned(spec({ rootThreshold: 2 })), [k0]), "r", nodeCrypto),
      "E_FORMAT",
    );
  });
  it("23. duplicate key ids in a role (to fake a threshold): E_FORMAT", async () => {
    const signed = rootSigned(spec({ rootThreshold: 1 }));
    const role = (signed.roles as { root: { keyids: string[]; threshold: number } }).root;
    role.keyids = [p0.keyid, p0.keyid];
    role.threshold = 2;
    await expectCodeAsync(
      async () => await trustShippedRoot(rawSigned(signed, [k0]), "r", nodeCrypto),
      "E_FORMAT",
    );
  });
  it("24. a missing release role: E_FORMAT", async () => {
    const signed = rootSigned(spec());
    delete (signed.roles as Record<string, unknown>).release;
    await expectCodeAsync(
      async () => await trustShippedRoot(rawSigned(signed, [k0]), "r", nodeCrypto),
      "E_FORMAT",
    );
  });
  it("25. a key that is not an Ed25519 key text: E_FORMAT", async () => {
    for (const text of ["ferry-ed25519:AAAA", "", "ferry-rsa:" + "A".repeat(43) + "="]) {
      const signed = rootSigned(spec());
      (signed.keys as Record<string, string>)[p0.keyid] = text;
      await expectCodeAsync(
        async () => await trustShippedRoot(rawSigned(signed, [k0]), "r", nodeCrypto),
        "E_FORMAT",
      );
    }
  });
  it("26. format 2 root: E_UNSUPPORTED_FORMAT", async () => {
    await expectCodeAsync(
      async () =>
        await trustShippedRoot(rawSigned({ ...rootSigned(spec()), format: 2 }, [k0]), "r", nodeCrypto),
      "E_UNSUPPORTED_FORMAT",
    );
  });
  it("27. a channel pointer presented as a root (type confusion): E_FORMAT", async () => {
    await expectCodeAsync(
      async () => await trustShippedRoot(signPointer(BODY, [k0]), "r", nodeCrypto),
      "E_FORMAT",
    );
  });
  it("28. a root presented as a channel pointer (type confusion): E_FORMAT", async () => {
    const bytes = signRoot(spec({ releaseKeys: [p0] }), [k0]);
    await expectCodeAsync(
      async () => await verifyP(bytes, (await trustShippedRoot(bytes, "r", nodeCrypto)).body),
      "E_FORMAT",
    );
  });
  it("29. an expired root: E_EXPIRED naming local time and the clock", async () => {
    const root = (
      await trustShippedRoot(signRoot(spec({ expires: "2026-01-01T00:00:00Z" }), [k0]), "r", nodeCrypto)
    ).body;
    const err = await expectCodeAsync(
      async () => checkRootExpiry(root, new Date("2026-06-01T00:00:00Z"), URL),
      "E_EXPIRED",
    );
    assert.match(err.message, /2026-06-01T00:00:00.000Z/);
    assert.match(err.message, /clock/);
    checkRootExpiry(root, new Date("2025-12-31T23:59:59Z"), URL);
  });
});

describe("first root against the keys passed with --trust", async () => {
  const first = signRoot(spec(), [k0]);
  it("30. root/1.json signed by the trusted key: accepted", async () => {
    assert.equal(
      (await trustFirstRoot(first, { keys: [p0], threshold: 1 }, URL, nodeCrypto)).body.version,
      1,
    );
  });
  it("31. root/1.json not signed by any trusted key: E_SIGNATURE", async () => {
    await expectCodeAsync(
      async () => await trustFirstRoot(first, { keys: [p5], threshold: 1 }, URL, nodeCrypto),
      "E_SIGNATURE",
    );
  });
  it("32. an attacker's self-consistent root (own root key) against the trusted key: E_SIGNATURE", async () => {
    const fake = signRoot(spec({ rootKeys: [p5], releaseKeys: [p5] }), [k5]);
    await expectCodeAsync(
      async () => await trustFirstRoot(fake, { keys: [p0], threshold: 1 }, URL, nodeCrypto),
      "E_SIGNATURE",
    );
  });
  it("33. signed by the trusted key but below the root's own threshold: E_SIGNATURE", async () => {
    const two = signRoot(spec({ rootKeys: [p0, p2], rootThreshold: 2 }), [k0]);
    await expectCodeAsync(
      async () => await trustFirstRoot(two, { keys: [p0], threshold: 1 }, URL, nodeCrypto),
      "E_SIGNATURE",
    );
  });
  it("34. a trust threshold of 2 with only one trusted signature: E_SIGNATURE", async () => {
    await expectCodeAsync(
      async () => await trustFirstRoot(first, { keys: [p0, p2], threshold: 2 }, URL, nodeCrypto),
      "E_SIGNATURE",
    );
    const both = signRoot(spec({ rootKeys: [p0, p2], rootThreshold: 2 }), [k0, k2]);
    assert.equal(
      (await trustFirstRoot(both, { keys: [p0, p2], threshold: 2 }, URL, nodeCrypto)).body.version,
      1,
    );
  });
  it("35. root/1.json that says it is version 2: E_FORMAT", async () => {
    await expectCodeAsync(
      async () =>
        await trustFirstRoot(
          signRoot(spec({ version: 2 }), [k0]),
          { keys: [p0], threshold: 1 },
          URL,
          nodeCrypto,
        ),
      "E_FORMAT",
    );
  });
});

describe("root rotation: version N+1 signed by a threshold of N's and its own root keys", async () => {
  const next = (over: Partial<RootSpec>, signers: SigningKey[]) =>
    signRoot(spec({ version: 2, ...over }), signers);

  it("36. new root key, signed by old and new: accepted", async () => {
    const r2 = (await trustNextRoot(root1, next({ rootKeys: [p2] }, [k0, k2]), URL, nodeCrypto)).body;
    assert.deepEqual(r2.roles.root.keyids, [p2.keyid]);
  });
  it("37. signed only by the new key (bad old-key signature): E_SIGNATURE", async () => {
    const err = await expectCodeAsync(
      async () => await trustNextRoot(root1, next({ rootKeys: [p2] }, [k2]), URL, nodeCrypto),
      "E_SIGNATURE",
    );
    assert.match(err.message, /against root version 1/);
  });
  it("38. signed only by the old key (bad new-key signature): E_SIGNATURE", async () => {
    await expectCodeAsync(
      async () => await trustNextRoot(root1, next({ rootKeys: [p2] }, [k0]), URL, nodeCrypto),
      "E_SIGNATURE",
    );
  });
  it("39. old key's signature corrupted: E_SIGNATURE", async () => {
    const doc = parse(next({ rootKeys: [p2] }, [k0, k2]));
    const i = doc.signatures.findIndex((s) => s.keyid === k0.keyid);
    const sig = Buffer.from(doc.signatures[i]!.sig, "base64");
    sig[0] = sig[0]! ^ 1;
    doc.signatures[i]!.sig = sig.toString("base64");
    await expectCodeAsync(
      async () => await trustNextRoot(root1, encode(doc), URL, nodeCrypto),
      "E_SIGNATURE",
    );
  });
  it("40. a skipped version (root/2.json says 3): E_FORMAT", async () => {
    await expectCodeAsync(
      async () => await trustNextRoot(root1, signRoot(spec({ version: 3 }), [k0]), URL, nodeCrypto),
      "E_FORMAT",
    );
  });
  it("41. a replayed older or equal version at root/2.json: E_ROLLBACK", async () => {
    await expectCodeAsync(
      async () => await trustNextRoot(root1, signRoot(spec({ version: 1 }), [k0]), URL, nodeCrypto),
      "E_ROLLBACK",
    );
  });
  it("42. old root threshold 2 of 3, only one old key signs: E_SIGNATURE", async () => {
    const r1 = (
      await trustShippedRoot(
        signRoot(spec({ rootKeys: [p0, p2, p3], rootThreshold: 2 }), [k0, k2]),
        "r",
        nodeCrypto,
      )
    ).body;
    await expectCodeAsync(
      async () => await trustNextRoot(r1, next({ rootKeys: [p4] }, [k0, k4]), URL, nodeCrypto),
      "E_SIGNATURE",
    );
    assert.equal(
      (await trustNextRoot(r1, next({ rootKeys: [p4] }, [k0, k3, k4]), URL, nodeCrypto)).body.version,
      2,
    );
  });
  it("43. the old release key (wrong role) plus the new root key: E_SIGNATURE", async () => {
    await expectCodeAsync(
      async () => await trustNextRoot(root1, next({ rootKeys: [p2] }, [k1, k2]), URL, nodeCrypto),
      "E_SIGNATURE",
    );
  });
  it("44. root 2 changed after signing (release threshold lowered): E_SIGNATURE", async () => {
    const doc = parse(next({ releaseKeys: [p1, p3], releaseThreshold: 2 }, [k0]));
    (doc.signed.roles as { release: { threshold: number } }).release.threshold = 1;
    await expectCodeAsync(
      async () => await trustNextRoot(root1, encode(doc), URL, nodeCrypto),
      "E_SIGNATURE",
    );
  });
  it("45. a chain 1 -> 2 -> 3 rotating the root key twice: each step verifies", async () => {
    const r2 = (await trustNextRoot(root1, next({ rootKeys: [p2] }, [k0, k2]), URL, nodeCrypto)).body;
    const r3 = (
      await trustNextRoot(r2, signRoot(spec({ version: 3, rootKeys: [p3] }), [k2, k3]), URL, nodeCrypto)
    ).body;
    assert.deepEqual(r3.roles.root.keyids, [p3.keyid]);
    // The first root key alone cannot sign version 3 any more.
    await expectCodeAsync(
      async () =>
        await trustNextRoot(r2, signRoot(spec({ version: 3, rootKeys: [p0] }), [k0]), URL, nodeCrypto),
      "E_SIGNATURE",
    );
  });
  it("46. release key rotated: old release key's pointers fail under root 2, new ones pass", async () => {
    const r2 = (await trustNextRoot(root1, next({ releaseKeys: [p4] }, [k0]), URL, nodeCrypto)).body;
    await expectCodeAsync(
      async () => await verifyP(signPointer({ ...BODY, root: 2 }, [k1]), r2),
      "E_SIGNATURE",
    );
    assert.equal((await verifyP(signPointer({ ...BODY, root: 2 }, [k4]), r2)).body.root, 2);
    await expectCodeAsync(
      async () => await verifyP(signPointer({ ...BODY, root: 2 }, [k4]), root1),
      "E_SIGNATURE",
    );
  });
});
