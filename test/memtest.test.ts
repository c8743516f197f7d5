// Debian's memtest86+ 6.10 (32-bit image, Linux boot protocol) through the
// whole machine, as a user runs it: `moat run --kernel memtest86+ia32.bin
// --append "console=ttyS0,115200 nosmp nopause"`, stopped after a fixed
// number of instructions. It calibrates its clock with the 8254 (port 61h
// gate and OUT2), reads CPUID, finds memory in the e820 map of boot_params,
// computes with the x87 FPU, and draws its screen on the serial port.
// Oracle: QEMU (TCG, -cpu pentium2) shows each line of
// guests/memtest/expected.txt for the same image and command line
// (guests/memtest/qemu-check.sh checks that); nothing here comes from moat.
// Placement irqchip keeps the ~1.7 million port 61h reads of the clock
// calibration in the hypervisor, so the first test starts within ~30 s.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const MOAT = fileURLToPath(new URL("../bin/moat.js", import.meta.url));
const EXPECTED = fileURLToPath(new URL("../guests/memtest/expected.txt", import.meta.url));
const image = join(process.env.MOAT_CACHE ?? join(homedir(), ".cache", "moat"), "memtest", "memtest86+ia32.bin");
const haveMemtest = existsSync(image);
/** Enough for the clock calibration, the screen and the start of test #0 (about 30 s here). */
const LIMIT = 30_000_000;

describe("memtest86+", () => {
  it("is fetched by the setup wherever the tests must prove it (CI)", () => {
    if (process.env.CI) expect(haveMemtest, `${image} (npm run guests fetches it)`).toBe(true);
  });

  it.skipIf(!haveMemtest)(
    `reaches its test screen and starts test #0 within ${LIMIT} instructions${haveMemtest ? "" : ` (skipped: no ${image})`}`,
    () => {
      const r = spawnSync(
        process.execPath,
        [
          MOAT,
          "run",
          "--kernel",
          image,
          "--append",
          "console=ttyS0,115200 nosmp nopause",
          "--placement",
          "irqchip",
          "--max-instructions",
          String(LIMIT),
        ],
        { encoding: "utf8", input: "", timeout: 300_000 },
      );
      expect(r.stderr).toBe(`moat: vm vm0 stopped: instruction limit of ${LIMIT} reached (exit code 0)\n`);
      expect(r.status).toBe(0);
      const lines = readFileSync(EXPECTED, "utf8").split("\n").filter(Boolean);
      expect(lines.length).toBeGreaterThan(5);
      for (const line of lines) expect(r.stdout, line).toContain(line);
      expect(r.stdout).not.toMatch(/Errors: [1-9]/);
    },
    300_000,
  );
});
