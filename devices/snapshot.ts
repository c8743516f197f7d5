// Device state checkpoints: a crashed VMM is restarted from the last one
// (DESIGN.md §6, policy `restart`). save() returns plain data that survives
// structured clone (numbers, booleans, strings, arrays, typed arrays);
// restore() takes data that may come from anywhere, so it validates every
// field and throws a SnapshotError naming the device and field.

export interface Snapshotting {
  /** The device's complete state as structured-clone-able data. */
  save(): unknown;
  /** Replaces the device's state with `state`; throws SnapshotError (state unchanged) if it is not valid. */
  restore(state: unknown): void;
}

export class SnapshotError extends Error {
  override name = "SnapshotError";
}

/**
 * Reads one device's snapshot with checks. Every snapshot is an object
 * `{ kind, version, ... }`; the reader checks kind and version first.
 * Devices read all fields into locals before assigning any, so a bad
 * snapshot leaves the device as it was.
 */
export class SnapshotReader {
  private readonly obj: Record<string, unknown>;

  constructor(
    state: unknown,
    private readonly kind: string,
    version: number,
  ) {
    if (typeof state !== "object" || state === null || Array.isArray(state)) {
      throw new SnapshotError(`${kind} snapshot: expected an object, got ${describe(state)}`);
    }
    this.obj = state as Record<string, unknown>;
    if (this.obj.kind !== kind) throw new SnapshotError(`${kind} snapshot: kind is ${describe(this.obj.kind)}`);
    if (this.obj.version !== version) {
      throw new SnapshotError(`${kind} snapshot: version ${describe(this.obj.version)}, expected ${version}`);
    }
  }

  /** An integer in [min, max]. */
  int(key: string, min: number, max: number): number {
    const v = this.obj[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      throw this.bad(key, `an integer in [${min}, ${max}]`, v);
    }
    return v;
  }

  /** One of `values`. */
  oneOf(key: string, values: readonly number[]): number {
    const v = this.obj[key];
    if (typeof v !== "number" || !values.includes(v)) throw this.bad(key, `one of ${values.join(", ")}`, v);
    return v;
  }

  /** An unsigned integer of `bits` bits (<= 32). */
  uint(key: string, bits: number): number {
    return this.int(key, 0, bits >= 32 ? 0xffff_ffff : 2 ** bits - 1);
  }

  /** A non-negative safe integer: a virtual TSC value or a counter. */
  count(key: string): number {
    return this.int(key, 0, Number.MAX_SAFE_INTEGER);
  }

  bool(key: string): boolean {
    const v = this.obj[key];
    if (typeof v !== "boolean") throw this.bad(key, "a boolean", v);
    return v;
  }

  /** A Uint8Array of exactly `length` bytes (a copy). */
  bytes(key: string, length: number): Uint8Array {
    const v = this.obj[key];
    if (!(v instanceof Uint8Array) || v.length !== length) throw this.bad(key, `a Uint8Array of ${length} bytes`, v);
    return v.slice();
  }

  /** A Uint32Array of exactly `length` words (a copy). */
  words(key: string, length: number): Uint32Array {
    const v = this.obj[key];
    if (!(v instanceof Uint32Array) || v.length !== length) throw this.bad(key, `a Uint32Array of ${length} words`, v);
    return v.slice();
  }

  /** An array of exactly `length` nested snapshots of `kind` (e.g. the PIT's three counters). */
  children(key: string, length: number, kind: string, version: number): SnapshotReader[] {
    const v = this.obj[key];
    if (!Array.isArray(v) || v.length !== length) throw this.bad(key, `an array of ${length} ${kind} snapshots`, v);
    return v.map((item) => new SnapshotReader(item, kind, version));
  }

  /** An array of at most `maxLength` integers in [0, max] (a queue's contents). */
  list(key: string, maxLength: number, max: number): number[] {
    const v = this.obj[key];
    if (!Array.isArray(v) || v.length > maxLength || !v.every((x) => Number.isInteger(x) && x >= 0 && x <= max)) {
      throw this.bad(key, `an array of at most ${maxLength} integers in [0, ${max}]`, v);
    }
    return v.slice();
  }

  /** An error for a check the reader cannot express (fields that disagree). */
  fail(message: string): SnapshotError {
    return new SnapshotError(`${this.kind} snapshot: ${message}`);
  }

  /** A field's raw value, for a nested part that validates itself (Snapshotting.restore). */
  raw(key: string): unknown {
    return this.obj[key];
  }

  /** A nested snapshot object (for a device made of parts, e.g. the two PICs). */
  child(key: string, kind: string, version: number): SnapshotReader {
    return new SnapshotReader(this.obj[key], kind, version);
  }

  private bad(key: string, expected: string, got: unknown): SnapshotError {
    return new SnapshotError(`${this.kind} snapshot: field ${key} must be ${expected}, got ${describe(got)}`);
  }
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (v instanceof Uint8Array || v instanceof Uint32Array) return `${v.constructor.name}(${v.length})`;
  if (Array.isArray(v)) return `array(${v.length})`;
  if (typeof v === "object") return "object";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  return String(v);
}
