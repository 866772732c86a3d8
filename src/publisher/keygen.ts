import { access, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FerryError, ioError } from "../core/errors.js";
import { generateKeyPair, parsePublicKey } from "../node/node-keys.js";

/** Writes `<dir>/<name>.key` (mode 0600) and `<dir>/<name>.pub`; refuses to overwrite an existing key. */
export async function keygen(
  dir: string,
  name = "ferry",
): Promise<{ privateKeyPath: string; publicKeyPath: string; keyid: string }> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
    throw new FerryError(
      "E_USAGE",
      `Invalid key name ${JSON.stringify(name)}: letters, digits, '.', '_', '-'.`,
    );
  }
  const privateKeyPath = join(dir, `${name}.key`);
  const publicKeyPath = join(dir, `${name}.pub`);
  for (const path of [privateKeyPath, publicKeyPath]) {
    const exists = await access(path).then(
      () => true,
      () => false,
    );
    if (exists)
      throw new FerryError(
        "E_USAGE",
        `${path} already exists; Ferry never overwrites a key. Move it away or choose another directory.`,
        { path },
      );
  }
  const { privatePem, publicText } = generateKeyPair();
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(privateKeyPath, privatePem, { mode: 0o600, flag: "wx" });
    await writeFile(publicKeyPath, publicText, { mode: 0o644, flag: "wx" });
  } catch (error) {
    throw ioError("write key", dir, error);
  }
  return { privateKeyPath, publicKeyPath, keyid: parsePublicKey(publicText, publicKeyPath).keyid };
}
