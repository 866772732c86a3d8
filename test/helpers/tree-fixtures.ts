/** Shared fixtures of the tree layout tests: manifests from path/content ids, an in-memory object store. */
import { decode } from "../../src/node/node-codec.js";
import { DEFAULT_CHUNKING } from "../../src/core/chunker.js";
import type { FileEntry, Manifest } from "../../src/core/manifest.js";
import type { StoredObject, StoredRef } from "../../src/core/tree.js";

export const H = (c: string): string => c.repeat(64);
export const hex = (n: number): string => n.toString(16).padStart(64, "0");

/** Files as release paths with content ids; chunks and packs are derived deterministically. */
export function manifestOf(
  files: readonly { path: string; content: number; chunks: number; executable?: boolean }[],
): Manifest {
  const packs = [
    { id: H("a"), size: 10_000_000 },
    { id: H("b"), size: 10_000_000 },
  ];
  const entries: FileEntry[] = [...files]
    .sort((x, y) => (Buffer.from(x.path) < Buffer.from(y.path) ? -1 : 1))
    .map((f) => {
      const chunks = Array.from({ length: f.chunks }, (_, i) => ({
        hash: f.chunks === 1 ? hex(f.content) : hex(f.content * 16 + i + 1_000_000),
        size: 100 + i,
        pack: (f.content + i) % 2,
        offset: (f.content * 7 + i) % 1000,
        length: 100 + i,
        codec: "raw" as const,
      }));
      return {
        path: f.path,
        size: chunks.reduce((s, c) => s + c.size, 0),
        sha256: hex(f.content),
        executable: f.executable ?? false,
        package: "base",
        chunks,
      };
    });
  return {
    format: 1,
    version: "1.0.0",
    created: "2026-11-22T00:00:00Z",
    previous: null,
    chunking: DEFAULT_CHUNKING,
    packs,
    packages: { base: { optional: false } },
    files: entries,
  };
}

export function memoryStore(objects: readonly StoredObject[]) {
  const byHash = new Map(objects.map((o) => [o.ref.hash, o.bytes]));
  const loads: string[] = [];
  const load = async (ref: StoredRef, what: string): Promise<Uint8Array> => {
    loads.push(ref.hash);
    const bytes = byHash.get(ref.hash);
    if (!bytes) throw new Error(`missing ${ref.hash}`);
    return decode(ref.codec, bytes, ref.rawSize, what);
  };
  return { byHash, load, loads };
}

/**
 * A manifest with pack indexes replaced by pack ids and only referenced packs listed: a tree names the
 * packs its objects point into, numbered in walk order.
 */
export function normalized(manifest: Manifest): unknown {
  const id = (pack: number) => manifest.packs[pack]!.id;
  const used = new Set(
    manifest.files.flatMap((f) => [...f.chunks, ...(f.deltas ?? [])].map((c) => id(c.pack))),
  );
  return {
    ...manifest,
    packs: manifest.packs.filter((p) => used.has(p.id)).sort((a, b) => (a.id < b.id ? -1 : 1)),
    files: manifest.files.map((f) => ({
      ...f,
      chunks: f.chunks.map((c) => ({ ...c, pack: id(c.pack) })),
      ...(f.deltas ? { deltas: f.deltas.map((d) => ({ ...d, pack: id(d.pack) })) } : {}),
    })),
  };
}
