// Builds the test guests with guests/build.sh and checks them against
// external oracles: binutils' readelf for the images the loader accepts,
// and, where qemu-system-i386 is installed, a real x86 machine model
// running hello and paging-ring3 (their expected output is documented at
// the top of each source). exits needs moat's VMM (VMCALL, its CPUID
// model), so it only has to build and load here.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { ExitReason } from "../proto/exit-reason.js";
import { hasQemu } from "../test/helpers.js";
import { makeVmm, roundTrip } from "../vmm/testing/exit-messages.js";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "build");
const ELVES = ["hello", "paging-ring3", "exits"];

function readelfEntry(file: string): number {
  const text = execFileSync("readelf", ["-h", file], { encoding: "utf8" });
  return Number.parseInt(/Entry point address:\s+(0x[0-9a-f]+)/.exec(text)![1], 16);
}

/** Boots `elf` under QEMU (Multiboot) and returns the serial output once `until` appears. */
function qemuSerial(elf: string, until: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const q = spawn("qemu-system-i386", [
      ...["-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot"],
      ...["-m", "16", "-cpu", "pentium2", "-kernel", elf],
    ]);
    let text = "";
    const timer = setTimeout(() => {
      q.kill();
      reject(new Error(`no "${until}" within 30 s; got:\n${text}`));
    }, 30_000);
    q.stdout.on("data", (d: Buffer) => {
      text += d.toString("latin1");
      if (text.includes(until)) {
        clearTimeout(timer);
        q.kill();
        resolve(text);
      }
    });
    q.on("error", reject);
  });
}

beforeAll(() => {
  execFileSync("bash", [join(here, "build.sh")], { stdio: "pipe" });
});

describe("guests/build.sh", () => {
  it("builds every guest and hello.bin", () => {
    for (const g of ELVES) expect(existsSync(join(out, `${g}.elf`)), g).toBe(true);
    expect(existsSync(join(out, "hello.bin"))).toBe(true);
  });

  it("is idempotent: a second run succeeds and gives the same images", () => {
    const before = ELVES.map((g) => readFileSync(join(out, `${g}.elf`)));
    execFileSync("bash", [join(here, "build.sh")], { stdio: "pipe" });
    for (const [i, g] of ELVES.entries()) expect(readFileSync(join(out, `${g}.elf`)).equals(before[i]), g).toBe(true);
  });
});

describe("the VMM boots each guest image", () => {
  for (const g of ELVES) {
    it(`${g}.elf loads and starts at readelf's entry point 0x100000`, () => {
      const file = join(out, `${g}.elf`);
      const r = roundTrip(makeVmm(16 << 20, { image: readFileSync(file), format: "elf" }), ExitReason.STARTUP);
      expect(r.stop, r.stopReason ?? "").toBe(false);
      expect(r.state!.eip).toBe(readelfEntry(file));
      expect(r.state!.eip).toBe(0x100000);
    });
  }

  it("hello.bin loads flat at 0x100000 with the same bytes there as hello.elf", () => {
    const bin = readFileSync(join(out, "hello.bin"));
    const ram = new SharedArrayBuffer(16 << 20);
    const r = roundTrip(makeVmm(0, { ram, image: bin, format: "flat" }), ExitReason.STARTUP);
    expect(r.state!.eip).toBe(0x100000);
    const elfRam = new SharedArrayBuffer(16 << 20);
    roundTrip(
      makeVmm(0, { ram: elfRam, image: readFileSync(join(out, "hello.elf")), format: "elf" }),
      ExitReason.STARTUP,
    );
    const a = new Uint8Array(ram, 0x100000, bin.length);
    const b = new Uint8Array(elfRam, 0x100000, bin.length);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });
});

describe.skipIf(!hasQemu())("guests on QEMU (an independent x86 model)", () => {
  it("hello prints its documented line", async () => {
    const text = await qemuSerial(join(out, "hello.elf"), "\n");
    expect(text).toBe("Hello from moat guest\n");
  });

  it("paging-ring3 passes all 14 checks", async () => {
    const text = await qemuSerial(join(out, "paging-ring3.elf"), " failed\n");
    expect(text).toContain("paging-ring3: 14 checks passed, 0 failed\n");
    expect(text).not.toContain("FAIL");
  });
});
