// Oracle: hand counts. Every expected line count below was counted by hand on
// the fixture files in tcb-fixtures/mini and tcb-fixtures/placed (the code
// lines are listed per file), and the summary and placement figures are sums
// of those counts done by hand from the definitions in tcb.ts. The run over
// the real repository checks invariants that DESIGN.md §1 states (which layer
// may import which), not figures.

import { spawnSync } from "node:child_process";
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { analyseSource, formatTcb, measureTcb, type TcbComponent, type TcbPlacement, type TcbReport } from "./tcb.js";
import type { TcbComponentSpec } from "./tcb-components.js";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const MINI = join(HERE, "tcb-fixtures", "mini");
const PLACED = join(HERE, "tcb-fixtures", "placed");
const REPO = resolve(HERE, "../..");

/** The fixture's own component table, shaped like the real one. */
const TABLE: TcbComponentSpec[] = [
  { name: "kernel", trust: "trusted", description: "k", entry: ["kernel/entry.ts"], owns: ["kernel/"] },
  { name: "root", trust: "trusted", description: "r", entry: ["root/cli.ts"], owns: ["root/"] },
  { name: "silicon", trust: "hardware", description: "s", entry: ["silicon/cpu.ts"], owns: ["silicon/"] },
  { name: "vmm", trust: "untrusted", description: "v", entry: ["vmm/worker-entry.mjs"], owns: ["vmm/"] },
  { name: "emulator", trust: "untrusted", description: "e", entry: ["vmm/emulator/"], owns: ["vmm/emulator/"] },
  { name: "device {stem}", trust: "untrusted", description: "d", entry: [], owns: [], each: "devices/*.ts" },
  {
    name: "protocol",
    trust: "shared",
    description: "p",
    entry: ["proto/generated/wire.js", "proto/*.ts"],
    owns: ["proto/"],
  },
];

// Code lines per fixture file, counted by hand (line numbers of the code lines).
const LINES = {
  "kernel/entry.ts": 15, // 8-11, 13-18, 20, 22, 24, 27, 28: strings with markers, a 3-line template, a regexp
  "kernel/cycle-a.ts": 4, // 1, 3-5
  "kernel/cycle-b.ts": 4, // 2, 4-6
  "silicon/cpu.ts": 3, // 2-4
  "shared/bits.ts": 1, // 2
  "root/cli.ts": 8, // 2, 3, 6, 8-12 (line 1 is a shebang)
  "root/lazy.ts": 1, // 2
  "vmm/worker-entry.mjs": 4, // 2, 4-6
  "vmm/worker.ts": 8, // 1-3, 5-9
  "devices/uart.ts": 9, // 2, 3, 5-7, 9-12
  "devices/pic.ts": 1, // 2
  "proto/index.ts": 4, // 1, 3-5
  "proto/generated/wire.js": 3, // 3-5
} as const;

const comp = (r: TcbReport, name: string): TcbComponent => {
  const c = r.components.find((x) => x.name === name);
  if (c === undefined) throw new Error(`no component ${name}`);
  return c;
};

const temps: string[] = [];
afterEach(() => {
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});
function copyOf(fixture: string): string {
  const dir = mkdtempSync(join(tmpdir(), "moat-tcb-"));
  temps.push(dir);
  cpSync(fixture, dir, { recursive: true });
  return dir;
}
const copyOfMini = () => copyOf(MINI);

