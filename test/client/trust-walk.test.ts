/**
 * The root walk battery (TUF §5.3, docs/SECURITY.md "Roles and keys"): generated cases of root and
 * release key rotations with thresholds changing across versions, forged and replayed roots on the
 * primary and a mirror, roots removed from a source, and pointers mixed across sources. Each case's
 * outcome is derived from the rule (the newest root verified on any source governs every source) and
 * checked against a real update over loopback: the installed version, or the exact error code with the
 * install byte-for-byte unchanged. FERRY_TRUST_WALK_STRIDE=n runs every n-th case (default 4, CI size; 1 runs all 319).
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { cp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { update } from "../../src/client/ops/update.js";
import { FerryError, type FerryErrorCode } from "../../src/core/errors.js";
import type { PublicKey, SigningKey } from "../../src/core/keys.js";
import { type ManifestRef, type PointerBody, signPointer } from "../../src/core/pointer.js";
import { type RootSpec, signRoot } from "../../src/core/root.js";
import { serveRepository } from "../../src/server/static-server.js";
import { keys, publishVersions, readTree, sortedEntries, tempDir } from "../helpers/helpers.js";

const STRIDE = Math.max(1, Number(process.env.FERRY_TRUST_WALK_STRIDE ?? 4));
const EXPIRES = "2099-01-01T00:00:00Z";

type Key = ReturnType<typeof keys>;
/** One root version: its root and release keys with thresholds (signed with all of them). */
interface Version {
  readonly root: readonly Key[];
  readonly rootThreshold: number;
  readonly release: readonly Key[];
  readonly releaseThreshold: number;
}

function spec(v: Version, version: number): RootSpec {
  const pub = (ks: readonly Key[]): PublicKey[] => ks.map((k) => k.pub);
  return {
    version,
    expires: EXPIRES,
    rootKeys: pub(v.root),
    rootThreshold: v.rootThreshold,
    releaseKeys: pub(v.release),
    releaseThreshold: v.releaseThreshold,
  };
}

/** root/<n>.json bytes for a chain: n signed by n-1's root keys and its own. */
function chainBytes(chain: readonly Version[]): Uint8Array[] {
  return chain.map((v, i) => {
    const signers = new Map<string, SigningKey>();
    for (const k of [...(chain[i - 1]?.root ?? []), ...v.root]) signers.set(k.pub.keyid, k.key);
    return signRoot(spec(v, i + 1), [...signers.values()]);
  });
}

/** What a source serves: roots up to `cut` (or all), an extra bad next root, and which pointer. */
interface SourcePlan {
  readonly cut?: number;
  readonly next?: "forged" | "replayed";
  readonly pointer: "genuine" | "forged-old" | "stale-old";
}

interface Case {
  readonly name: string;
  readonly chain: readonly Version[];
  /** The root version whose (later rotated-out) release keys the attacker holds. */
  readonly k: number;
  /** 0: fresh install trusting root 1's keys; -1: fresh with root/1.json shipped; s > 0: stored root s. */
  readonly start: number;
  readonly sources: readonly SourcePlan[];
}

type Outcome = { version: string } | { code: FerryErrorCode };

/** The rule, stated independently of the client: the newest verified root on any source governs. */
function expected(c: Case): Outcome | "attack-succeeds" {
  const n = c.chain.length;
  const s = Math.max(1, c.start);
  const views = c.sources.map((p) => {
    const top = Math.max(s, p.cut ?? n);
    const failed: FerryErrorCode | undefined =
      p.next === "forged" && top === n
        ? "E_SIGNATURE"
        : p.next === "replayed" && top === n
          ? "E_ROLLBACK"
          : undefined;
    const claimed = p.pointer === "genuine" ? n : c.k;
    return { top, failed, claimed, pointer: p.pointer };
  });
  const alive = views.filter((v) => !v.failed);
  if (alive.length === 0) return { code: views[0]!.failed! };
  const r = Math.max(...alive.map((v) => v.top));
  const results = views.map((v): Outcome | { ok: PointerKind } => {
    if (v.failed) return { code: v.failed };
    if (v.claimed < r) return { code: "E_ROLLBACK" };
    if (v.claimed > r) return { code: "E_HTTP" };
    return { ok: v.pointer };
  });
  const ok = results.flatMap((x) => ("ok" in x ? [x.ok] : []));
  if (ok.includes("forged-old")) return "attack-succeeds";
  if (ok.includes("genuine")) return { version: "2.0.0" };
  if (ok.length > 0) return { code: "E_ROLLBACK" }; // a stale genuine pointer: below the installed serial
  return results[0] as Outcome;
}
type PointerKind = SourcePlan["pointer"];

