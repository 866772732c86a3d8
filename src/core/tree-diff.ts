import type { Manifest } from "./manifest.js";
import { comparePaths } from "./paths.js";
import { type StoredRef } from "./tree.js";
import { manifestOf, readTreeHeader } from "./tree-read.js";
import { type DirectoryEntry, type LoadObject, type RawFile, TreeWalker } from "./tree-walker.js";

/**
 * What differs between two tree releases (docs/FORMAT.md §5.2), read without walking what they share: a
 * subtree whose directory object has the same hash in both is skipped whole, so the work and memory
 * follow the size of the change and the depth of the tree, not the number of files.
 */
export interface TreeDiff {
  /** The new release's files at paths whose file differs or is new (with deltas from `deltasFrom`). */
  readonly target: Manifest;
  /** The old release's files at paths whose file differs or is gone. */
  readonly installed: Manifest;
  /** The new release's objects read (the ones it does not share with the old release, and more). */
  readonly objects: readonly StoredRef[];
}

export interface DiffOptions {
  /** Manifest hash of the old release: the new tree's delta index for it is attached (default: none). */
  readonly deltasFrom?: string;
  readonly maxFiles: number;
}

/** Directory objects read at once while listing a release's objects. */
const LIST_CONCURRENCY = 8;

interface Side {
  readonly json: unknown;
  readonly document: string;
}

/**
 * Files are the same when content, size, executable bit and package are: where the bytes are stored may
 * differ (a repacked chunk), which does not change what is installed.
 */
function sameFile(a: RawFile, b: RawFile): boolean {
  return (
    a["sha256"] === b["sha256"] &&
    a["size"] === b["size"] &&
    a["executable"] === b["executable"] &&
    a["package"] === b["package"] &&
    a["link"] === b["link"]
  );
}

export async function diffTrees(
  old: Side,
  next: Side,
  load: LoadObject,
  options: DiffOptions,
): Promise<TreeDiff> {
  const oldHeader = readTreeHeader(old.json, old.document);
  const newHeader = readTreeHeader(next.json, next.document);
  const oldWalker = new TreeWalker(old.document, load, options.maxFiles, false);
  const newWalker = new TreeWalker(next.document, load, options.maxFiles, false);
  const oldFiles: RawFile[] = [];
  const newFiles: RawFile[] = [];

  /** An entry on one side only (or of another kind on each side): all of its files, complete. */
  const take =
    (walker: TreeWalker, into: RawFile[]) =>
    (e: DirectoryEntry): Promise<unknown> =>
      e.kind === "tree"
        ? walker.subtree(e.tree, `${e.path}/`, into)
        : walker.completeFile(e).then((f) => into.push(f));
  const takeOld = take(oldWalker, oldFiles);
  const takeNew = take(newWalker, newFiles);

  const walk = async (a: StoredRef, b: StoredRef, prefix: string): Promise<void> => {
    if (a.hash === b.hash) return;
    const [left, right] = await Promise.all([oldWalker.directory(a, prefix), newWalker.directory(b, prefix)]);
    const pending: Promise<unknown>[] = [];
    try {
      let i = 0;
      let j = 0;
      while (i < left.length || j < right.length) {
        const l = left[i];
        const r = right[j];
        const order = l === undefined ? 1 : r === undefined ? -1 : comparePaths(l.name, r.name);
        if (order < 0) {
          pending.push(takeOld(l!));
          i++;
        } else if (order > 0) {
          pending.push(takeNew(r!));
          j++;
        } else {
          i++;
          j++;
          if (l!.kind === "tree" && r!.kind === "tree") pending.push(walk(l!.tree, r!.tree, `${l!.path}/`));
          else if (l!.kind === "file" && r!.kind === "file" && sameFile(l!.file, r!.file)) continue;
          else pending.push(takeOld(l!), takeNew(r!));
        }
      }
    } catch (error) {
      await Promise.allSettled(pending); // none may reject unobserved
      throw error;
    }
    await Promise.all(pending);
  };

  await walk(oldHeader.root, newHeader.root, "");
  const indexRef = options.deltasFrom === undefined ? undefined : newHeader.deltas.get(options.deltasFrom);
  if (indexRef) {
    const byPath = new Map(newFiles.map((f) => [f["path"] as string, f]));
    await newWalker.attachDeltas(indexRef, options.deltasFrom!, byPath, false);
  }
  return {
    target: manifestOf(next.json, next.document, newWalker.packs, newFiles),
    installed: manifestOf(old.json, old.document, oldWalker.packs, oldFiles),
    objects: newWalker.objects,
  };
}

/**
 * The hashes of every directory and recipe object a tree release references, read directory by
 * directory (recipes are named, not read, unless the release has parted recipes): what a client keeps
 * for the release. Memory follows the number of objects, not of files.
 */
export async function treeObjects(
  json: unknown,
  document: string,
  load: LoadObject,
  maxFiles: number,
): Promise<Set<string>> {
  const header = readTreeHeader(json, document);
  const walker = new TreeWalker(document, load, maxFiles, false);
  const hashes = new Set<string>([header.root.hash]);
  // A few directories read at once: memory holds a few parsed objects, not all of them.
  const queue: { ref: StoredRef; prefix: string }[] = [{ ref: header.root, prefix: "" }];
  const recipes: { ref: StoredRef; path: string }[] = [];
  await new Promise<void>((resolve, reject) => {
    let inFlight = 0;
    let failed = false;
    const pump = (): void => {
      while (!failed && inFlight < LIST_CONCURRENCY && queue.length > 0) {
        const next = queue.pop()!;
        inFlight++;
        walker.directory(next.ref, next.prefix).then(
          (entries) => {
            for (const entry of entries) {
              if (entry.kind === "file") {
                if (entry.recipe && header.parted) recipes.push({ ref: entry.recipe, path: entry.path });
                else if (entry.recipe) hashes.add(entry.recipe.hash);
              } else if (!hashes.has(entry.tree.hash)) {
                hashes.add(entry.tree.hash); // a shared subtree is listed once
                queue.push({ ref: entry.tree, prefix: `${entry.path}/` });
              }
            }
            inFlight--;
            if (inFlight === 0 && queue.length === 0) resolve();
            else pump();
          },
          (error: unknown) => {
            failed = true; // reads in flight settle into this same handler; the first error wins
            reject(error);
          },
        );
      }
    };
    pump();
  });
  // Parted recipes are read to find their parts (one file at a time: a few objects in memory).
  for (const { ref, path } of recipes) await walker.recipeObjects(ref, path, hashes);
  return hashes;
}
