import { FerryError } from "./errors.js";

/**
 * Typed field access on untrusted JSON. Every failure is E_FORMAT naming the document and field,
 * so a corrupt or hostile document is reported precisely and never half-trusted.
 */
export class JsonReader {
  constructor(
    readonly document: string,
    private readonly value: unknown,
    private readonly where = "",
  ) {}

  private fail(field: string, expected: string): never {
    const at = this.where + field;
    throw new FerryError(
      "E_FORMAT",
      `${this.document} is malformed: ${at || "(root)"} should be ${expected}. The file is corrupt or was written by an incompatible tool.`,
      { document: this.document, field: at },
    );
  }

  private raw(field: string): unknown {
    if (typeof this.value !== "object" || this.value === null || Array.isArray(this.value)) {
      this.fail("", "an object");
    }
    return (this.value as Record<string, unknown>)[field];
  }

  has(field: string): boolean {
    return this.raw(field) !== undefined;
  }

  string(field: string, pattern?: RegExp): string {
    const v = this.raw(field);
    if (typeof v !== "string" || (pattern !== undefined && !pattern.test(v))) {
      this.fail(field, pattern ? `a string matching ${pattern}` : "a string");
    }
    return v;
  }

  integer(field: string, min = 0): number {
    const v = this.raw(field);
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min)
      this.fail(field, `an integer >= ${min}`);
    return v;
  }

  boolean(field: string): boolean {
    const v = this.raw(field);
    if (typeof v !== "boolean") this.fail(field, "true or false");
    return v;
  }

  object(field: string): JsonReader {
    const v = this.raw(field);
    if (typeof v !== "object" || v === null || Array.isArray(v)) this.fail(field, "an object");
    return new JsonReader(this.document, v, `${this.where}${field}.`);
  }

  optionalObject(field: string): JsonReader | undefined {
    const v = this.raw(field);
    return v === undefined || v === null ? undefined : this.object(field);
  }

  array(field: string): unknown[] {
    const v = this.raw(field);
    if (!Array.isArray(v)) this.fail(field, "an array");
    return v;
  }

  objects(field: string): JsonReader[] {
    return this.array(field).map((item, i) => {
      if (typeof item !== "object" || item === null || Array.isArray(item))
        this.fail(`${field}[${i}]`, "an object");
      return new JsonReader(this.document, item, `${this.where}${field}[${i}].`);
    });
  }

  /** Entries of an object-valued field whose values are objects. */
  entries(field: string): [string, JsonReader][] {
    const inner = this.object(field);
    return Object.keys(inner.value as object).map((key) => [key, inner.object(key)]);
  }
}

export function parseJson(document: string, bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new FerryError(
      "E_FORMAT",
      `${document} is not valid UTF-8 JSON (${(cause as Error).message}). The file is corrupt or not a Ferry file.`,
      { document },
      { cause },
    );
  }
}

/** Checks `format` and `requires` (docs/FORMAT.md, preamble). */
export function checkFormatHeader(
  reader: JsonReader,
  type: string,
  supportedFeatures: readonly string[] = [],
): void {
  const format = reader.integer("format", 0);
  if (format !== 1) {
    throw new FerryError(
      "E_UNSUPPORTED_FORMAT",
      `${reader.document} has format ${format}; this Ferry reads format 1. Update Ferry to read it.`,
      { document: reader.document, format },
    );
  }
  reader.string("type", new RegExp(`^${type}$`));
  if (reader.has("requires")) {
    for (const feature of reader.array("requires")) {
      if (typeof feature !== "string" || !supportedFeatures.includes(feature)) {
        throw new FerryError(
          "E_UNSUPPORTED_FORMAT",
          `${reader.document} requires the feature ${JSON.stringify(feature)}, which this Ferry does not implement. Update Ferry.`,
          { document: reader.document, feature: String(feature) },
        );
      }
    }
  }
}