/** Key rotation scenarios; `ks` lists the versions whose release keys are rotated out by the last one. */
function scenarios(k0: Key): { name: string; chain: Version[]; ks: number[] }[] {
  const [a, b, c, r1, r2, r3, r4] = Array.from({ length: 7 }, () => keys());
  const base: Version = { root: [k0], rootThreshold: 1, release: [k0], releaseThreshold: 1 };
  return [
    {
      name: "release key rotated at 2",
      chain: [base, { root: [k0], rootThreshold: 1, release: [r1!], releaseThreshold: 1 }],
      ks: [1],
    },
    {
      name: "root 2-of-2 at 2, release 2-of-3 at 3",
      chain: [
        base,
        { root: [a!, b!], rootThreshold: 2, release: [r1!], releaseThreshold: 1 },
        { root: [a!, b!], rootThreshold: 2, release: [r2!, r3!, r4!], releaseThreshold: 2 },
      ],
      ks: [1, 2],
    },
    {
      name: "renewal at 2, root and release keys rotated at 3, 1-of-2 root",
      chain: [
        base,
        { ...base },
        { root: [c!, a!], rootThreshold: 1, release: [r1!, r2!], releaseThreshold: 2 },
      ],
      ks: [1, 2],
    },
  ];
}

function setups(k: number): { name: string; sources: SourcePlan[] }[] {
  return [
    { name: "genuine primary", sources: [{ pointer: "genuine" }] },
    { name: "forger primary", sources: [{ pointer: "forged-old" }] },
    { name: "forger mirror", sources: [{ pointer: "genuine" }, { pointer: "forged-old" }] },
    { name: "forger primary, genuine mirror", sources: [{ pointer: "forged-old" }, { pointer: "genuine" }] },
    {
      name: "forger mirror without new roots",
      sources: [{ pointer: "genuine" }, { pointer: "forged-old", cut: k }],
    },
    {
      name: "forger primary without new roots",
      sources: [{ pointer: "forged-old", cut: k }, { pointer: "genuine" }],
    },
    {
      name: "forged next root on mirror",
      sources: [{ pointer: "genuine" }, { pointer: "genuine", next: "forged" }],
    },
    { name: "forged next root, one source", sources: [{ pointer: "genuine", next: "forged" }] },
    {
      name: "replayed next root on mirror",
      sources: [{ pointer: "genuine" }, { pointer: "genuine", next: "replayed" }],
    },
    { name: "replayed next root, one source", sources: [{ pointer: "genuine", next: "replayed" }] },
    { name: "stale old pointer on primary", sources: [{ pointer: "stale-old" }, { pointer: "genuine" }] },
    { name: "roots removed from primary", sources: [{ pointer: "genuine", cut: k }, { pointer: "genuine" }] },
    { name: "roots removed, one source", sources: [{ pointer: "genuine", cut: k }] },
    {
      name: "every source cut, forger",
      sources: [
        { pointer: "forged-old", cut: k },
        { pointer: "forged-old", cut: k },
      ],
    },
  ];
}

async function snapshot(install: string): Promise<string> {
  const state = await readFile(join(install, ".ferry", "state.json"), "utf8").catch(() => "(none)");
  return JSON.stringify([sortedEntries(await readTree(install)), state]);
}

function refOf(bytes: Uint8Array): ManifestRef {
  return (JSON.parse(new TextDecoder().decode(bytes)) as { signed: PointerBody }).signed.manifest;
}

