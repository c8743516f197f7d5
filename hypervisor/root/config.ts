// The root task's VM configuration: a JSON file listing VMs, or a single
// image given on the command line. Every error names the file and the field.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

export type ImageFormat = "elf" | "flat";

/** A Multiboot module: a file and the string the guest sees with it. */
export interface ModuleSpec {
  /** Absolute path. */
  path: string;
  cmdline: string;
}

export interface VmSpec {
  name: string;
  /** Absolute path of the guest image (ELF or flat); absent when `kernel` is given. */
  image?: string;
  /** Absolute path of a Linux bzImage, booted with the Linux boot protocol instead of `image`. */
  kernel?: string;
  /** Absolute path of the Linux initrd (with `kernel`). */
  initrd?: string;
  /** Multiboot modules (with `image`). */
  modules?: ModuleSpec[];
  /** Absolute path of a firmware ROM image: mapped below 4 GiB, the vCPU starts in the reset state (image.ts). */
  firmware?: string;
  format?: ImageFormat;
  /** Guest-physical load address of a flat image. */
  load?: number;
  entry?: number;
  memoryBytes: number;
  priority: number;
  /** SC quantum in virtual TSC ticks (instructions). */
  quantum: number;
  /** What a VMM fault does to this VM (DESIGN.md §6). */
  policy: Policy;
  cmdline: string;
  /** File that receives the VM's console output (absolute path), if any. */
  log?: string;
  /** Where the device models run (default split): see Placement. */
  placement?: Placement;
  /** Stop the VM after this many instructions (its virtual TSC), as `moat run --max-instructions` asks. */
  maxInstructions?: number;
}

/**
 * Where a VM's device models run (issue 6): split, every model in the VMM
 * worker; irqchip, the 8259A pair, the 8254 and interrupt delivery in the
 * hypervisor thread (hypervisor/in-kernel/, as KVM's in-kernel irqchip);
 * monolithic, the whole VMM in the hypervisor thread, no isolation.
 */
export type Placement = "split" | "irqchip" | "monolithic";
export const PLACEMENTS: readonly Placement[] = ["split", "irqchip", "monolithic"];

/**
 * destroy: the VM stops, the others go on; reset: the guest reboots with a
 * fresh VMM; restart: a fresh VMM restores the last device-state checkpoint
 * and the exit whose reply was lost is delivered again (VMM microreboot).
 */
export type Policy = "destroy" | "reset" | "restart";
export const POLICIES: readonly Policy[] = ["destroy", "reset", "restart"];

/** How exits travel to a VMM worker (DESIGN.md §7). */
export type Transport = "sab" | "piscina";
export const TRANSPORTS: readonly Transport[] = ["sab", "piscina"];

export interface MachineSpec {
  vms: VmSpec[];
  /** sab: a shared-memory channel with Atomics (default); piscina: one piscina task per exit. */
  transport: Transport;
  /** Host milliseconds a VMM may take for one exit. */
  exitDeadlineMs: number;
  /** Host milliseconds a fresh VMM worker may take for its first exit (thread start included). */
  bootDeadlineMs?: number;
  /** Heap limit of each VMM worker in MiB: a VMM that leaks dies alone. */
  vmmHeapMb?: number;
  /** VMM workers started in advance per VM with policy restart or reset, so that recovery need not wait for one to boot. */
  standbyVmms?: number;
  /** VMMs commit the fault orders the injector attaches to exits (campaigns, `moat run --control`). */
  faultHooks?: boolean;
  /** Virtual time follows the host clock while a vCPU halts (interactive use, DESIGN.md §5). */
  realtime?: boolean;
}

export const DEFAULTS = {
  memoryBytes: 16 * 1024 * 1024,
  /** A Linux kernel needs room for itself (init_size from its runtime start, 16 MiB for ours) and the initrd. */
  linuxMemoryBytes: 64 * 1024 * 1024,
  priority: 1,
  quantum: 1_000_000,
  exitDeadlineMs: 10_000,
  bootDeadlineMs: 60_000,
  vmmHeapMb: 256,
  standbyVmms: 1,
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
  if (f.obj.memory === undefined) return f.obj.kernel === undefined ? DEFAULTS.memoryBytes : DEFAULTS.linuxMemoryBytes;
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
  "log",
  "kernel",
  "initrd",
  "modules",
  "firmware",
  "placement",
] as const;

