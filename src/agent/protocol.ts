/**
 * The agent protocol's messages (docs/AGENT.md): request parsing, parameter validation and the error
 * body every transport sends. Version 1: a change an older engine module could misread gets a new one.
 */
import { FerryError, isFerryError } from "../core/errors.js";

export const PROTOCOL_VERSION = 1;

/** The longest request line (stdio) or body (HTTP) the agent reads: 1 MiB. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

export type RequestId = string | number;
export type Params = Readonly<Record<string, unknown>>;

export interface Request {
  readonly id: RequestId;
  readonly method: string;
  readonly params: Params;
}

export interface ErrorBody {
  readonly code: string;
  readonly message: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** A parse failure of one message: E_PROTOCOL, with the request's id when one could be read. */
export class ProtocolError extends FerryError {
  constructor(
    message: string,
    readonly requestId: RequestId | null,
  ) {
    super("E_PROTOCOL", message, { id: requestId });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * One request from its JSON text. `needId`: stdio requests need an `id` (a string or a finite number);
 * HTTP requests are answered on their own connection and need none.
 */
export function parseRequest(text: string, where: string, needId: boolean): Request {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ProtocolError(
      `${where} is not JSON (${(error as Error).message}): send one JSON object {"id", "method", "params"} per message.`,
      null,
    );
  }
  if (!isObject(value))
    throw new ProtocolError(`${where} is JSON but not an object: send {"id", "method", "params"}.`, null);
  const rawId = value.id;
  const id: RequestId | null =
    typeof rawId === "string" || (typeof rawId === "number" && Number.isFinite(rawId)) ? rawId : null;
  if (needId && id === null)
    throw new ProtocolError(`${where} has no "id" (a string or a number): every request needs one.`, null);
  if (typeof value.method !== "string" || value.method === "")
    throw new ProtocolError(`${where} has no string "method".`, id);
  const params = value.params;
  if (params !== undefined && params !== null && !isObject(params))
    throw new ProtocolError(`${where}: "params" of ${value.method} must be an object.`, id);
  return { id: id ?? 0, method: value.method, params: isObject(params) ? params : {} };
}

/**
 * A message as JSON text. Fields the library leaves undefined (speed and ETA before they can be
 * measured, an absent error) are written as null, so every message of a type has the same keys.
 */
export function encode(message: unknown): string {
  return JSON.stringify(message, (_key, value: unknown) => (value === undefined ? null : value));
}

/** The error body of every transport: the FerryError's code, message and data; E_INTERNAL for others. */
export function errorBody(error: unknown): ErrorBody {
  if (isFerryError(error)) return { code: error.code, message: error.message, data: { ...error.data } };
  return {
    code: "E_INTERNAL",
    message: `Unexpected agent error: ${error instanceof Error ? error.message : String(error)}. Please report it with the agent's stderr.`,
    data: {},
  };
}

function bad(method: string, name: string, what: string): FerryError {
  return new FerryError("E_USAGE", `${method}: parameter "${name}" must be ${what}.`, {
    method,
    param: name,
  });
}

/** Typed reads of one request's params; each wrong type is E_USAGE naming the method and parameter. */
export class ParamReader {
  constructor(
    private readonly method: string,
    private readonly params: Params,
    allowed: readonly string[],
  ) {
    for (const name of Object.keys(params))
      if (!allowed.includes(name))
        throw new FerryError(
          "E_USAGE",
          `${method} takes no parameter "${name}"${allowed.length > 0 ? ` (it takes ${allowed.join(", ")})` : ""}.`,
          { method, param: name },
        );
  }

  bool(name: string): boolean | undefined {
    const v = this.params[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "boolean") throw bad(this.method, name, "true or false");
    return v;
  }

  string(name: string): string | undefined {
    const v = this.params[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string" || v === "") throw bad(this.method, name, "a non-empty string");
    return v;
  }

  needString(name: string): string {
    const v = this.string(name);
    if (v === undefined) throw bad(this.method, name, "given (a non-empty string)");
    return v;
  }

  number(name: string, min = 0): number | undefined {
    const v = this.params[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v) || v < min)
      throw bad(this.method, name, `a number >= ${min}`);
    return v;
  }

  integer(name: string): number {
    const v = this.params[name];
    if (typeof v !== "number" || !Number.isInteger(v)) throw bad(this.method, name, "an integer");
    return v;
  }

  strings(name: string): string[] | undefined {
    const v = this.params[name];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some((s) => typeof s !== "string" || s === ""))
      throw bad(this.method, name, "a list of non-empty strings");
    return v as string[];
  }

  /** Ren'Py's simulate modes; "not_available" (Ren'Py's spelling) and "not-available" are the same. */
  simulate(): "available" | "not-available" | "error" | undefined {
    const v = this.params.simulate;
    if (v === undefined || v === null) return undefined;
    if (v === "available" || v === "error") return v;
    if (v === "not_available" || v === "not-available") return "not-available";
    throw bad(this.method, "simulate", '"available", "not_available" or "error"');
  }
}
