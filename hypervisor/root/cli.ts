// The `moat` command line (root task). `moat run <image|config>` boots the
// VMs, streams their serial output, and reports how each ended.

import { closeSync, existsSync, openSync, statSync, writeSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { campaignCommand, describeFault, FAULT_USAGE, FaultUsageError, injectCommand } from "./campaign-cli.js";
import {
  ConfigError,
  DEFAULTS,
  loadConfig,
  type MachineSpec,
  PLACEMENTS,
  type Placement,
  parseSize,
  TRANSPORTS,
  type Transport,
  type VmSpec,
} from "./config.js";
import { ControlServer } from "./control-socket.js";
import { ImageError } from "./image.js";
import { Machine, type VmResult } from "./machine.js";
import { formatStats } from "./stats.js";

const USAGE = `usage: moat run <image.elf|image.bin|config.json> [options]
       moat run --kernel <bzImage> [--initrd <file>] [--append <cmdline>] [options]
       moat run --firmware <rom.bin> [options]   boot a firmware ROM from the reset vector
       moat tcb [--json]   source lines each component trusts (DESIGN.md §1)
       moat conformance singlestep <dir> [--filter OPCODE] [--limit N]
                           run a SingleStepTests directory (MOO files) on the processor
  --stats            print exits per reason for each VM at the end (like kvm_stat)
  --format elf|flat  image format (default: by ELF magic; .bin means flat)
  --load ADDR        load address of a flat image (default 0x100000)
  --memory SIZE      guest RAM, e.g. 16M (default 16M; 64M with --kernel)
  --kernel FILE      boot a Linux bzImage (32-bit boot protocol) instead of an image
  --initrd FILE      the Linux initial ramdisk
  --firmware FILE    a ROM image (64/128/192/256 KiB) mapped below 4 GiB; the vCPU starts at the reset vector
  --append TEXT      the kernel (or Multiboot) command line
  --module FILE      a Multiboot module for the image (repeatable; its string is FILE)
  --placement split|irqchip|monolithic  where every VM's device models run: all in
                     the VMM worker (default); the 8259A, 8254 and interrupt delivery in
                     the hypervisor (as KVM's in-kernel irqchip); or the whole VMM in the
                     hypervisor thread (no isolation)
  --transport sab|piscina  how exits reach the VMM worker: a shared-memory
                     channel (default) or one piscina task per exit
  --quiet            do not stream guest output
  --prefix           prefix each line of guest output with its VM's name (default with several VMs)
  --control SOCKET   serve the control socket (moat inject) and let VMMs commit injected faults
  --console NAME     the VM that gets console input (default: the only VM)
  --realtime         virtual time follows the host clock while a vCPU halts (interactive use)
  --record FILE      log console input as JSON lines {vm, tsc, bytes (base64)} (no replay yet)
  --max-instructions N  stop each VM once it has run N instructions (its virtual TSC)
Console input: stdin (a terminal in raw mode, or a pipe) goes to COM1 of the
console VM; while it is open a halted VM waits for input. In a terminal,
Ctrl-] ends moat, as a serial console's escape does.
${FAULT_USAGE}`;

class UsageError extends Error {}

type RunValues = Record<string, string | boolean | string[] | undefined>;

/** `--kernel` (Linux) or one image (with optional Multiboot modules) from the command line. */
function bootFromArgs(
  path: string | undefined,
  v: RunValues,
): Pick<VmSpec, "image" | "kernel" | "initrd" | "modules" | "firmware"> {
  if (v.firmware !== undefined) return firmwareFromArgs(path, v);
  const kernel = v.kernel as string | undefined;
  const modules = (v.module as string[] | undefined) ?? [];
  if (kernel === undefined) {
    if (v.initrd !== undefined) throw new UsageError("--initrd needs --kernel");
    if (path === undefined) throw new UsageError("run: expected exactly one image or config file, or --kernel");
    return modules.length
      ? { image: path, modules: modules.map((m) => ({ path: resolve(m), cmdline: m })) }
      : { image: path };
  }
  if (path !== undefined) throw new UsageError(`run: --kernel boots Linux; give no image ("${path}") with it`);
  if (modules.length) throw new UsageError("--module is for Multiboot images; Linux takes --initrd");
  for (const k of ["format", "load"])
    if (v[k] !== undefined) throw new UsageError(`--${k} applies to an image, not to --kernel`);
  const initrd = v.initrd as string | undefined;
  return { kernel: resolve(kernel), ...(initrd === undefined ? {} : { initrd: resolve(initrd) }) };
}

/** `--firmware`: the ROM is all the VM boots (SDM Vol. 3A §9.1.4: execution starts at its reset vector). */
function firmwareFromArgs(path: string | undefined, v: RunValues): Pick<VmSpec, "firmware"> {
  if (path !== undefined) throw new UsageError(`run: --firmware boots a ROM; give no image ("${path}") with it`);
  for (const k of ["kernel", "initrd", "module", "format", "load", "append"])
    if (v[k] !== undefined) throw new UsageError(`--${k} does not combine with --firmware`);
  return { firmware: resolve(v.firmware as string) };
}

function singleImage(path: string | undefined, v: RunValues): MachineSpec {
  const format = v.format as string | undefined;
  if (format !== undefined && format !== "elf" && format !== "flat")
    throw new UsageError(`--format: expected elf or flat, got "${format}"`);
  const files = bootFromArgs(path, v);
  const defaultMemory = files.kernel === undefined ? DEFAULTS.memoryBytes : DEFAULTS.linuxMemoryBytes;
  const memory = v.memory === undefined ? defaultMemory : parseSize(v.memory);
  if (memory === null) throw new UsageError(`--memory: expected a size like 16M, got "${v.memory}"`);
  const load = v.load === undefined ? undefined : Number(v.load);
  if (load !== undefined && !(Number.isInteger(load) && load >= 0 && load <= 0xffffffff))
    throw new UsageError(`--load: expected an address like 0x100000, got "${v.load}"`);
  return {
    exitDeadlineMs: DEFAULTS.exitDeadlineMs,
    transport: "sab",
    vms: [
      {
        name: "vm0",
        ...files,
        format: format as "elf" | "flat" | undefined,
        load,
        memoryBytes: memory,
        priority: DEFAULTS.priority,
        quantum: DEFAULTS.quantum,
        policy: "destroy",
        cmdline: (v.append as string | undefined) ?? "",
      },
    ],
  };
}

function describe(r: VmResult): string {
  const how = r.fault ? "destroyed" : "stopped";
  return `moat: vm ${r.name} ${how}: ${r.reason}${r.fault ? "" : ` (exit code ${r.exitCode})`}`;
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      stats: { type: "boolean" },
      quiet: { type: "boolean" },
      format: { type: "string" },
      load: { type: "string" },
      memory: { type: "string" },
      transport: { type: "string" },
      placement: { type: "string" },
      kernel: { type: "string" },
      firmware: { type: "string" },
      initrd: { type: "string" },
      append: { type: "string" },
      module: { type: "string", multiple: true },
      prefix: { type: "boolean" },
      control: { type: "string" },
      console: { type: "string" },
      realtime: { type: "boolean" },
      record: { type: "string" },
      "max-instructions": { type: "string" },
    },
  });
  if (positionals.length > 1 || (positionals.length === 0 && values.kernel === undefined && !values.firmware))
    throw new UsageError("run: expected exactly one image or config file, or --kernel or --firmware");
  const target = positionals[0] as string | undefined;
  const bootFlags = ["kernel", "firmware", "initrd", "append", "module"].filter(
    (k) => values[k as keyof typeof values] !== undefined,
  );
  if (target?.endsWith(".json") && bootFlags.length)
    throw new UsageError(`--${bootFlags[0]} does not combine with a config file (give it there)`);
  const spec = target?.endsWith(".json") ? loadConfig(target) : singleImage(target, values);
  if (values.transport !== undefined) {
    if (!TRANSPORTS.includes(values.transport as Transport))
      throw new UsageError(`--transport: expected sab or piscina, got "${values.transport}"`);
    spec.transport = values.transport as Transport;
  }
  if (values.placement !== undefined) {
    if (!PLACEMENTS.includes(values.placement as Placement))
      throw new UsageError(`--placement: expected split, irqchip or monolithic, got "${values.placement}"`);
    for (const vm of spec.vms) vm.placement = values.placement as Placement;
  }
  if (values.realtime) spec.realtime = true;
  if (values["max-instructions"] !== undefined) {
    const n = Number(values["max-instructions"]);
    if (!Number.isSafeInteger(n) || n <= 0)
      throw new UsageError(`--max-instructions: expected a positive whole number, got "${values["max-instructions"]}"`);
    for (const vm of spec.vms) vm.maxInstructions = n;
  }
  const consoleVm = values.console ?? (spec.vms.length === 1 ? spec.vms[0].name : undefined);
  if (consoleVm !== undefined && !spec.vms.some((v) => v.name === consoleVm))
    throw new UsageError(`--console: no VM named "${consoleVm}" (VMs: ${spec.vms.map((v) => v.name).join(", ")})`);
  const record = values.record === undefined ? null : openSync(values.record, "w");
  const many = spec.vms.length > 1 || values.prefix === true;
  if (values.control !== undefined) spec.faultHooks = true;
  let control: ControlServer | null = null;
  const machine = new Machine(spec, {
    console: (vm, text) => {
      if (!values.quiet) process.stdout.write(many ? prefixLines(vm, text) : text);
    },
    fault: (f) => {
      control?.faultSeen(f);
      process.stderr.write(`${describeFault(f)}\n`);
    },
    input: (vm, tsc, bytes) => {
      if (record !== null) writeSync(record, `${inputRecord(vm, tsc, bytes)}\n`);
    },
  });
  if (values.control !== undefined) control = await ControlServer.listen(machine, values.control);
  const input = consoleVm === undefined ? null : readConsole(machine, consoleVm);
  let results: VmResult[];
  try {
    results = await machine.run();
  } finally {
    input?.close();
    if (record !== null) closeSync(record);
    await control?.close();
  }
  if (many) flushPrefixes();
  const limited = values["max-instructions"] !== undefined;
  for (const r of results) if (r.fault || r.exitCode !== 0 || many || limited) process.stderr.write(`${describe(r)}\n`);
  if (values.stats) process.stderr.write(`${formatStats(results)}\n`);
  const failed = results.find((r) => r.fault || r.exitCode !== 0);
  return failed ? (failed.fault ? 1 : failed.exitCode & 0xff || 1) : 0;
}