describe("analyseSource: code lines", () => {
  it("skips blank lines and every kind of comment, but counts a line whose code follows a comment", () => {
    const text = "// a\n\n/* b */\n/**\n * c\n */\nlet x = 1; // d\n/* e */ x++;\n/* f\n g */ x--;\n";
    expect(analyseSource(text, "a.ts").lines).toBe(3);
  });

  it("does not take comment markers inside strings, templates or regexps for comments", () => {
    const text = 'const a = "/*";\nconst b = `\n*/ //`;\nconst c = /\\/*/;\nconst d = 1 / 2; /* e */\n';
    expect(analyseSource(text, "a.ts").lines).toBe(5);
  });

  it("counts a comment inside a template substitution as no line of its own", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template, on purpose
    const text = "const t = `${\n  // only a comment\n  1\n}`;\n// and a comment after the template\n";
    expect(analyseSource(text, "a.ts").lines).toBe(3);
  });

  it("lets the parser decide a slash the tokens leave ambiguous", () => {
    // After ")" a "/" is a division in "(a) / b" but a regexp after "if (s)"; read as a
    // division here, "/*" would open a comment that swallows the next line.
    const text = 'const s = "a";\nif (s) /\\/*/.test(s);\nconst half = (1) / 2; /* c */\n';
    expect(analyseSource(text, "a.ts").lines).toBe(3);
  });

  it("finds static, re-export, dynamic and type imports, and module URLs that it does not follow", () => {
    const text = [
      'import type { A } from "./a.js";',
      'export * from "./b.js";',
      'const c = await import("./c.js");',
      'type F = typeof import("./f.js");',
      'const s = "import(\\"./not.js\\")";',
      'const r = /import("not")/;',
      'const u = new URL("./w.mjs", import.meta.url);',
    ].join("\n");
    const f = analyseSource(text, "a.ts");
    expect(f.specifiers).toEqual(["./a.js", "./b.js", "./c.js", "./f.js"]);
    expect(f.dynamic).toEqual(["./c.js", "./f.js"]);
    expect(f.moduleUrls).toEqual(["./w.mjs"]);
    expect(analyseSource(text, "a.ts", "parse")).toEqual(f);
  });
});

describe("measureTcb on the hand-counted fixture", () => {
  const r = measureTcb(MINI, TABLE);

  it("counts each file's code lines exactly", () => {
    const rows = [...r.components.flatMap((c) => c.files), ...r.unattributed];
    const counted = Object.fromEntries(rows.map((f) => [f.path, f.lines]));
    expect(counted).toEqual(LINES);
  });

  it("gives own lines from attributed files and reach lines from the whole import closure", () => {
    const table = r.components.map((c) => [c.name, c.own, c.reach]);
    expect(table).toEqual([
      ["kernel", 23, 27], // entry + cycle: own; + silicon/cpu + shared/bits
      ["root", 9, 36], // cli + lazy (dynamic import); + the kernel's 27, the worker is not followed
      ["silicon", 3, 3],
      ["vmm", 12, 29], // worker-entry + worker (".ts" specifier); + uart 9, proto 7, bits 1
      ["emulator", 0, 0],
      ["device pic", 1, 1],
      ["device uart", 9, 9],
      ["protocol", 7, 7], // index.ts + generated wire.js; wire.d.ts never counts
    ]);
    expect(r.unattributed).toEqual([{ path: "shared/bits.ts", lines: 1 }]);
  });

  it("sums the trusted set, the VMM side, one VM and the simulated silicon with each file once", () => {
    expect(r.summary).toEqual({
      trustedByEveryVm: { files: 6, lines: 33 }, // root reach 36 minus silicon 3
      vmmSide: { files: 7, lines: 30 }, // vmm reach 29 + pic 1
      oneVm: { files: 12, lines: 62 }, // 33 + 30 - shared/bits counted once
      simulatedSilicon: { files: 1, lines: 3 },
    });
  });

  it("lists npm packages and node builtins by name, and names the worker entry without following it", () => {
    expect(comp(r, "kernel").external).toEqual(["node:util"]);
    expect(comp(r, "root").external).toEqual(["node:util", "piscina"]);
    expect(comp(r, "vmm").external).toEqual(["tsx"]);
    expect(r.external).toEqual(["node:util", "piscina", "tsx"]);
    expect(r.moduleUrls).toEqual([{ from: "root/cli.ts", target: "vmm/worker-entry.mjs" }]);
    expect(comp(r, "root").reachFiles).not.toContain("vmm/worker-entry.mjs");
    expect(r.unresolved).toEqual([]);
  });

  it("reports a component whose entry does not exist as absent with zero lines", () => {
    const e = comp(r, "emulator");
    expect(e.entry).toEqual([]);
    expect(e.missing).toEqual(["vmm/emulator/"]);
    expect(formatTcb(r)).toContain("emulator (absent)");
  });
});

