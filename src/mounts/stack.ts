import { FerryError } from "../core/errors.js";

/** Mount names: short, printable, usable as a file name and on a command line. */
export const MOUNT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface Stacked<L> {
  readonly name: string;
  readonly priority: number;
  readonly layer: L;
}

/**
 * The ordered set of mounts: unique names, unique priorities (two layers of equal priority would make
 * "which one wins" depend on insertion order, so it is an error), highest priority first.
 */
export class MountStack<L> {
  private mounts: Stacked<L>[] = [];

  /** Throws E_USAGE for a bad name or priority, E_MOUNT_CONFLICT for a taken name or priority. */
  check(name: string, priority: number): void {
    if (!MOUNT_NAME_PATTERN.test(name))
      throw new FerryError(
        "E_USAGE",
        `Mount name ${JSON.stringify(name)} is invalid: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.`,
        { name },
      );
    if (!Number.isSafeInteger(priority))
      throw new FerryError("E_USAGE", `Mount priority ${priority} for ${name} must be an integer.`, { name });
    for (const m of this.mounts) {
      if (m.name === name)
        throw new FerryError(
          "E_MOUNT_CONFLICT",
          `A mount named ${name} already exists (priority ${m.priority}). Remove it first or choose another name.`,
          { name, other: m.name },
        );
      if (m.priority === priority)
        throw new FerryError(
          "E_MOUNT_CONFLICT",
          `Mount ${name} has priority ${priority}, the same as mount ${m.name}; equal priorities are ambiguous. Choose another priority.`,
          { name, other: m.name, priority },
        );
    }
  }

  add(name: string, priority: number, layer: L): void {
    this.check(name, priority);
    this.mounts.push({ name, priority, layer });
    this.mounts.sort((a, b) => b.priority - a.priority);
  }

  /** Removes and returns the mount; E_NOT_FOUND when there is none of that name. */
  remove(name: string): Stacked<L> {
    const index = this.mounts.findIndex((m) => m.name === name);
    if (index < 0)
      throw new FerryError(
        "E_NOT_FOUND",
        `There is no mount named ${name}. 'ferry mount list' shows the mounts.`,
        {
          name,
        },
      );
    return this.mounts.splice(index, 1)[0]!;
  }

  /** Highest priority first. */
  list(): readonly Stacked<L>[] {
    return [...this.mounts];
  }

  /** The highest-priority mount for which `serves` holds, tried in order (lower ones are not asked). */
  async find<T>(
    serves: (layer: L) => Promise<T | undefined>,
  ): Promise<{ mount: Stacked<L>; value: T } | undefined> {
    for (const mount of this.mounts) {
      const value = await serves(mount.layer);
      if (value !== undefined) return { mount, value };
    }
    return undefined;
  }
}
