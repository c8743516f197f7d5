// Oracle: hand counts. Every expected line count below was counted by hand on
// the fixture files in tcb-fixtures/mini (the code lines are listed per file),
// and the summary figures are sums of those counts done by hand from the
// definitions in tcb.ts. The run over the real repository checks invariants
// that DESIGN.md §1 states (which layer may import which), not figures.

import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { analyseSource, formatTcb, measureTcb, type TcbComponent, type TcbReport } from "./tcb.js";
import type { TcbComponentSpec } from "./tcb-components.js";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const MINI = join(HERE, "tcb-fixtures", "mini");
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
function copyOfMini(): string {
  const dir = mkdtempSync(join(tmpdir(), "moat-tcb-"));
  temps.push(dir);
  cpSync(MINI, dir, { recursive: true });
  return dir;
}

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
    expect(f.moduleUrls).toEqual(["./w.mjs"]);
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

  it("keeps the layering of DESIGN.md §1: the trusted side reaches no VMM or device code", () => {
    const trusted = r.components.filter((c) => c.trust === "trusted").flatMap((c) => c.reachFiles);
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

  it("prints every component, the summary and the published figures", () => {
    const text = formatTcb(r);
    for (const c of r.components) expect(text).toContain(c.name);
    expect(text).toContain("TCB of one VM");
    expect(text).toContain("published figures, approximate");
    expect(text).toContain("Firecracker VMM");
  });
});
