import { readFile } from "node:fs/promises";
import type { TrustAnchor } from "../client/remote/trust.js";
import { FerryError } from "../core/errors.js";
import { type PublicKey, publicKeyOf, type SigningKey } from "../core/keys.js";
import { parsePrivateKey, parsePublicKey } from "../node/node-keys.js";

/** A key named on the command line: a private key file (PEM), a public key file, or the public key text. */
export interface KeyArgument {
  readonly public: PublicKey;
  readonly signing?: SigningKey;
}

async function readText(path: string, flag: string): Promise<string> {
  return readFile(path, "utf8").catch((cause: unknown) => {
    throw new FerryError(
      "E_KEY",
      `Cannot read ${path} (${flag}): ${(cause as Error).message}.`,
      { path },
      { cause },
    );
  });
}

export async function loadKeyFiles(values: readonly string[], flag: string): Promise<KeyArgument[]> {
  return Promise.all(
    values.map(async (value): Promise<KeyArgument> => {
      if (value.startsWith("ferry-ed25519:")) return { public: parsePublicKey(value, flag) };
      const text = await readText(value, flag);
      if (text.includes("PRIVATE KEY")) {
        const signing = parsePrivateKey(text, value);
        return { public: publicKeyOf(signing), signing };
      }
      return { public: parsePublicKey(text, value) };
    }),
  );
}

export async function loadSigningKeys(values: readonly string[], flag: string): Promise<SigningKey[]> {
  return Promise.all(values.map(async (path) => parsePrivateKey(await readText(path, flag), path)));
}

/** `--trust`: root public keys (with a threshold), or one root metadata file. */
export async function loadTrust(
  values: readonly string[] | undefined,
  threshold: number,
): Promise<TrustAnchor> {
  if (!values || values.length === 0) {
    throw new FerryError(
      "E_USAGE",
      "Missing --trust <root-key or root.json>: Ferry only installs what keys you trust signed. Run 'ferry --help' for usage.",
    );
  }
  const keys: PublicKey[] = [];
  const roots: { bytes: Uint8Array; source: string }[] = [];
  for (const value of values) {
    if (value.startsWith("ferry-ed25519:")) {
      keys.push(parsePublicKey(value, "--trust"));
      continue;
    }
    const text = await readText(value, "--trust");
    if (text.trimStart().startsWith("{"))
      roots.push({ bytes: new TextEncoder().encode(text), source: value });
    else keys.push(parsePublicKey(text, value));
  }
  const root = roots[0];
  if (root) {
    if (roots.length > 1 || keys.length > 0) {
      throw new FerryError("E_USAGE", "--trust takes either root keys or one root metadata file, not both.");
    }
    return { kind: "root", bytes: root.bytes, source: root.source };
  }
  return { kind: "keys", keys, threshold };
}
