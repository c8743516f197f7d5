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
