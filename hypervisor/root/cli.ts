// The `moat` command line (root task). `moat run <image|config>` boots the
// VMs, streams their serial output, and reports how each ended.
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  ConfigError,
  DEFAULTS,
  loadConfig,
  type MachineSpec,
  parseSize,
  TRANSPORTS,
  type Transport,
} from "./config.js";
import { ImageError } from "./image.js";
import { Machine, type VmResult } from "./machine.js";
import { formatStats } from "./stats.js";

const USAGE = `usage: moat run <image.elf|image.bin|config.json> [options]
       moat tcb [--json]   source lines each component trusts (DESIGN.md §1)
  --stats            print exits per reason for each VM at the end (like kvm_stat)
  --format elf|flat  image format (default: by ELF magic; .bin means flat)
  --load ADDR        load address of a flat image (default 0x100000)
  --memory SIZE      guest RAM, e.g. 16M (default 16M)
  --transport sab|piscina  how exits reach the VMM worker: a shared-memory
                     channel (default) or one piscina task per exit
  --quiet            do not stream guest output`;

class UsageError extends Error {}

function singleImage(path: string, v: Record<string, string | boolean | undefined>): MachineSpec {
  const format = v.format as string | undefined;
  if (format !== undefined && format !== "elf" && format !== "flat")
    throw new UsageError(`--format: expected elf or flat, got "${format}"`);
  const memory = v.memory === undefined ? DEFAULTS.memoryBytes : parseSize(v.memory);
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
        image: path,
        format: format as "elf" | "flat" | undefined,
        load,
        memoryBytes: memory,
        priority: DEFAULTS.priority,
        quantum: DEFAULTS.quantum,
        policy: "destroy",
        cmdline: "",
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
    },
  });
  if (positionals.length !== 1) throw new UsageError("run: expected exactly one image or config file");
  const target = positionals[0];
  const spec = target.endsWith(".json") ? loadConfig(target) : singleImage(target, values);
  if (values.transport !== undefined) {
    if (!TRANSPORTS.includes(values.transport as Transport))
      throw new UsageError(`--transport: expected sab or piscina, got "${values.transport}"`);
    spec.transport = values.transport as Transport;
  }
  const many = spec.vms.length > 1;
  const machine = new Machine(spec, {
    console: (vm, text) => {
      if (!values.quiet) process.stdout.write(many ? prefixLines(vm, text) : text);
    },
  });
  const results = await machine.run();
  if (many) flushPrefixes();
  for (const r of results) if (r.fault || r.exitCode !== 0 || many) process.stderr.write(`${describe(r)}\n`);
  if (values.stats) process.stderr.write(`${formatStats(results)}\n`);
  const failed = results.find((r) => r.fault || r.exitCode !== 0);
  return failed ? (failed.fault ? 1 : failed.exitCode & 0xff || 1) : 0;
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

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === "run") return await run(rest);
    if (cmd === "tcb") return await tcb(rest);
    if (cmd === "help" || cmd === "--help" || cmd === undefined) {
      process.stdout.write(`${USAGE}\n`);
      return cmd === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown command "${cmd}"`);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof ImageError || e instanceof UsageError || isArgError(e)) {
      process.stderr.write(`moat: ${(e as Error).message}\n`);
      if (e instanceof UsageError || isArgError(e)) process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    throw e;
  }
}

function isArgError(e: unknown): boolean {
  return (e as { code?: string })?.code?.startsWith("ERR_PARSE_ARGS") ?? false;
}

process.exitCode = await main(process.argv.slice(2));
