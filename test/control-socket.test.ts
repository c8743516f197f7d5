// The control socket of a running instance and `moat inject` (issue: "a
// library API for tests and `moat inject` against a running instance through
// its control socket"). Oracle: DESIGN.md §6 (an injected fault is detected
// at the exit it was ordered for, and the VM's policy acts) and the
// fault-free run of the same guest (policy restart carries on exactly).
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DEFAULTS } from "../hypervisor/root/config.js";
import { ControlServer, controlRequest } from "../hypervisor/root/control-socket.js";
import { Machine } from "../hypervisor/root/machine.js";
import { guest, runVms, vm } from "./helpers.js";

const MOAT = fileURLToPath(new URL("../bin/moat.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "moat-control-"));

function moat(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [MOAT, ...args]);
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

describe("control socket", () => {
  it("injects a fault at a chosen exit of a running VM and answers once it is detected and recovered", async () => {
    const solo = (await runVms([vm("p", guest("paging-ring3.elf"), { policy: "restart" })])).get("p")!;
    const path = join(dir, "a.sock");
    const m = new Machine(
      {
        vms: [vm("p", guest("paging-ring3.elf"), { policy: "restart" })],
        transport: "sab",
        exitDeadlineMs: DEFAULTS.exitDeadlineMs,
        faultHooks: true,
      },
      { console: () => {}, fault: (f) => server.faultSeen(f) },
    );
    const server = await ControlServer.listen(m, path);
    const running = m.run();
    const status = await controlRequest(path, { op: "status" });
    expect(status).toMatchObject({ ok: true, vms: [{ name: "p", faults: 0 }] });
    const answer = await controlRequest(path, { op: "inject", vm: "p", kind: "bad-mtd", at: 1500, wait: true });
    const results = await running;
    await server.close();
    expect(answer).toMatchObject({
      ok: true,
      at: 1500,
      fault: { vm: "p", seq: 1500, injected: "bad-mtd", detector: "refused", action: "retry" },
    });
    expect((answer as unknown as { fault: { reason: string } }).fault.reason).toMatch(
      /MTD names state a VMM may not set: QUAL/,
    );
    expect(results[0].output).toBe(solo.output);
    expect(results[0].faults).toBe(1);
  }, 60_000);

  it("answers malformed and impossible requests with an error, and goes on serving", async () => {
    const path = join(dir, "b.sock");
    const m = new Machine(
      {
        vms: [vm("e", guest("exits.elf"))],
        transport: "sab",
        exitDeadlineMs: DEFAULTS.exitDeadlineMs,
        faultHooks: true,
      },
      { console: () => {} },
    );
    const server = await ControlServer.listen(m, path);
    const running = m.run();
    const ask = (req: unknown) => controlRequest(path, req as never);
    expect(await ask({ op: "inject", vm: "e", kind: "melt" })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^inject: kind: unknown fault kind "melt" \(known: throw, exit/),
    });
    expect(await ask({ op: "inject", vm: "nobody", kind: "throw" })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/no VM named nobody/),
    });
    expect(await ask({ op: "inject", vm: "e", kind: "throw", at: -3 })).toMatchObject({
      ok: false,
      error: "inject: at: expected a non-negative integer",
    });
    expect(await ask({ op: "reboot" })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/unknown op "reboot"/),
    });
    expect(await ask({ op: "status" })).toMatchObject({ ok: true });
    await running;
    await server.close();
  }, 60_000);

  it("moat inject reports an unreachable socket and an unknown kind, non-zero", async () => {
    const gone = await moat("inject", "--control", join(dir, "none.sock"), "--vm", "a", "--kind", "throw");
    expect(gone.status).toBe(1);
    expect(gone.stderr).toMatch(/^moat: inject: .*none\.sock: cannot reach the control socket: ENOENT\n$/);
    const bad = await moat("inject", "--control", join(dir, "none.sock"), "--vm", "a", "--kind", "melt");
    expect(bad.status).toBe(2);
    expect(bad.stderr.split("\n")[0]).toMatch(/^moat: --kind: unknown fault kind "melt"/);
  }, 60_000);
});
