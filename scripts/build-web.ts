/**
 * Builds the browser runtime (docs/WEB.md) from the TypeScript sources with esbuild:
 *
 * - dist/web/ferry-web.js: the ESM module a page imports (`createFerry`, `registerServiceWorker`,
 *   `bootDemo`);
 * - dist/web/ferry-sw.js: the service worker (one classic script: module workers are not everywhere).
 *
 * The brotli decoder's WebAssembly is inlined (no second request; a service worker can start offline).
 * Usage: `npm run build:web` (after `npm run build`: runs dist/scripts/build-web.js). Tests call
 * `buildWeb()` themselves.
 */
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type BuildOptions, type Plugin } from "esbuild";

export interface WebBuild {
  readonly module: string;
  readonly worker: string;
}

/** The checkout: two folders above this file, as source (scripts/) or compiled (dist/scripts/). */
function checkout(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.endsWith(join("dist", "scripts")) ? resolve(here, "..", "..") : resolve(here, "..");
}

/** brotli-wasm's web build, which its package exports do not name (src/browser/brotli-wasm.d.ts). */
function brotliWasm(root: string): Plugin {
  const require = createRequire(join(root, "package.json"));
  const pkg = dirname(require.resolve("brotli-wasm")); // index.node.js, at the package root
  return {
    name: "ferry-brotli-wasm",
    setup(b) {
      b.onResolve({ filter: /^ferry:brotli-wasm$/ }, () => ({
        path: join(pkg, "pkg.web", "brotli_wasm.js"),
      }));
      b.onResolve({ filter: /^ferry:brotli-wasm-binary$/ }, () => ({
        path: join(pkg, "pkg.web", "brotli_wasm_bg.wasm"),
      }));
    },
  };
}

export async function buildWeb(options: { root?: string; outDir?: string } = {}): Promise<WebBuild> {
  const root = options.root ?? checkout();
  const outDir = options.outDir ?? join(root, "dist", "web");
  const common: BuildOptions = {
    bundle: true,
    platform: "browser",
    target: ["chrome113", "firefox115", "safari17"],
    loader: { ".wasm": "binary" },
    plugins: [brotliWasm(root)],
    sourcemap: true,
    legalComments: "inline",
    logLevel: "warning",
    absWorkingDir: root,
  };
  const module = join(outDir, "ferry-web.js");
  const worker = join(outDir, "ferry-sw.js");
  await build({
    ...common,
    entryPoints: [join(root, "src", "web", "index.ts")],
    format: "esm",
    outfile: module,
  });
  await build({
    ...common,
    entryPoints: [join(root, "src", "web", "sw.ts")],
    format: "iife",
    outfile: worker,
  });
  return { module, worker };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const built = await buildWeb();
  process.stdout.write(`${built.module}\n${built.worker}\n`);
}
