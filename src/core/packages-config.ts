import { FerryError } from "./errors.js";
import { compileGlob, type Glob } from "./glob.js";
import { checkFormatHeader, JsonReader } from "./json-reader.js";

/** The build directory's package rules file (docs/PACKAGES.md); never published itself. */
export const PACKAGES_CONFIG_FILE = "ferry-packages.json";
export const DEFAULT_PACKAGE = "base";
export const PACKAGE_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export interface PackageRules {
  readonly packages: Readonly<Record<string, { readonly optional: boolean }>>;
  /** In file order: the first rule whose glob matches a path names its package. */
  readonly rules: readonly { readonly match: string; readonly package: string; readonly glob: Glob }[];
}

/** No config file: every file is in `base`, which is not optional. */
export const DEFAULT_RULES: PackageRules = {
  packages: { [DEFAULT_PACKAGE]: { optional: false } },
  rules: [],
};

/**
 * Parses `ferry-packages.json`:
 * `{"format":1,"type":"ferry-packages","packages":{"hd":{"optional":true}},"rules":[{"match":"hd/**","package":"hd"}]}`.
 * Every package a rule names must be declared (a typo would otherwise create a package silently);
 * `base` is implicitly declared, non-optional, unless the file declares it.
 */
export function parsePackageRules(json: unknown, document: string): PackageRules {
  const r = new JsonReader(document, json);
  checkFormatHeader(r, "ferry-packages");
  const packages: Record<string, { optional: boolean }> = { [DEFAULT_PACKAGE]: { optional: false } };
  for (const [name, p] of r.entries("packages")) {
    if (!PACKAGE_NAME_PATTERN.test(name))
      throw usage(document, `package name ${JSON.stringify(name)} (use a-z 0-9 . _ -, at most 64)`);
    packages[name] = { optional: p.boolean("optional") };
  }
  const rules = r.objects("rules").map((rule, i) => {
    const match = rule.string("match");
    const name = rule.string("package");
    if (!Object.hasOwn(packages, name))
      throw usage(document, `rules[${i}]: package ${JSON.stringify(name)} is not declared under "packages"`);
    return { match, package: name, glob: compileGlob(match) };
  });
  return { packages, rules };
}

/** The package of a release path: the first matching rule's, else `base`. */
export function packageOf(rules: PackageRules, path: string): string {
  for (const rule of rules.rules) if (rule.glob(path)) return rule.package;
  return DEFAULT_PACKAGE;
}

/**
 * The manifest's `packages`: `base` always (older clients expect it), plus every declared package that
 * received at least one file. A declared package without files is left out: a client cannot install it.
 */
export function usedPackages(
  rules: PackageRules,
  assigned: Iterable<string>,
): Record<string, { optional: boolean }> {
  const used = new Set(assigned);
  const out: Record<string, { optional: boolean }> = {};
  for (const [name, p] of Object.entries(rules.packages).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (name === DEFAULT_PACKAGE || used.has(name)) out[name] = { optional: p.optional };
  }
  return out;
}

function usage(document: string, what: string): FerryError {
  return new FerryError("E_USAGE", `${document} is invalid: ${what}.`, { document });
}