/** One line of the input log (DESIGN.md §5: each chunk with the virtual TSC at which the VMM got it). */
function inputRecord(vm: string, tsc: number, bytes: Uint8Array): string {
  return JSON.stringify({ vm, tsc, bytes: Buffer.from(bytes).toString("base64") });
}

/** Ctrl-]: the escape that ends moat from a terminal (as telnet's and many serial consoles'). */
const ESCAPE = 0x1d;

/**
 * Streams stdin to VM `vm`'s console: a terminal in raw mode (bytes as
 * typed, Ctrl-] ends moat), or a pipe or file until EOF. Returns what stops it.
 */
function readConsole(machine: Machine, vm: string): { close(): void } {
  const stdin = process.stdin;
  const tty = stdin.isTTY === true;
  if (tty) stdin.setRawMode(true);
  machine.consoleInput(vm, new Uint8Array(0)); // open: a halted VM now waits for input
  const onData = (chunk: Buffer) => {
    const esc = tty ? chunk.indexOf(ESCAPE) : -1;
    machine.consoleInput(vm, esc < 0 ? chunk : chunk.subarray(0, esc));
    if (esc >= 0) for (const name of machine.vmNames) machine.destroy(name, "ended from the console (Ctrl-])");
  };
  const onEnd = () => machine.consoleEnd();
  stdin.on("data", onData);
  stdin.once("end", onEnd);
  stdin.once("error", onEnd);
  return {
    close() {
      stdin.off("data", onData);
      stdin.off("end", onEnd);
      if (tty) stdin.setRawMode(false);
      stdin.pause();
      stdin.destroy();
    },
  };
}