test("root walk battery: rotations, thresholds, forged/replayed/removed roots, primary and mirror", async (t) => {
  const dir = await tempDir(t);
  const base = join(dir, "base");
  const k0 = keys();
  const evil = keys();
  await publishVersions(dir, base, k0.key, [1]);
  const refs = [refOf(await readFile(join(base, "channels", "stable.json")))];
  const baseServer = await serveRepository({ root: base });
  const template = join(dir, "template");
  await update({ repoUrl: baseServer.url, installDir: template, trust: [k0.pub] });
  await baseServer.close();
  for (const v of [2, 3] as const) {
    await publishVersions(dir, base, k0.key, [v]);
    refs.push(refOf(await readFile(join(base, "channels", "stable.json"))));
  }
  const dirs = [join(dir, "p"), join(dir, "m")];
  for (const d of dirs) await cp(base, d, { recursive: true });
  const servers = await Promise.all(dirs.map((root) => serveRepository({ root })));
  t.after(() => Promise.all(servers.map((s) => s.close())).then(() => undefined));

  const pointer = (
    ref: ManifestRef,
    version: string,
    serial: number,
    root: number,
    signers: readonly Key[],
  ) =>
    signPointer(
      {
        channel: "stable",
        version,
        serial,
        root,
        published: "2026-01-05T00:00:00Z",
        expires: EXPIRES,
        manifest: ref,
      },
      signers.map((k) => k.key),
    );
  const releaseSigners = (v: Version) => v.release.slice(0, v.releaseThreshold);
  async function serve(
    d: string,
    roots: readonly Uint8Array[],
    extra: Uint8Array | undefined,
    channel: Uint8Array,
  ) {
    await rm(join(d, "root"), { recursive: true, force: true });
    await mkdir(join(d, "root"));
    for (const [i, bytes] of roots.entries()) await writeFile(join(d, "root", `${i + 1}.json`), bytes);
    if (extra) await writeFile(join(d, "root", `${roots.length + 1}.json`), extra);
    await writeFile(join(d, "channels", "stable.json"), channel);
  }

  const counts = { cases: 0, installed: 0, refused: 0, skipped: 0 };
  const codes = new Map<string, number>();
  const templates = new Map<string, string>();
  let index = 0;
  for (const sc of scenarios(k0)) {
    const roots = chainBytes(sc.chain);
    const n = sc.chain.length;
    // Installs that last updated at root s: a genuine pointer for v1 under root s moves the stored root.
    for (let s = 2; s <= n; s++) {
      const t2 = join(dir, `template-${templates.size}`);
      await cp(template, t2, { recursive: true });
      await serve(
        dirs[0]!,
        roots.slice(0, s),
        undefined,
        pointer(refs[0]!, "1.0.0", 2, s, releaseSigners(sc.chain[s - 1]!)),
      );
      await update({ repoUrl: servers[0]!.url, installDir: t2, trust: [k0.pub] });
      templates.set(`${sc.name}/${s}`, t2);
    }
    for (const k of sc.ks) {
      for (const start of [0, -1, ...Array.from({ length: n }, (_, i) => i + 1)]) {
        for (const setup of setups(k)) {
          const c: Case = {
            name: `${sc.name}; forger holds root ${k}'s release keys; start ${start}; ${setup.name}`,
            chain: sc.chain,
            k,
            start,
            sources: setup.sources,
          };
          const want = expected(c);
          if (want === "attack-succeeds") {
            counts.skipped++; // every source lacks the newer roots and the install knows none: TUF's limit too
            continue;
          }
          if (index++ % STRIDE !== 0) continue;
          for (const [i, plan] of c.sources.entries()) {
            const top = plan.cut ?? n;
            const extra =
              plan.next === "forged"
                ? signRoot(spec({ ...sc.chain[0]!, root: [evil], release: [evil] }, n + 1), [evil.key])
                : plan.next === "replayed"
                  ? roots[n - 1]
                  : undefined;
            const channel =
              plan.pointer === "genuine"
                ? pointer(refs[1]!, "2.0.0", 10, n, releaseSigners(sc.chain[n - 1]!))
                : plan.pointer === "forged-old"
                  ? pointer(refs[2]!, "3.0.0", 1000, k, releaseSigners(sc.chain[k - 1]!))
                  : pointer(refs[0]!, "1.0.0", 3, k, releaseSigners(sc.chain[k - 1]!));
            await serve(dirs[i]!, roots.slice(0, top), extra, channel);
          }
          const install = join(dir, `case-${counts.cases}`);
          if (start > 1) await cp(templates.get(`${sc.name}/${start}`)!, install, { recursive: true });
          else if (start === 1) await cp(template, install, { recursive: true });
          const trust =
            start === -1
              ? { kind: "root" as const, bytes: roots[0]!, source: "root/1.json shipped" }
              : [k0.pub];
          const before = await snapshot(install);
          const got = await update({
            repoUrl: servers[0]!.url,
            mirrors: servers.slice(1, c.sources.length).map((s) => s.url),
            installDir: install,
            trust,
          }).then(
            (r) => ({ version: r.version }) as Outcome,
            (e: unknown) => {
              assert.ok(e instanceof FerryError, `${c.name}: ${String(e)}`);
              return { code: e.code } as Outcome;
            },
          );
          assert.deepEqual(got, want, c.name);
          if ("code" in want) {
            assert.equal(await snapshot(install), before, `${c.name}: the refused install changed`);
            counts.refused++;
            codes.set(want.code, (codes.get(want.code) ?? 0) + 1);
          } else counts.installed++;
          counts.cases++;
          await rm(install, { recursive: true, force: true });
        }
      }
    }
  }
  t.diagnostic(`cases ${JSON.stringify(counts)} codes ${JSON.stringify(Object.fromEntries(codes))}`);
  assert.ok(counts.cases >= 100 / STRIDE, `only ${counts.cases} cases ran`);
});

