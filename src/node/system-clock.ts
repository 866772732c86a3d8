import { setTimeout as delay } from "node:timers/promises";
import { FerryError } from "../core/errors.js";
import type { Clock } from "../ports/clock.js";

export const systemClock: Clock = {
  now: () => new Date(),
  async sleep(ms, signal) {
    try {
      await delay(ms, undefined, signal ? { signal } : {});
    } catch (cause) {
      throw new FerryError("E_ABORTED", "The operation was cancelled.", {}, { cause });
    }
  },
};
