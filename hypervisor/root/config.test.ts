// Config validation: every error names the file and the field (the issue's
// rule for bad input); sizes follow the usual K/M/G binary units.
import { describe, expect, it } from "vitest";
import { parseConfig, parseSize } from "./config.js";

const parse = (o: unknown) => parseConfig(JSON.stringify(o), "vms.json");

describe("parseConfig", () => {
  it("fills defaults and resolves images beside the config file", () => {
    const spec = parseConfig(JSON.stringify({ vms: [{ image: "a.elf" }] }), "/cfg/vms.json");
    expect(spec.vms[0]).toMatchObject({ name: "vm0", image: "/cfg/a.elf", memoryBytes: 16 << 20, priority: 1 });
  });

  it("defaults to the shared-memory transport", () => {
    expect(parse({ vms: [{ image: "a.elf" }] }).transport).toBe("sab");
    expect(parse({ vms: [{ image: "a.elf" }], transport: "piscina" }).transport).toBe("piscina");
  });

  it("reads the top-level realtime switch (default off) and refuses a non-boolean", () => {
    expect(parse({ vms: [{ image: "a.elf" }] }).realtime).toBe(false);
    expect(parse({ vms: [{ image: "a.elf" }], realtime: true }).realtime).toBe(true);
    expect(() => parse({ vms: [{ image: "a.elf" }], realtime: "yes" })).toThrow(
      'vms.json: realtime: expected true or false, got "yes"',
    );
  });

  it("accepts hex addresses as strings", () => {
    expect(parse({ vms: [{ image: "a.bin", format: "flat", load: "0x200000" }] }).vms[0].load).toBe(0x200000);
  });

  it.each([
    [{}, "vms.json: vms: expected a non-empty array of VMs, got nothing"],
    [{ vms: [] }, "vms.json: vms: expected a non-empty array of VMs, got []"],
    [{ vms: [{}] }, "vms.json: vms[0].image: expected a non-empty string, got nothing"],
    [
      { vms: [{ image: "a", memory: "lots" }] },
      'vms.json: vms[0].memory: expected a size like "16M" or a number of MiB, got "lots"',
    ],
    [{ vms: [{ image: "a", format: "pe" }] }, 'vms.json: vms[0].format: expected "elf" or "flat", got "pe"'],
    [{ vms: [{ image: "a", priority: 0 }] }, "vms.json: vms[0].priority: 0 is outside 1..255"],
    [{ vms: [{ image: "a", imgae: "b" }] }, "vms.json: vms[0].imgae: unknown field"],
    [
      {
        vms: [
          { image: "a", name: "x" },
          { image: "b", name: "x" },
        ],
      },
      'vms.json: vms[1].name: duplicate VM name "x"',
    ],
    [{ vms: [{ image: "a" }], extra: 1 }, "vms.json: extra: unknown field"],
    [{ vms: [{ image: "a" }], transport: "pigeon" }, 'vms.json: transport: expected "sab" or "piscina", got "pigeon"'],
  ])("rejects %j", (cfg, msg) => {
    expect(() => parse(cfg)).toThrow(msg);
  });

  it("names malformed JSON", () => {
    expect(() => parseConfig("{ vms: ", "bad.json")).toThrow(/^bad.json: not valid JSON/);
  });
});

describe("parseSize", () => {
  it("reads binary units and plain MiB numbers", () => {
    expect([parseSize("16M"), parseSize("512K"), parseSize("1G"), parseSize(8), parseSize("x")]).toEqual([
      16 << 20,
      512 << 10,
      1 << 30,
      8 << 20,
      null,
    ]);
  });
});