test("shipped root files on an existing install: must chain from the stored root (E_KEY otherwise)", async (t) => {
  const dir = await tempDir(t);
  const repo = join(dir, "repo");
  const k0 = keys();
  await publishVersions(dir, repo, k0.key, [1]);
  const server = await serveRepository({ root: repo });
  t.after(() => server.close());
  const template = join(dir, "template");
  await update({ repoUrl: server.url, installDir: template, trust: [k0.pub] });
  await publishVersions(dir, repo, k0.key, [2]);
  const v2 = (
    JSON.parse(await readFile(join(repo, "channels", "stable.json"), "utf8")) as { signed: PointerBody }
  ).signed;
  // The genuine chain: release key rotated at 2, root key rotated at 3, renewal at 4.
  const [r1, a] = [keys(), keys()];
  const chain: Version[] = [
    { root: [k0], rootThreshold: 1, release: [k0], releaseThreshold: 1 },
    { root: [k0], rootThreshold: 1, release: [r1], releaseThreshold: 1 },
    { root: [a], rootThreshold: 1, release: [r1], releaseThreshold: 1 },
    { root: [a], rootThreshold: 1, release: [r1], releaseThreshold: 1 },
  ];
  // Root 1 stays the one the install stored; 2..4 chain from it.
  const roots = [await readFile(join(repo, "root", "1.json")), ...chainBytes(chain).slice(1)];
  for (const [i, bytes] of roots.entries()) await writeFile(join(repo, "root", `${i + 1}.json`), bytes);
  await writeFile(
    join(repo, "channels", "stable.json"),
    signPointer({ ...v2, serial: 9, root: 4 }, [r1.key]),
  );
  // Another publisher's roots 1..4 (own keys throughout).
  const other = keys();
  const foreign = chainBytes(
    chain.map(() => ({ root: [other], rootThreshold: 1, release: [other], releaseThreshold: 1 })),
  );
  let cases = 0;
  for (const [version, bytes, genuine] of [
    ...roots.map((b, i) => [i + 1, b, true] as const),
    ...foreign.map((b, i) => [i + 1, b, false] as const),
  ]) {
    const install = join(dir, `case-${cases++}`);
    await cp(template, install, { recursive: true });
    const before = await snapshot(install);
    const run = update({
      repoUrl: server.url,
      installDir: install,
      trust: { kind: "root", bytes, source: `root/${version}.json (${genuine ? "genuine" : "foreign"})` },
    });
    if (genuine) assert.equal((await run).version, "2.0.0", `genuine root ${version}`);
    else {
      await assert.rejects(
        run,
        (e: unknown) => e instanceof FerryError && e.code === "E_KEY",
        `foreign root ${version}`,
      );
      assert.equal(await snapshot(install), before, `foreign root ${version}: the install changed`);
    }
  }
  t.diagnostic(`cases ${cases}`);
});
