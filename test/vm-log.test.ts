// Each VM's console goes to a named log (issue "many VMs from one config").
// Oracle: the console output the root task streamed for the same run.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { guest, runVms, vm } from "./helpers.js";

describe("VM console logs", () => {
  it("writes each VM's console output to its own log file, byte for byte", async () => {
    const dir = mkdtempSync(join(tmpdir(), "moat-log-"));
    const logs = { hello: join(dir, "hello.log"), exits: join(dir, "exits.log") };
    const r = await runVms([
      vm("hello", guest("hello.elf"), { log: logs.hello }),
      vm("exits", guest("exits.elf"), { log: logs.exits }),
    ]);
    expect(readFileSync(logs.hello, "latin1")).toBe(r.get("hello")!.output);
    expect(readFileSync(logs.exits, "latin1")).toBe(r.get("exits")!.output);
    expect(r.get("exits")!.output).toContain("exits: 20 checks passed");
  }, 60_000);
});