describe("measureTcb follows changes to the files", () => {
  it("grows own and reach by exactly one when a line of code is added, and not for a comment or blank line", () => {
    const dir = copyOfMini();
    const before = measureTcb(dir, TABLE);
    appendFileSync(join(dir, "kernel/cycle-b.ts"), "\n// a comment\n/* another */\n");
    expect(measureTcb(dir, TABLE)).toEqual(before);

    appendFileSync(join(dir, "kernel/cycle-b.ts"), "export const added = 2;\n");
    const after = measureTcb(dir, TABLE);
    expect(comp(after, "kernel").own).toBe(comp(before, "kernel").own + 1);
    expect(comp(after, "kernel").reach).toBe(comp(before, "kernel").reach + 1);
    expect(comp(after, "root").own).toBe(comp(before, "root").own);
    expect(comp(after, "root").reach).toBe(comp(before, "root").reach + 1);
    expect(comp(after, "vmm").reach).toBe(comp(before, "vmm").reach);
    expect(after.summary.trustedByEveryVm.lines).toBe(before.summary.trustedByEveryVm.lines + 1);
    expect(after.summary.oneVm.lines).toBe(before.summary.oneVm.lines + 1);
  });

  it("never counts a test file, even one that code imports", () => {
    const dir = copyOfMini();
    const before = measureTcb(dir, TABLE);
    writeFileSync(join(dir, "kernel/extra.test.ts"), "export const t = 1;\nexport const u = 2;\n");
    appendFileSync(join(dir, "kernel/cycle-b.ts"), 'import "./extra.test.js";\n');
    const after = measureTcb(dir, TABLE);
    expect(comp(after, "kernel").own).toBe(comp(before, "kernel").own + 1); // the import line only
    expect(comp(after, "kernel").reachFiles).not.toContain("kernel/extra.test.ts");
  });

  it("reports imports it cannot resolve, and survives a file that does not parse", () => {
    const dir = copyOfMini();
    appendFileSync(join(dir, "kernel/cycle-a.ts"), 'import "./missing.js";\nimport "../../outside.js";\n');
    writeFileSync(join(dir, "root/lazy.ts"), "export const = = {{ 'unterminated\n");
    const r = measureTcb(dir, TABLE);
    expect(r.unresolved).toEqual([
      { from: "kernel/cycle-a.ts", specifier: "./missing.js" },
      { from: "kernel/cycle-a.ts", specifier: "../../outside.js" },
    ]);
    expect(comp(r, "root").files.map((f) => f.path)).toContain("root/lazy.ts");
  });
});

/** The placed fixture's table: the real table's shape, with both kinds of placement code. */
const PLACED_TABLE: TcbComponentSpec[] = [
  { name: "kernel", trust: "trusted", description: "k", entry: ["kernel/entry.ts"], owns: ["kernel/"] },
  { name: "root", trust: "trusted", description: "r", entry: ["root/cli.ts"], owns: ["root/"] },
  {
    name: "in-kernel irqchip",
    trust: "trusted",
    description: "i",
    entry: ["in-kernel/"],
    owns: ["in-kernel/"],
    placement: "irqchip",
  },
  {
    name: "in-thread VMM",
    trust: "trusted",
    description: "m",
    entry: ["root/vmm-in-thread.ts"],
    owns: ["root/vmm-in-thread.ts"],
    placement: "monolithic",
  },
  { name: "vmm", trust: "untrusted", description: "v", entry: ["vmm/worker-entry.mjs"], owns: ["vmm/"] },
  { name: "device {stem}", trust: "untrusted", description: "d", entry: [], owns: [], each: "devices/*.ts" },
];

// Code lines per file of tcb-fixtures/placed, counted by hand.
const PLACED_LINES = {
  "kernel/entry.ts": 1, // 2
  "root/cli.ts": 6, // 1, 4-8
  "in-kernel/irqchip.ts": 5, // 1, 2, 5-7
  "devices/pic.ts": 1, // 2
  "devices/pit.ts": 2, // 1, 3
  "devices/clock.ts": 3, // 1, 3, 4
  "devices/uart.ts": 1, // 1
  "root/vmm-in-thread.ts": 4, // 2, 4-6
  "vmm/vmm.ts": 6, // 1-3, 5-7
  "vmm/worker-entry.mjs": 2, // 2, 4
} as const;

const placement = (r: TcbReport, name: string): TcbPlacement => {
  const p = r.placements.find((x) => x.placement === name);
  if (p === undefined) throw new Error(`no placement ${name}`);
  return p;
};
const figures = (r: TcbReport) =>
  r.placements.map((p) => [p.placement, p.present, p.trustedLines, p.trustedFiles, p.addedLines]);

