// Debian's SeaBIOS (package seabios, its QEMU build /usr/share/seabios/bios.bin)
// as the firmware of a 16 MiB VM, as `moat run --firmware bios.bin` runs it:
// from the reset vector through the PAM shadow-RAM copy of itself (82441FX
// PAM registers, vmm/boot/firmware.ts), POST with its log on the debug
// console at port 402h, to "No bootable device." (no disk, no network).
// Oracle: QEMU prints each line of QEMU_LINES, in this order, for the same
// ROM and RAM size:
//   qemu-system-i386 -bios /usr/share/seabios/bios.bin -m 16 -net none \
//     -chardev file,id=d,path=log -device isa-debugcon,iobase=0x402,chardev=d \
//     -display none -serial none -monitor none -no-reboot
// Lines that differ there come from QEMU's own devices (fw_cfg, PIIX ISA/IDE/
// ACPI functions, VGA, iPXE). Without fw_cfg SeaBIOS takes the RAM size from
// CMOS 30h/31h and 34h/35h (its qemu_preinit): "RamSize: 0x01000000 [cmos]".
// The run ends when the last line is out; the instruction limit is a backstop
// (the boot menu's 2.5 s wait and the disk timeouts are virtual time).
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DEFAULTS, type VmSpec } from "../hypervisor/root/config.js";
import { runVms } from "./helpers.js";

const BIOS = "/usr/share/seabios/bios.bin";
const haveBios = existsSync(BIOS);
const LAST = "No bootable device.";
/** Far more than the ~1.9 billion (mostly halted) instructions to LAST. */
const LIMIT = 4_000_000_000;

/** The version string the ROM carries for its banner "SeaBIOS (version %s)": "1.16.2-debian-1.16.2-1" in bookworm's package. */
function romVersion(): string {
  const m = /\0(\d+\.\d+(?:\.\d+)?-[!-~]+)\0/.exec(Buffer.from(readFileSync(BIOS)).toString("latin1"));
  return m ? m[1] : "(none)";
}

const QEMU_LINES = [
  "BUILD: gcc: (Debian 12.2.0-14) 12.2.0 binutils: (GNU Binutils for Debian) 2.40",
  "Relocating init from 0x000e2120 to 0x00fb2ca0 (size 53952)",
  "=== PCI bus & bridge init ===",
  "PCI: pci_bios_init_bus_rec bus = 0x0",
  "=== PCI device probing ===",
  "=== PCI new allocation pass #1 ===",
  "PCI: check devices",
  "=== PCI new allocation pass #2 ===",
  "PCI: 32: 0000000080000000 - 00000000fec00000",
  "PCI: init bdf=00:00.0 id=8086:1237",
  "Scan for VGA option rom",
  "Found 1 serial ports",
  "PS2 keyboard initialized",
  "All threads complete.",
  "Scan for option roms",
  "  0: 0000000000000000 - 000000000009fc00 = 1 RAM",
  "  1: 000000000009fc00 - 00000000000a0000 = 2 RESERVED",
  "  2: 00000000000f0000 - 0000000000100000 = 2 RESERVED",
  "enter handle_19:",
  "Booting from Hard Disk...",
  "Boot failed: could not read the boot disk",
];

/** The lines of `want` that do not appear in `lines` in this order (empty: all do). */
function missingInOrder(lines: string[], want: string[]): string[] {
  let at = 0;
  const missing: string[] = [];
  for (const w of want) {
    const i = lines.indexOf(w, at);
    if (i < 0) missing.push(w);
    else at = i + 1;
  }
  return missing;
}

describe("SeaBIOS", () => {
  it("is installed by the setup wherever the tests must prove it (CI)", () => {
    if (process.env.CI) expect(haveBios, `${BIOS} (npm run guests installs the seabios package)`).toBe(true);
  });

  it.skipIf(!haveBios)(
    `runs from its reset vector through POST to "${LAST}"${haveBios ? "" : ` (skipped: no ${BIOS})`}`,
    async () => {
      const spec: VmSpec = {
        name: "seabios",
        image: "",
        firmware: BIOS,
        memoryBytes: 16 << 20,
        priority: DEFAULTS.priority,
        quantum: DEFAULTS.quantum,
        policy: "destroy",
        cmdline: "",
        maxInstructions: LIMIT,
      };
      let out = "";
      const results = await runVms([spec], (machine, vm, text) => {
        out += text;
        if (out.includes(LAST)) machine.destroy(vm, "SeaBIOS found no bootable device");
      });
      const r = results.get("seabios");
      const lines = out.split("\n");
      expect(r?.reason).toBe("SeaBIOS found no bootable device");
      const banner = `SeaBIOS (version ${romVersion()})`;
      expect(lines[0]).toBe(banner);
      expect(lines.filter((l) => l === banner)).toHaveLength(2); // again once the console is set up, as in QEMU
      expect(lines).toContain("RamSize: 0x01000000 [cmos]");
      expect(missingInOrder(lines, [...QEMU_LINES, LAST])).toEqual([]);
      expect(lines.some((l) => l.startsWith(LAST))).toBe(true);
    },
    300_000,
  );
});
