/**
 * Release version order, docs/FORMAT.md §6: SemVer 2.0 precedence generalised to any number of
 * dot-separated parts. Build metadata (after `+`) is ignored; a pre-release (after the first `-`) sorts
 * before its release; numeric identifiers compare as numbers and below alphanumeric ones; missing
 * trailing parts count as 0 ("1.2" == "1.2.0").
 */
export function compareVersions(a: string, b: string): number {
  const [mainA, preA] = split(a);
  const [mainB, preB] = split(b);
  const main = compareIdentifiers(mainA, mainB, "0");
  if (main !== 0) return main;
  if (preA === undefined || preB === undefined) return preA === preB ? 0 : preA === undefined ? 1 : -1;
  return compareIdentifiers(preA, preB, undefined);
}

function split(version: string): [string[], string[] | undefined] {
  const noBuild = version.split("+", 1)[0] ?? "";
  const dash = noBuild.indexOf("-");
  const main = dash < 0 ? noBuild : noBuild.slice(0, dash);
  return [main.split("."), dash < 0 ? undefined : noBuild.slice(dash + 1).split(".")];
}

function compareIdentifiers(a: readonly string[], b: readonly string[], pad: string | undefined): number {
  const length = Math.max(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a[i] ?? pad;
    const y = b[i] ?? pad;
    // Only pre-releases run out of parts: the shorter list sorts first (SemVer §11.4.4).
    if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? -1 : 1;
    const c = compareIdentifier(x, y);
    if (c !== 0) return c;
  }
  return 0;
}

const NUMERIC = /^\d+$/;

function compareIdentifier(x: string, y: string): number {
  const xn = NUMERIC.test(x);
  const yn = NUMERIC.test(y);
  if (xn && yn) {
    const bx = BigInt(x);
    const by = BigInt(y);
    return bx === by ? 0 : bx < by ? -1 : 1;
  }
  if (xn !== yn) return xn ? -1 : 1;
  return x === y ? 0 : x < y ? -1 : 1;
}