describe("measureTcb per placement on the hand-counted fixture", () => {
  const r = measureTcb(PLACED, PLACED_TABLE);

  it("counts each file's code lines exactly", () => {
    const rows = [...r.components.flatMap((c) => c.files), ...r.unattributed];
    expect(Object.fromEntries(rows.map((f) => [f.path, f.lines]))).toEqual(PLACED_LINES);
  });

  it("gives split the trusted set of every VM, and adds each placement's import closure to it", () => {
    expect(figures(r)).toEqual([
      ["split", true, 7, 2, 0], // kernel 1 + cli 6
      ["irqchip", true, 18, 6, 11], // + irqchip 5, pic 1, pit 2, clock 3
      ["monolithic", true, 24, 8, 17], // + vmm-in-thread 4, vmm 6, pic 1, pit 2, clock 3, uart 1
    ]);
    expect(placement(r, "irqchip").files).toEqual([
      "devices/clock.ts",
      "devices/pic.ts",
      "devices/pit.ts",
      "in-kernel/irqchip.ts",
    ]);
    expect(placement(r, "monolithic").files).toEqual([
      "devices/clock.ts",
      "devices/pic.ts",
      "devices/pit.ts",
      "devices/uart.ts",
      "root/vmm-in-thread.ts",
      "vmm/vmm.ts",
    ]);
  });

  it("stops the root task's closure at an import() of placement code, so every VM's set stays the split one", () => {
    expect(comp(r, "root").reach).toBe(7);
    expect(comp(r, "root").reachFiles).toEqual(["kernel/entry.ts", "root/cli.ts"]);
    expect(r.summary.trustedByEveryVm).toEqual({ files: 2, lines: 7 });
    expect(r.summary.vmmSide).toEqual({ files: 6, lines: 15 }); // worker-entry 2, vmm 6, the four devices 7
    expect(comp(r, "in-kernel irqchip").reach).toBe(11);
    expect(comp(r, "in-thread VMM").reach).toBe(17);
    expect(formatTcb(r)).toContain("trusted, irqchip VMs");
  });

  it("grows only the placements that load a changed file, by the lines added", () => {
    const dir = copyOf(PLACED);
    appendFileSync(join(dir, "in-kernel/irqchip.ts"), "export const more = 1;\n");
    expect(figures(measureTcb(dir, PLACED_TABLE))).toEqual([
      ["split", true, 7, 2, 0],
      ["irqchip", true, 19, 6, 12],
      ["monolithic", true, 24, 8, 17],
    ]);
    appendFileSync(join(dir, "devices/pic.ts"), "export const spurious = 7;\n// a comment\n");
    expect(figures(measureTcb(dir, PLACED_TABLE))).toEqual([
      ["split", true, 7, 2, 0],
      ["irqchip", true, 20, 6, 13],
      ["monolithic", true, 25, 8, 18],
    ]);
  });

  it("reports a placement whose code is not in the tree as absent, with null figures, and does not throw", () => {
    const dir = copyOf(PLACED);
    rmSync(join(dir, "in-kernel"), { recursive: true });
    const gone = measureTcb(dir, PLACED_TABLE);
    expect(figures(gone)).toEqual([
      ["split", true, 7, 2, 0],
      ["irqchip", false, null, null, null],
      ["monolithic", true, 24, 8, 17],
    ]);
    expect(placement(gone, "irqchip").missing).toEqual(["in-kernel/"]);
    expect(gone.unresolved).toEqual([{ from: "root/cli.ts", specifier: "../in-kernel/irqchip.js" }]);
    expect(formatTcb(gone)).toContain("irqchip     absent: in-kernel/ not found (not built in this tree)");
  });

  it("counts placement code that the trusted side imports statically in every VM's set, and warns", () => {
    const dir = copyOf(PLACED);
    appendFileSync(join(dir, "root/cli.ts"), 'import "../in-kernel/irqchip.js";\n');
    const r2 = measureTcb(dir, PLACED_TABLE);
    expect(figures(r2)).toEqual([
      ["split", true, 19, 6, 0], // 7 + the import line + the irqchip closure 11
      ["irqchip", true, 19, 6, 0],
      ["monolithic", true, 30, 9, 11], // 19 + vmm-in-thread 4, vmm 6, uart 1; pic, pit, clock already in
    ]);
    expect(placement(r2, "irqchip").loadedByEveryVm).toEqual(["in-kernel/irqchip.ts"]);
    expect(formatTcb(r2)).toContain("statically imported, so loaded for every VM: in-kernel/irqchip.ts");
  });

  it("marks a placement with no component in the table as absent", () => {
    expect(figures(measureTcb(MINI, TABLE))).toEqual([
      ["split", true, 33, 6, 0],
      ["irqchip", false, null, null, null],
      ["monolithic", false, null, null, null],
    ]);
  });
});

