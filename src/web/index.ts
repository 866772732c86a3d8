/**
 * The browser entry (dist/web/ferry-web.js, ESM): the runtime (`createFerry`), the service-worker
 * registration, and the demo page's boot (`bootDemo`, used by `ferry web-demo`). docs/WEB.md.
 */
import { VIEW_JS } from "../ui/view.js";
import { createFerry, type FerryWeb, type FerryWebEvent, type FerryWebOptions } from "./runtime.js";
import type { TrustJson } from "./trust-json.js";

export { createFerry, FerryWeb } from "./runtime.js";
export type { CheckResult, FerryStatus, FerryWebEvent, FerryWebOptions, UpdateSummary } from "./runtime.js";
export { trustFromJson, trustToJson, type TrustJson } from "./trust-json.js";
export { ed25519Backend } from "../browser/web-crypto.js";
export { loadBrotli } from "../browser/wasm-brotli.js";

/** The storage name `createFerry` uses by default for a repository and channel. */
export function defaultApp(repoUrl: string, channel = "stable"): string {
  return `${repoUrl}#${channel}`;
}

/**
 * Registers the service worker for `app` at `scope` and waits until it controls this page (the worker
 * claims open pages on activation). Resolves false where there is no service worker (Firefox private
 * windows, a shift-reload, insecure origins): the runtime still installs, verifies and `read()`s files.
 */
export async function registerServiceWorker(
  app: string,
  scriptUrl = "/ferry-sw.js",
  scope = "/",
): Promise<boolean> {
  const container = navigator.serviceWorker;
  if (!container) return false;
  await container.register(`${scriptUrl}?app=${encodeURIComponent(app)}`, { scope });
  await container.ready;
  if (!container.controller) {
    // A shift-reload bypasses the worker for this page: it stays uncontrolled until a normal load.
    await Promise.race([
      new Promise((resolve) => container.addEventListener("controllerchange", resolve, { once: true })),
      new Promise((resolve) => setTimeout(resolve, 3000)),
    ]);
  }
  return container.controller !== null;
}

export interface DemoConfig {
  readonly repoUrl: string;
  readonly channel: string;
  readonly trust: TrustJson;
  readonly maxAttempts?: number;
}

interface ViewApi {
  initialModel(): unknown;
  reduce(model: unknown, message: unknown): unknown;
  mount(root: Element, options: { onAction(name: string): void }): { render(model: unknown): void };
}

/**
 * The demo page: registers the worker, creates the runtime, mounts the update screen (src/ui/view.ts)
 * driven by the runtime's events, and exposes the runtime as `window.ferry` (`window.ferryReady`,
 * `window.ferryReadyPromise`).
 */
export function bootDemo(config: DemoConfig, root: Element): Promise<FerryWeb> {
  const w = globalThis as unknown as {
    ferry?: FerryWeb;
    ferryReady?: boolean;
    ferryReadyPromise?: Promise<FerryWeb>;
    ferryBootError?: { code: string; message: string };
    FerryUpdateView?: ViewApi;
  };
  const ready = (async () => {
    const app = defaultApp(config.repoUrl, config.channel);
    const controlled = await registerServiceWorker(app).catch(() => false);
    const options: FerryWebOptions = {
      repoUrl: config.repoUrl,
      channel: config.channel,
      trust: config.trust,
      app,
      ...(config.maxAttempts === undefined ? {} : { maxAttempts: config.maxAttempts }),
    };
    const ferry = await createFerry(options);
    mountView(ferry, root, w);
    w.ferry = ferry;
    w.ferryReady = true;
    document.documentElement.dataset.ferryServiceWorker = String(controlled);
    return ferry;
  })();
  ready.catch((error: unknown) => {
    w.ferryBootError = {
      code: (error as { code?: string }).code ?? "E_INTERNAL",
      message: String((error as Error).message ?? error),
    };
  });
  w.ferryReadyPromise = ready;
  return ready;
}

function mountView(ferry: FerryWeb, root: Element, w: { FerryUpdateView?: ViewApi }): void {
  if (!w.FerryUpdateView) {
    const script = document.createElement("script");
    script.textContent = VIEW_JS;
    document.head.appendChild(script);
  }
  const view = w.FerryUpdateView;
  if (!view) return;
  let model = view.initialModel();
  const ui = view.mount(root, {
    onAction(name) {
      const ignore = () => undefined; // failures reach the screen as state events
      if (name === "check") ferry.check().catch(ignore);
      else if (name === "update") ferry.update().catch(ignore);
      else if (name === "pause") ferry.pause();
      else if (name === "resume") ferry.resume();
      else if (name === "cancel") ferry.cancel();
    },
  });
  const show = (message: unknown) => {
    model = view.reduce(model, message);
    ui.render(model);
  };
  ferry.on((event: FerryWebEvent) => {
    if (event.type !== "library" && event.type !== "collected" && event.type !== "collect-failed")
      show(event);
  });
  void ferry.status().then((status) => {
    if (status) show({ type: "installed", version: status.version, simulated: false });
    else ui.render(model);
  });
}
