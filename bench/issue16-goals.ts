/**
 * The goal rows of issue 16, computed from one pair's measured figures (no I/O, so a test can check
 * each verdict on hand-made numbers). A goal whose inputs were not measured is "n/a", never "met".
 */
import { isNa, type PeerOutcome } from "./issue16-peers.js";

export const KIB = 1024;

export interface PairFigures {
  /** Ferry's update bytes at the server, headers and metadata included. */
  readonly updateBytes: number;
  readonly updateSeconds: number;
  readonly freshBytes: number;
  readonly freshSeconds: number;
  readonly coldPublishSeconds: number;
  readonly republishSeconds: number;
  readonly floor: PeerOutcome;
  /** Every other peer of the update, by name. */
  readonly peers: ReadonlyMap<string, PeerOutcome>;
  readonly tarZstd: PeerOutcome;
  /** `cp -a` + `sync` of the new tree, and copy + fsync + SHA-256 of its changed bytes, seconds. */
  readonly copySyncSeconds: number;
  readonly copyFsyncHashSeconds: number;
  /** `casync make` of the new tree (the publish references), seconds; NaN when casync did not run. */
  readonly casyncMakeSeconds: number;
  readonly farHop: boolean;
  readonly smallChange: boolean;
}

export type Verdict = "met" | "NOT met" | "n/a";

export interface GoalRow {
  readonly goal: string;
  readonly measured: string;
  readonly limit: string;
  readonly verdict: Verdict;
}

const int = (n: number): string => Math.round(n).toLocaleString("en-US");
const x = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;
const s = (n: number): string => `${n.toFixed(2)} s`;

function row(goal: string, measured: string, limit: string, ok: boolean | null): GoalRow {
  return { goal, measured, limit, verdict: ok === null ? "n/a" : ok ? "met" : "NOT met" };
}

const finite = (...ns: number[]): boolean => ns.every((n) => Number.isFinite(n) && n >= 0);

function bytesOf(o: PeerOutcome | undefined): number {
  return o === undefined || isNa(o) ? Number.NaN : o.bytes;
}

export function goalRows(f: PairFigures): GoalRow[] {
  const rows: GoalRow[] = [];
  const floor = bytesOf(f.floor);
  const floorLimit = 1.15 * floor + 4 * KIB;
  rows.push(
    finite(floor, f.updateBytes)
      ? row(
          "update bytes ≤ 1.15× floor + 4 KiB",
          `${int(f.updateBytes)} B (${x(f.updateBytes, floor)} floor)`,
          `${int(floorLimit)} B`,
          f.updateBytes <= floorLimit,
        )
      : row("update bytes ≤ 1.15× floor + 4 KiB", "n/a", "n/a", null),
  );
  const measured = [...f.peers].filter(([, o]) => !isNa(o));
  const missing = [...f.peers].filter(([, o]) => isNa(o)).map(([name]) => name);
  const best = measured.reduce<[string, number] | null>(
    (acc, [name, o]) => (acc === null || bytesOf(o) < acc[1] ? [name, bytesOf(o)] : acc),
    null,
  );
  rows.push(
    best === null || !finite(f.updateBytes)
      ? row("update bytes below every peer", "n/a", "no peer measured", null)
      : row(
          "update bytes below every peer",
          `${int(f.updateBytes)} B`,
          `< ${best[0]} ${int(best[1])} B (smallest peer)${missing.length ? `; not measured: ${missing.join(", ")}` : ""}`,
          f.updateBytes < best[1],
        ),
  );
  const tar = bytesOf(f.tarZstd);
  rows.push(
    finite(tar, f.freshBytes)
      ? row(
          "fresh install bytes ≤ 1.05× tar | zstd -19 --long=27",
          `${int(f.freshBytes)} B (${x(f.freshBytes, tar)})`,
          `${int(1.05 * tar)} B`,
          f.freshBytes <= 1.05 * tar,
        )
      : row("fresh install bytes ≤ 1.05× tar | zstd -19 --long=27", "n/a", "n/a", null),
  );
  if (f.farHop) {
    const casync = bytesOf(f.peers.get("casync"));
    const zstdTar = bytesOf(f.peers.get("zstd tar"));
    rows.push(
      finite(casync, f.updateBytes)
        ? row(
            "far hop bytes ≤ 0.6× casync",
            `${int(f.updateBytes)} B (${x(f.updateBytes, casync)})`,
            `${int(0.6 * casync)} B`,
            f.updateBytes <= 0.6 * casync,
          )
        : row("far hop bytes ≤ 0.6× casync", "n/a", "casync not measured", null),
      finite(zstdTar, f.updateBytes)
        ? row(
            "far hop bytes ≤ 1.25× whole-tree zstd --patch-from",
            `${int(f.updateBytes)} B (${x(f.updateBytes, zstdTar)})`,
            `${int(1.25 * zstdTar)} B`,
            f.updateBytes <= 1.25 * zstdTar,
          )
        : row("far hop bytes ≤ 1.25× whole-tree zstd --patch-from", "n/a", "zstd tar not measured", null),
    );
  }
  rows.push(
    finite(f.updateSeconds, f.copyFsyncHashSeconds)
      ? row(
          "update time ≤ 2× (copy + fsync + SHA-256 of changed bytes)",
          `${s(f.updateSeconds)} (${x(f.updateSeconds, f.copyFsyncHashSeconds)})`,
          s(2 * f.copyFsyncHashSeconds),
          f.updateSeconds <= 2 * f.copyFsyncHashSeconds,
        )
      : row("update time ≤ 2× (copy + fsync + SHA-256 of changed bytes)", "n/a", "n/a", null),
    finite(f.freshSeconds, f.copySyncSeconds)
      ? row(
          "fresh install time ≤ 2× (cp -a + sync)",
          `${s(f.freshSeconds)} (${x(f.freshSeconds, f.copySyncSeconds)})`,
          s(2 * f.copySyncSeconds),
          f.freshSeconds <= 2 * f.copySyncSeconds,
        )
      : row("fresh install time ≤ 2× (cp -a + sync)", "n/a", "n/a", null),
    finite(f.coldPublishSeconds, f.casyncMakeSeconds)
      ? row(
          "cold publish time ≤ 2× casync make",
          `${s(f.coldPublishSeconds)} (${x(f.coldPublishSeconds, f.casyncMakeSeconds)})`,
          s(2 * f.casyncMakeSeconds),
          f.coldPublishSeconds <= 2 * f.casyncMakeSeconds,
        )
      : row("cold publish time ≤ 2× casync make", "n/a", "casync make not measured", null),
  );
  if (f.smallChange)
    rows.push(
      finite(f.republishSeconds, f.casyncMakeSeconds)
        ? row(
            "republish after a small change ≤ 1× casync make",
            `${s(f.republishSeconds)} (${x(f.republishSeconds, f.casyncMakeSeconds)})`,
            s(f.casyncMakeSeconds),
            f.republishSeconds <= f.casyncMakeSeconds,
          )
        : row("republish after a small change ≤ 1× casync make", "n/a", "casync make not measured", null),
    );
  return rows;
}
