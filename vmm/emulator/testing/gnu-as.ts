// Test support (never imported by the VMM): instructions assembled by the
// system's GNU as (`as --32`) and split by `objdump -d`, which is the oracle
// for each instruction's bytes and length.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Assembled {
  source: string;
  bytes: Uint8Array;
}

/** Assembles `lines` (AT&T syntax) as .code32 or .code16; one result per line, in order. */
export function assemble(lines: readonly string[], mode: 16 | 32 = 32): Assembled[] {
  const dir = mkdtempSync(join(tmpdir(), "moat-emu-as-"));
  const src = join(dir, "t.s");
  const obj = join(dir, "t.o");
  writeFileSync(src, `.code${mode}\n${lines.join("\n")}\n`);
  execFileSync("as", ["--32", src, "-o", obj]);
  const machine = mode === 16 ? ["-M", "i8086"] : [];
  const dump = execFileSync("objdump", ["-d", "--insn-width=16", ...machine, obj], { encoding: "utf8" });
  const insns: Uint8Array[] = [];
  for (const line of dump.split("\n")) {
    const m = /^\s*[0-9a-f]+:\t((?:[0-9a-f]{2} )+)\s*\t/.exec(line);
    if (m) insns.push(Uint8Array.from(m[1].trim().split(" "), (h) => Number.parseInt(h, 16)));
  }
  if (insns.length !== lines.length) {
    throw new Error(`objdump split ${lines.length} lines into ${insns.length} instructions:\n${dump}`);
  }
  return lines.map((source, k) => ({ source, bytes: insns[k] }));
}

/** One instruction's bytes. */
export function assembleOne(line: string, mode: 16 | 32 = 32): Uint8Array {
  return assemble([line], mode)[0].bytes;
}
