// The root task's VM configuration: a JSON file listing VMs, or a single
// image given on the command line. Every error names the file and the field.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

export type ImageFormat = "elf" | "flat";

export interface VmSpec {
  name: string;
  /** Absolute path of the guest image. */
  image: string;
  format?: ImageFormat;
  /** Guest-physical load address of a flat image. */
  load?: number;
  entry?: number;
  memoryBytes: number;
  priority: number;
  /** SC quantum in virtual TSC ticks (instructions). */
  quantum: number;
  policy: "destroy";
  cmdline: string;
}

/** How exits travel to a VMM worker (DESIGN.md §7). */
export type Transport = "sab" | "piscina";
export const TRANSPORTS: readonly Transport[] = ["sab", "piscina"];

export interface MachineSpec {
  vms: VmSpec[];
  /** sab: a shared-memory channel with Atomics (default); piscina: one piscina task per exit. */
  transport: Transport;
  /** Host milliseconds a VMM may take for one exit. */
  exitDeadlineMs: number;
}

export const DEFAULTS = {
  memoryBytes: 16 * 1024 * 1024,
  priority: 1,
  quantum: 1_000_000,
  exitDeadlineMs: 10_000,
  flatLoad: 0x10_0000,
};

/** Largest guest RAM: IA-32 addresses 4 GiB; leave the top GiB for devices. */
const MAX_MEMORY = 3 * 1024 * 1024 * 1024;

export class ConfigError extends Error {}

type Json = Record<string, unknown>;

class Fields {
  constructor(
    readonly file: string,
    readonly path: string,
    readonly obj: Json,
  ) {}

  fail(key: string, what: string): never {
    throw new ConfigError(`${this.file}: ${this.path}${key}: ${what}`);
  }

  /** Rejects keys the schema does not know (a typo must not pass silently). */
  only(keys: readonly string[]): void {
    for (const k of Object.keys(this.obj))
      if (!keys.includes(k)) this.fail(k, `unknown field (known: ${keys.join(", ")})`);
  }

  string(key: string, required: boolean): string | undefined {
    const v = this.obj[key];
    if (v === undefined && !required) return undefined;
    if (typeof v !== "string" || v === "") this.fail(key, `expected a non-empty string, got ${show(v)}`);
    return v;
  }

  /** An integer, or a string in hex (0x...) or decimal. */
  int(key: string, min: number, max: number): number | undefined {
    const v = this.obj[key];
    if (v === undefined) return undefined;
    const n = typeof v === "string" && /^(0x[0-9a-f]+|\d+)$/i.test(v) ? Number(v) : v;
    if (typeof n !== "number" || !Number.isInteger(n)) this.fail(key, `expected an integer, got ${show(v)}`);
    if (n < min || n > max) this.fail(key, `${n} is outside ${min}..${max}`);
    return n;
  }
}

function show(v: unknown): string {
  return v === undefined ? "nothing" : JSON.stringify(v);
}

/** "16M", "512K", "1G" or a number of MiB. */
export function parseSize(v: unknown): number | null {
  if (typeof v === "number") return Number.isInteger(v) && v > 0 ? v * 1024 * 1024 : null;
  if (typeof v !== "string") return null;
  const m = /^(\d+)\s*([KMG])i?B?$/i.exec(v.trim());
  if (!m) return null;
  const unit = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2].toUpperCase() as "K" | "M" | "G"];
  return Number(m[1]) * unit;
}

function memory(f: Fields): number {
  if (f.obj.memory === undefined) return DEFAULTS.memoryBytes;
  const n = parseSize(f.obj.memory);
  if (n === null) f.fail("memory", `expected a size like "16M" or a number of MiB, got ${show(f.obj.memory)}`);
  if (n % 4096 !== 0 || n < 1024 * 1024 || n > MAX_MEMORY)
    f.fail("memory", `${n} bytes: must be 4 KiB-aligned, 1 MiB..3 GiB`);
  return n;
}

const VM_KEYS = [
  "name",
  "image",
  "format",
  "load",
  "entry",
  "memory",
  "priority",
  "quantum",
  "policy",
  "cmdline",
] as const;

function vmSpec(f: Fields, base: string, index: number): VmSpec {
  f.only(VM_KEYS);
  const format = f.string("format", false);
  if (format !== undefined && format !== "elf" && format !== "flat")
    f.fail("format", `expected "elf" or "flat", got ${show(format)}`);
  const policy = f.string("policy", false) ?? "destroy";
  if (policy !== "destroy") f.fail("policy", `expected "destroy" (the only policy so far), got ${show(policy)}`);
  return {
    name: f.string("name", false) ?? `vm${index}`,
    image: resolve(base, f.string("image", true) as string),
    format: format as ImageFormat | undefined,
    load: f.int("load", 0, 0xffff_ffff),
    entry: f.int("entry", 0, 0xffff_ffff),
    memoryBytes: memory(f),
    priority: f.int("priority", 1, 255) ?? DEFAULTS.priority,
    quantum: f.int("quantum", 1000, 1e9) ?? DEFAULTS.quantum,
    policy: "destroy",
    cmdline: f.string("cmdline", false) ?? "",
  };
}

/** Parses a machine config from JSON text; `file` names it in errors. */
export function parseConfig(text: string, file: string): MachineSpec {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new ConfigError(`${file}: expected a JSON object`);
  const top = new Fields(file, "", json as Json);
  top.only(["vms", "exitDeadlineMs", "transport"]);
  const transport = top.string("transport", false) ?? "sab";
  if (!TRANSPORTS.includes(transport as Transport))
    top.fail("transport", `expected "sab" or "piscina", got ${show(transport)}`);
  const vms = top.obj.vms;
  if (!Array.isArray(vms) || vms.length === 0)
    return top.fail("vms", `expected a non-empty array of VMs, got ${show(vms)}`);
  const base = dirname(resolve(file));
  const specs = (vms as unknown[]).map((vm, i) => {
    if (typeof vm !== "object" || vm === null || Array.isArray(vm)) top.fail(`vms[${i}]`, "expected an object");
    return vmSpec(new Fields(file, `vms[${i}].`, vm as Json), base, i);
  });
  const names = new Set<string>();
  for (const [i, s] of specs.entries()) {
    if (names.has(s.name)) top.fail(`vms[${i}].name`, `duplicate VM name ${show(s.name)}`);
    names.add(s.name);
  }
  return {
    vms: specs,
    transport: transport as Transport,
    exitDeadlineMs: top.int("exitDeadlineMs", 1, 3_600_000) ?? DEFAULTS.exitDeadlineMs,
  };
}

export function loadConfig(file: string): MachineSpec {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(`${file}: cannot read config: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseConfig(text, file);
}
