// The peers our benchmarks measure side by side in the same run, on the same
// guest image (a Multiboot ELF: every bench and test guest carries the header):
// - QEMU TCG (qemu-system-i386 from Debian), booted with -kernel;
// - v86 (npm `v86`, an x86-to-wasm JIT) under Node, with SeaBIOS from
//   Debian's `seabios` package, booted through its `multiboot` option
//   (bench/v86-child.ts, in its own process).
// Each run reports, for every marker text, the host milliseconds from the
// start (process spawn for QEMU; `new V86` for v86) to the marker's first
// appearance on COM1, and stops the peer at the last marker.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export interface PeerRun {
  /** Host ms from the start to the first appearance of each marker on the serial port. */
  marks: Map<string, number>;
  /** Serial output up to the end of the last marker seen (CR removed). */
  output: string;
  /** Why the run ended: "marker" (all markers seen), "exit N", "timeout after N ms". */
  end: string;
  /** Resident set of the peer's process when the last marker appeared, in KiB. */
  rssKb: number | null;
  /** Guest instructions the peer executed (v86's counter; BIOS included), if it counts them. */
  instructions: number | null;
  /** v86 only: ms from `new V86` to "emulator-ready" (wasm compiled, images loaded). */
  readyMs: number | null;
}

export interface PeerOptions {
  memoryMb: number;
  /** Texts to time; the run stops once the last one has appeared. */
  marks: string[];
  timeoutMs: number;
}

export const SEABIOS = "/usr/share/seabios/bios.bin";
/** The Bochs-VBE VGA BIOS SeaBIOS builds (v86 emulates a Bochs VBE adapter). */
export const SEABIOS_VGA = "/usr/share/seabios/vgabios-stdvga.bin";

export function qemuMissing(): string | null {
  const probe = spawnSync("qemu-system-i386", ["--version"], { encoding: "utf8" });
  return probe.status === 0 ? null : "QEMU not installed (apt-get install qemu-system-x86): no QEMU figure";
}

/** Serial output cut after the end of the last marker found in it, CR removed. */
export function upToLastMark(output: string, marks: string[]): string {
  const text = output.replace(/\r/g, "");
  let end = -1;
  for (const m of marks) {
    const at = text.indexOf(m);
    if (at >= 0) end = Math.max(end, at + m.length);
  }
  return end < 0 ? text : text.slice(0, end);
}

function rssKbOf(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Boots `image` in QEMU TCG as a Pentium II with the isa-debug-exit device on port 0xF4 (our guests end there). */
export function runQemu(image: string, opts: PeerOptions): Promise<PeerRun> {
  const args = ["-accel", "tcg", "-cpu", "pentium2", "-m", String(opts.memoryMb), "-display", "none"];
  args.push("-serial", "stdio", "-monitor", "none", "-no-reboot");
  args.push("-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-kernel", image);
  const t0 = performance.now();
  const child = spawn("qemu-system-i386", args, { stdio: ["ignore", "pipe", "pipe"] });
  const marks = new Map<string, number>();
  let output = "";
  let rssKb: number | null = null;
  return new Promise((resolve, reject) => {
    let end = "";
    const timer = setTimeout(() => {
      end = `timeout after ${opts.timeoutMs} ms`;
      child.kill("SIGKILL");
    }, opts.timeoutMs);
    child.stdout.setEncoding("latin1");
    child.stdout.on("data", (chunk: string) => {
      output += chunk;
      const now = performance.now() - t0;
      for (const m of opts.marks) if (!marks.has(m) && output.includes(m)) marks.set(m, now);
      if (!end && marks.size === opts.marks.length) {
        end = "marker";
        rssKb = child.pid === undefined ? null : rssKbOf(child.pid);
        child.kill("SIGKILL");
      }
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      output = upToLastMark(output, opts.marks);
      resolve({ marks, output, end: end || `exit ${code}`, rssKb, instructions: null, readyMs: null });
    });
  });
}

/**
 * SeaBIOS for v86: Debian's `seabios` package. Installed here with apt-get
 * when missing and we are root; otherwise the reason v86 cannot run.
 */
export function ensureSeabios(): string | null {
  if (existsSync(SEABIOS) && existsSync(SEABIOS_VGA)) return null;
  const root = process.getuid?.() === 0;
  if (!root) return `SeaBIOS missing (${SEABIOS}): run \`apt-get install seabios\` as root for the v86 figure`;
  console.log("installing SeaBIOS for v86 (apt-get install seabios)...");
  const install = () =>
    spawnSync("apt-get", ["install", "-y", "--no-install-recommends", "seabios"], {
      encoding: "utf8",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  if (install().status !== 0) {
    spawnSync("apt-get", ["update"], { encoding: "utf8" });
    install();
  }
  return existsSync(SEABIOS) && existsSync(SEABIOS_VGA)
    ? null
    : `SeaBIOS missing (${SEABIOS}) and apt-get install seabios failed: no v86 figure`;
}

/** What bench/v86-child.ts takes as its one argument (JSON). */
export interface V86ChildArgs {
  image: string;
  memoryMb: number;
  marks: string[];
  timeoutMs: number;
  bios: string;
  vgaBios: string;
}

export const V86_RESULT = "v86-result ";

/** Boots `image` in v86 under Node (its own process: v86 ends a guest's debug-exit write by throwing). */
export function runV86(image: string, opts: PeerOptions): Promise<PeerRun> {
  const child = fileURLToPath(new URL("./v86-child.ts", import.meta.url));
  const args: V86ChildArgs = { image, ...opts, bios: SEABIOS, vgaBios: SEABIOS_VGA };
  const proc = spawn(process.execPath, ["--import", "tsx", child, JSON.stringify(args)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  proc.stdout.setEncoding("utf8").on("data", (c: string) => {
    stdout += c;
  });
  proc.stderr.setEncoding("utf8").on("data", (c: string) => {
    stderr += c;
  });
  return new Promise((resolve, reject) => {
    proc.on("error", reject);
    proc.on("close", (code) => {
      const line = stdout.split("\n").find((l) => l.startsWith(V86_RESULT));
      if (!line) {
        reject(new Error(`v86 child ended (exit ${code}) without a result:\n${(stdout + stderr).slice(-2000)}`));
        return;
      }
      const r = JSON.parse(line.slice(V86_RESULT.length)) as Omit<PeerRun, "marks"> & { marks: [string, number][] };
      resolve({ ...r, marks: new Map(r.marks) });
    });
  });
}