function vmSpec(f: Fields, base: string, index: number): VmSpec {
  f.only(VM_KEYS);
  const format = f.string("format", false);
  if (format !== undefined && format !== "elf" && format !== "flat")
    f.fail("format", `expected "elf" or "flat", got ${show(format)}`);
  const policy = f.string("policy", false) ?? "destroy";
  if (!POLICIES.includes(policy as Policy))
    f.fail("policy", `expected "destroy", "reset" or "restart", got ${show(policy)}`);
  const log = f.string("log", false);
  const placement = f.string("placement", false) ?? "split";
  if (!PLACEMENTS.includes(placement as Placement))
    f.fail("placement", `expected "split", "irqchip" or "monolithic", got ${show(placement)}`);
  return {
    name: f.string("name", false) ?? `vm${index}`,
    ...bootFiles(f, base),
    format: format as ImageFormat | undefined,
    load: f.int("load", 0, 0xffff_ffff),
    entry: f.int("entry", 0, 0xffff_ffff),
    memoryBytes: memory(f),
    priority: f.int("priority", 1, 255) ?? DEFAULTS.priority,
    quantum: f.int("quantum", 1000, 1e9) ?? DEFAULTS.quantum,
    policy: policy as Policy,
    cmdline: f.string("cmdline", false) ?? "",
    ...(log === undefined ? {} : { log: resolve(base, log) }),
    placement: placement as Placement,
  };
}

/**
 * What the VM boots: `image` (ELF or flat, with optional Multiboot
 * `modules`), or `kernel` (a Linux bzImage, with an optional `initrd`).
 */
function bootFiles(f: Fields, base: string): Pick<VmSpec, "image" | "kernel" | "initrd" | "modules" | "firmware"> {
  const firmware = f.string("firmware", false);
  if (firmware !== undefined) return { firmware: firmwareOnly(f, resolve(base, firmware)) };
  const kernel = f.string("kernel", false);
  if (kernel === undefined) {
    if (f.obj.initrd !== undefined) f.fail("initrd", "needs a Linux kernel (field kernel)");
    const image = resolve(base, f.string("image", true) as string);
    return f.obj.modules === undefined ? { image } : { image, modules: moduleSpecs(f, base) };
  }
  if (f.obj.image !== undefined) f.fail("image", "give either image (ELF or flat) or kernel (Linux bzImage), not both");
  if (f.obj.modules !== undefined) f.fail("modules", "Multiboot modules go with image; a Linux kernel takes initrd");
  for (const k of ["format", "load", "entry"]) {
    if (f.obj[k] !== undefined) f.fail(k, "applies to image, not to a Linux kernel");
  }
  const initrd = f.string("initrd", false);
  return { kernel: resolve(base, kernel), ...(initrd === undefined ? {} : { initrd: resolve(base, initrd) }) };
}

/** `firmware` boots alone: the ROM is the first code the vCPU runs (SDM Vol. 3A §9.1.4). */
function firmwareOnly(f: Fields, path: string): string {
  for (const k of ["image", "kernel", "initrd", "modules", "format", "load", "entry", "cmdline"]) {
    if (f.obj[k] !== undefined) f.fail(k, "does not apply to a VM that boots from firmware (field firmware)");
  }
  return path;
}

/** modules: an array of paths or {path, cmdline}; a bare path's string is the path as written. */
function moduleSpecs(f: Fields, base: string): ModuleSpec[] {
  const list = f.obj.modules;
  if (!Array.isArray(list))
    return f.fail("modules", `expected an array of paths or {path, cmdline}, got ${show(list)}`);
  return list.map((m, i) => {
    if (typeof m === "string" && m !== "") return { path: resolve(base, m), cmdline: m };
    if (typeof m !== "object" || m === null || Array.isArray(m)) {
      return f.fail(`modules[${i}]`, `expected a path or {path, cmdline}, got ${show(m)}`);
    }
    const mf = new Fields(f.file, `${f.path}modules[${i}].`, m as Json);
    mf.only(["path", "cmdline"]);
    const path = mf.string("path", true) as string;
    const cmdline = mf.obj.cmdline === undefined ? path : mf.obj.cmdline;
    if (typeof cmdline !== "string") mf.fail("cmdline", `expected a string, got ${show(cmdline)}`);
    return { path: resolve(base, path), cmdline: cmdline as string };
  });
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
  top.only(["vms", "exitDeadlineMs", "bootDeadlineMs", "vmmHeapMb", "standbyVmms", "transport", "realtime"]);
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
    bootDeadlineMs: top.int("bootDeadlineMs", 1, 3_600_000) ?? DEFAULTS.bootDeadlineMs,
    vmmHeapMb: top.int("vmmHeapMb", 16, 16_384) ?? DEFAULTS.vmmHeapMb,
    standbyVmms: top.int("standbyVmms", 0, 16) ?? DEFAULTS.standbyVmms,
    realtime: realtimeField(top),
  };
}

function realtimeField(top: Fields): boolean {
  const v = top.obj.realtime;
  if (v !== undefined && typeof v !== "boolean") top.fail("realtime", `expected true or false, got ${show(v)}`);
  return v === true;
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
