// The SingleStepTests 80286 real-mode suite (../shared/conformance/
// singlestep-80286, all 325 opcode files x 400 tests). Oracle: the register
// and RAM states the suite's authors captured from a Harris 80C286. Every
// non-revoked test must pass or be a documented P6-versus-286 difference
// (known-differences.md, whose sections name the rules).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { RULES } from "./known-differences.js";
import { formatSinglestep, runSinglestep } from "./singlestep.js";

const here = dirname(fileURLToPath(import.meta.url));
const SUITE = join(here, "../../../shared/conformance/singlestep-80286");

describe("SingleStepTests 80286 real mode", () => {
  it("every known-difference rule has its section, with an SDM reason, in known-differences.md", () => {
    const md = readFileSync(join(here, "known-differences.md"), "utf8");
    for (const rule of RULES) {
      const section = md.split(`\n## ${rule}\n`)[1];
      expect(section, rule).toBeDefined();
      expect(section.split("\n## ")[0], rule).toMatch(/SDM Vol\. \d/);
    }
  });

  it("passes every test of every opcode file, or fails it only for a documented reason", async () => {
    expect(existsSync(SUITE), `suite not found at ${SUITE}`).toBe(true);
    const result = await runSinglestep(SUITE);
    const report = formatSinglestep(result);
    const failures = result.rows.filter((r) => r.failed > 0).map((r) => `${r.file}: ${r.firstFailure}`);
    expect(failures, report).toEqual([]);
    expect(result.failed).toBe(0);
    expect(result.rows.length).toBe(325);
    // The known differences stay a small minority (LOCK #UD, IOPL/NT, x87 dominate).
    expect(result.passed).toBeGreaterThan(0.97 * (result.passed + result.known));
    expect(report.trimEnd().split("\n").at(-1)).toBe(`${result.passed} passed, 0 failed`);
  }, 300_000);

  it("filters files by name prefix and caps tests per file", async () => {
    const result = await runSinglestep(SUITE, { filter: "f6.", limit: 7 });
    expect(result.rows.map((r) => r.file)).toEqual(["F6.0", "F6.1", "F6.2", "F6.3", "F6.4", "F6.5", "F6.6", "F6.7"]);
    for (const r of result.rows) expect(r.passed + r.failed + r.known + r.skipped).toBe(7);
  });
});