describe("measureTcb on this repository", () => {
  const r = measureTcb(REPO);
  const all = (x: TcbReport) => [
    ...x.components.flatMap((c) => c.files.map((f) => f.path)),
    ...x.unattributed.map((f) => f.path),
  ];

  it("measures a kernel, and one VM's TCB at least as large as the trusted set", () => {
    expect(comp(r, "kernel").own).toBeGreaterThan(0);
    expect(r.summary.oneVm.lines).toBeGreaterThanOrEqual(r.summary.trustedByEveryVm.lines);
    expect(r.summary.oneVm.lines).toBeGreaterThanOrEqual(r.summary.vmmSide.lines);
  });

  it("counts no test file and attributes every reached file to exactly one row", () => {
    const owned = all(r);
    const reached = new Set(r.components.flatMap((c) => c.reachFiles));
    expect(owned.filter((p) => /\.test\.[cm]?[jt]s$/.test(p))).toEqual([]);
    expect(new Set(owned).size).toBe(owned.length);
    expect(new Set(owned)).toEqual(reached);
  });

  it("takes the VMM's entry from the worker file the root task names", () => {
    const vmmEntry = comp(r, "VMM core").entry;
    const named = r.moduleUrls.filter((u) => u.from.startsWith("hypervisor/root/")).map((u) => u.target);
    expect(vmmEntry.some((e) => named.includes(e))).toBe(true);
  });

  it("keeps the layering of DESIGN.md §1: the trusted side of every VM reaches no VMM or device code", () => {
    const trusted = r.components
      .filter((c) => c.trust === "trusted" && c.placement === undefined)
      .flatMap((c) => c.reachFiles);
    expect(trusted.filter((p) => p.startsWith("vmm/") || p.startsWith("devices/"))).toEqual([]);
    expect(comp(r, "VMM core").reachFiles.filter((p) => p.startsWith("hypervisor/kernel/"))).toEqual([]);
  });

  it("reads every reached file the same with and without a parse", () => {
    // Oracle: the TypeScript parser (mode "parse") for regexps and imports.
    const files = new Set(r.components.flatMap((c) => c.reachFiles));
    for (const dir of [REPO, MINI]) {
      for (const f of dir === REPO ? files : Object.keys(LINES)) {
        const text = readFileSync(join(dir, f), "utf8");
        expect(analyseSource(text, f), f).toEqual(analyseSource(text, f, "parse"));
      }
    }
  });

  it("gives a row per placement, split first and equal to the trusted set of every VM", () => {
    expect(r.placements.map((p) => p.placement)).toEqual(["split", "irqchip", "monolithic"]);
    expect(placement(r, "split").trustedLines).toBe(r.summary.trustedByEveryVm.lines);
    for (const p of r.placements.filter((x) => x.present)) {
      expect(p.trustedLines, p.placement).toBeGreaterThanOrEqual(r.summary.trustedByEveryVm.lines);
      // The placements' claim: their code is loaded by import() only for the VMs that ask.
      expect(p.loadedByEveryVm, p.placement).toEqual([]);
    }
  });

  it("prints with `moat tcb --json` the report measureTcb gives", () => {
    const cli = spawnSync(process.execPath, [join(REPO, "bin/moat.js"), "tcb", "--json"], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(cli.status, cli.stderr).toBe(0);
    const json = JSON.parse(cli.stdout) as TcbReport;
    // Other engineers edit the tree meanwhile: compare the shape, the figures are proven above.
    expect(json.components.map((c) => c.name)).toEqual(r.components.map((c) => c.name));
    expect(json.placements.map((p) => [p.placement, p.present])).toEqual(
      r.placements.map((p) => [p.placement, p.present]),
    );
    expect(json.placements[0].trustedLines).toBeGreaterThan(0);
  });

  it("prints every component, the summary and the published figures", () => {
    const text = formatTcb(r);
    for (const c of r.components) expect(text).toContain(c.name);
    expect(text).toContain("TCB of one VM");
    expect(text).toContain("published figures, approximate");
    expect(text).toContain("Firecracker VMM");
  });
});
