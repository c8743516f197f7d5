// Linux through the whole machine, exactly as a user runs it (issue 4):
// `moat run --kernel <bzImage> --initrd <cpio.gz> --append "console=ttyS0"`,
// and the same VM as a config file. The guest is guests/linux (Linux 6.1 i386
// and our own /init), built by `npm run setup`. Oracles: our init prints
// pi(20000) = 2262, a known value it does not get from us; the kernel reads
// back the e820 map the VMM wrote into boot_params (boot.rst) and counts the
// timer and serial interrupts it took through the 8259A; QEMU prints the same
// init lines for the same images (guests/linux/qemu-check.sh).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const MOAT = fileURLToPath(new URL("../bin/moat.js", import.meta.url));
const cache = join(process.env.MOAT_CACHE ?? join(homedir(), ".cache", "moat"), "linux");
const bzImage = join(cache, "bzImage");
const initramfs = join(cache, "initramfs.cpio.gz");
const haveLinux = existsSync(bzImage) && existsSync(initramfs);

/** Runs moat; the console's CR LF line ends (the guest tty's onlcr) read as LF. */
function moat(...args: string[]) {
  const r = spawnSync(process.execPath, [MOAT, "run", ...args], { encoding: "utf8", timeout: 600_000 });
  return { status: r.status, stdout: r.stdout.replace(/\r\n/g, "\n"), stderr: r.stderr };
}

function checkBoot(r: { status: number | null; stdout: string; stderr: string }): void {
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  expect(r.stdout).toContain("Kernel command line: console=ttyS0");
  expect(r.stdout).toContain("BIOS-e820: [mem 0x0000000000000000-0x000000000009ffff] usable");
  expect(r.stdout).toContain("BIOS-e820: [mem 0x0000000000100000-0x0000000003ffffff] usable");
  expect(r.stdout).toContain("moat-init: hello from PID 1\n");
  expect(r.stdout).toContain("moat-init: primes below 20000: 2262\n");
  expect(r.stdout).toMatch(/moat-init: \/proc\/cpuinfo:\n[\s\S]*vendor_id\t: GenuineIntel\n/);
  expect(r.stdout).toMatch(/ {2}0: +[1-9]\d* +XT-PIC +timer/);
  expect(r.stdout).toMatch(/ {2}4: +[1-9]\d* +XT-PIC +ttyS0/);
  expect(r.stdout).toContain("moat-init: done\n");
  expect(r.stdout).not.toContain("Kernel panic");
}

describe("the Linux guest", () => {
  it("is built by the setup wherever the tests must prove it (CI)", () => {
    if (process.env.CI) expect(haveLinux, `${bzImage} and ${initramfs} (npm run setup builds them)`).toBe(true);
  });

  describe.skipIf(!haveLinux)(
    `boots to our init${haveLinux ? "" : ` (skipped: no ${bzImage}; run npm run setup)`}`,
    () => {
      let fromFlags = "";
      it("from the command line, streaming its console, and exits cleanly", () => {
        const r = moat("--kernel", bzImage, "--initrd", initramfs, "--append", "console=ttyS0");
        checkBoot(r);
        fromFlags = r.stdout;
      }, 600_000);

      it("from a config file, with the same output (virtual time makes the run deterministic)", () => {
        const dir = mkdtempSync(join(tmpdir(), "moat-linux-"));
        const config = join(dir, "linux.json");
        writeFileSync(
          config,
          JSON.stringify({ vms: [{ name: "linux", kernel: bzImage, initrd: initramfs, cmdline: "console=ttyS0" }] }),
        );
        const r = moat(config);
        expect(r.status).toBe(0);
        if (fromFlags) expect(r.stdout).toBe(fromFlags);
        else checkBoot({ ...r, stderr: "" });
      }, 600_000);
    },
  );
});