// With several VMs each line of output carries its VM's name.
const partial = new Map<string, string>();
function prefixLines(vm: string, text: string): string {
  const all = (partial.get(vm) ?? "") + text;
  const cut = all.lastIndexOf("\n") + 1;
  partial.set(vm, all.slice(cut));
  return all
    .slice(0, cut)
    .split("\n")
    .slice(0, -1)
    .map((l) => `[${vm}] ${l}\n`)
    .join("");
}
function flushPrefixes(): void {
  for (const [vm, rest] of partial) if (rest) process.stdout.write(`[${vm}] ${rest}\n`);
}

/** `moat tcb`: the TypeScript compiler is loaded only for this command. */
async function tcb(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: "boolean" } } });
  const { measureTcb, formatTcb } = await import("./tcb.js");
  const report = measureTcb(fileURLToPath(new URL("../..", import.meta.url)));
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatTcb(report)}\n`);
  return 0;
}

/** `moat conformance singlestep <dir>`: the processor against recorded hardware runs. */
async function conformance(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { filter: { type: "string" }, limit: { type: "string" } },
  });
  if (positionals[0] !== "singlestep" || positionals.length !== 2)
    throw new UsageError("conformance: expected: conformance singlestep <dir>");
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0))
    throw new UsageError(`--limit: expected a positive integer, got "${values.limit}"`);
  const dir = positionals[1];
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${dir}: no such directory`);
  const { runSinglestep, formatSinglestep } = await import("../conformance/singlestep.js");
  const { MooFormatError } = await import("../conformance/moo.js");
  let result: Awaited<ReturnType<typeof runSinglestep>>;
  try {
    result = await runSinglestep(dir, { filter: values.filter, limit });
  } catch (e) {
    if (e instanceof MooFormatError || (e as NodeJS.ErrnoException).code) throw new UsageError((e as Error).message);
    throw e;
  }
  process.stdout.write(`${formatSinglestep(result)}\n`);
  return result.failed > 0 ? 1 : 0;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === "run") return await run(rest);
    if (cmd === "tcb") return await tcb(rest);
    if (cmd === "conformance") return await conformance(rest);
    if (cmd === "campaign") return await campaignCommand(rest);
    if (cmd === "inject") return await injectCommand(rest);
    if (cmd === "help" || cmd === "--help" || cmd === undefined) {
      process.stdout.write(`${USAGE}\n`);
      return cmd === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown command "${cmd}"`);
  } catch (e) {
    const usage = e instanceof UsageError || e instanceof FaultUsageError || isArgError(e);
    if (e instanceof ConfigError || e instanceof ImageError || usage) {
      process.stderr.write(`moat: ${(e as Error).message}\n`);
      if (usage) process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    throw e;
  }
}

function isArgError(e: unknown): boolean {
  return (e as { code?: string })?.code?.startsWith("ERR_PARSE_ARGS") ?? false;
}

process.exitCode = await main(process.argv.slice(2));