describe("boot files: image with Multiboot modules, or a Linux kernel with its initrd", () => {
  it("resolves kernel and initrd against the config's folder and defaults Linux VMs to 64 MiB", () => {
    const spec = parseConfig(
      JSON.stringify({ vms: [{ kernel: "bz", initrd: "rd.gz", cmdline: "console=ttyS0" }] }),
      "/c/vms.json",
    );
    expect(spec.vms[0]).toMatchObject({
      kernel: "/c/bz",
      initrd: "/c/rd.gz",
      cmdline: "console=ttyS0",
      memoryBytes: 64 << 20,
    });
    expect(spec.vms[0].image).toBeUndefined();
  });

  it("reads modules as paths or {path, cmdline}", () => {
    const spec = parseConfig(
      JSON.stringify({ vms: [{ image: "k.elf", modules: ["m1", { path: "m2", cmdline: "two" }] }] }),
      "/c/vms.json",
    );
    expect(spec.vms[0].modules).toEqual([
      { path: "/c/m1", cmdline: "m1" },
      { path: "/c/m2", cmdline: "two" },
    ]);
  });

  it.each([
    [{ kernel: "bz", image: "a" }, "vms[0].image: give either image (ELF or flat) or kernel (Linux bzImage), not both"],
    [{ image: "a", initrd: "rd" }, "vms[0].initrd: needs a Linux kernel (field kernel)"],
    [{ kernel: "bz", modules: ["m"] }, "vms[0].modules: Multiboot modules go with image; a Linux kernel takes initrd"],
    [{ kernel: "bz", format: "elf" }, "vms[0].format: applies to image, not to a Linux kernel"],
    [{ image: "a", modules: [{ path: "m", size: 1 }] }, "vms[0].modules[0].size: unknown field"],
  ])("rejects %j", (vm, msg) => {
    expect(() => parseConfig(JSON.stringify({ vms: [vm] }), "vms.json")).toThrow(`vms.json: ${msg}`);
  });
});

describe("containment fields (DESIGN.md §6)", () => {
  it("reads each VM's policy and console log file, and the VMM limits", () => {
    const spec = parseConfig(
      JSON.stringify({
        vms: [{ image: "a", policy: "restart", log: "logs/a.log" }, { image: "b" }],
        exitDeadlineMs: 250,
        vmmHeapMb: 64,
        standbyVmms: 2,
      }),
      "/c/vms.json",
    );
    expect(spec.vms[0]).toMatchObject({ policy: "restart", log: "/c/logs/a.log" });
    expect(spec.vms[1].policy).toBe("destroy");
    expect(spec.vms[1].log).toBeUndefined();
    expect(spec).toMatchObject({ exitDeadlineMs: 250, vmmHeapMb: 64, standbyVmms: 2 });
  });

  it.each([
    [
      { vms: [{ image: "a", policy: "reboot" }] },
      'vms.json: vms[0].policy: expected "destroy", "reset" or "restart", got "reboot"',
    ],
    [{ vms: [{ image: "a", log: "" }] }, 'vms.json: vms[0].log: expected a non-empty string, got ""'],
    [{ vms: [{ image: "a" }], vmmHeapMb: 4 }, "vms.json: vmmHeapMb: 4 is outside 16..16384"],
    [{ vms: [{ image: "a" }], standbyVmms: 99 }, "vms.json: standbyVmms: 99 is outside 0..16"],
  ])("rejects %j naming the field", (cfg, msg) => {
    expect(() => parse(cfg)).toThrow(msg);
  });
});

describe("firmware (a ROM booted from the reset vector)", () => {
  it("resolves the ROM beside the config and boots nothing else", () => {
    const spec = parseConfig(JSON.stringify({ vms: [{ firmware: "rom/bios.bin" }] }), "/c/vms.json");
    expect(spec.vms[0]).toMatchObject({ firmware: "/c/rom/bios.bin" });
    expect(spec.vms[0].image).toBeUndefined();
  });

  it.each([
    [{ vms: [{ firmware: "" }] }, 'vms.json: vms[0].firmware: expected a non-empty string, got ""'],
    [
      { vms: [{ firmware: "b.bin", image: "a.elf" }] },
      "vms.json: vms[0].image: does not apply to a VM that boots from firmware (field firmware)",
    ],
    [
      { vms: [{ firmware: "b.bin", entry: 0x1000 }] },
      "vms.json: vms[0].entry: does not apply to a VM that boots from firmware (field firmware)",
    ],
  ])("rejects %j naming the field", (cfg, msg) => {
    expect(() => parse(cfg)).toThrow(msg);
  });
});
