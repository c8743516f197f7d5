// Console input (issue 4): stdin of `moat run` reaches the guest's COM1
// receiver, which interrupts on IRQ 4 through the 8259A. The echo guest
// (guests/echo/echo.c) echoes what it receives in upper case and ends on 'q'.
// Oracles: the guest's own specification of its output (upper-cased input,
// then "echo: bye"); the PC16550D datasheet (no byte lost or reordered: the
// receiver never overruns while the sender honours its room); the debug-exit
// device's status rule (value << 1) | 1, as QEMU's isa-debug-exit defines it,
// so the guest's write of 0 ends moat with status 1.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { guest } from "./helpers.js";

const MOAT = fileURLToPath(new URL("../bin/moat.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "moat-console-"));
/** debug-exit: the guest writes 0, the VM ends with status (0 << 1) | 1. */
const EXIT_STATUS = 1;

function moat(input: string, ...args: string[]) {
  return moatRun(input, guest("echo.elf"), ...args);
}

function moatRun(input: string, target: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [MOAT, "run", target, ...args], {
    encoding: "utf8",
    input,
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("console input", () => {
  it("delivers piped stdin to the guest's UART, which echoes it in upper case until 'q'", () => {
    const r = moat("hello\nworld\nq");
    expect(r.stdout).toBe("HELLO\nWORLD\necho: bye\n");
    expect(r.stderr).toContain("guest exit through the debug-exit port with status 1");
    expect(r.status).toBe(EXIT_STATUS);
  });

  it("does the same with --realtime", () => {
    const r = moat("hello\nworld\nq", "--realtime");
    expect(r.stdout).toBe("HELLO\nWORLD\necho: bye\n");
    expect(r.status).toBe(EXIT_STATUS);
  });

  it("does the same with realtime: true in a config file, input to the VM --console names", () => {
    const config = join(dir, "rt.json");
    writeFileSync(config, JSON.stringify({ realtime: true, vms: [{ name: "e", image: guest("echo.elf") }] }));
    const r = moatRun("hello\nworld\nq", config, "--console", "e");
    expect(r.stdout).toBe("HELLO\nWORLD\necho: bye\n");
    expect(r.status).toBe(EXIT_STATUS);
  });

  it("refuses --console naming no VM", () => {
    const r = moat("", "--console", "nope");
    expect(r.stderr).toContain('moat: --console: no VM named "nope" (VMs: vm0)');
    expect(r.status).toBe(2);
  });

  it("delivers 2,000 bytes complete and in order (no receiver overrun)", () => {
    const letters = "abcdefghijklmnoprstuvwxyz"; // no 'q': it ends the guest
    const long = Array.from({ length: 2000 }, (_, i) => (i % 50 === 49 ? "\n" : letters[(i * 7) % letters.length]));
    const text = long.join("");
    const r = moat(`${text}q`);
    expect(r.stdout).toBe(`${text.toUpperCase()}echo: bye\n`);
    expect(r.status).toBe(EXIT_STATUS);
  });

  it("records each input chunk with the virtual TSC it was delivered at (--record)", () => {
    const log = join(dir, "input.jsonl");
    const r = moat("hello\nq", "--record", log);
    expect(r.status).toBe(EXIT_STATUS);
    const lines = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const bytes = Buffer.concat(lines.map((l) => Buffer.from(l.bytes, "base64"))).toString("latin1");
    expect(bytes).toBe("hello\nq");
    for (const l of lines) expect(l).toMatchObject({ vm: "vm0", tsc: expect.any(Number) });
    const tscs = lines.map((l) => l.tsc);
    expect([...tscs].sort((a, b) => a - b)).toEqual(tscs);
  });

  it("keeps a halted guest waiting while stdin is open, and wakes it when input comes", async () => {
    for (const realtime of [false, true]) {
      const p = spawn(process.execPath, [MOAT, "run", guest("echo.elf"), ...(realtime ? ["--realtime"] : [])]);
      let stdout = "";
      const echoed = new Promise<void>((resolve) =>
        p.stdout.on("data", (d) => {
          stdout += d;
          if (stdout.includes("AB")) resolve();
        }),
      );
      const done = new Promise<number | null>((resolve) => p.on("close", resolve));
      p.stdin.write("ab");
      await echoed;
      // The guest has halted with nothing pending; open stdin keeps it alive.
      await new Promise((r) => setTimeout(r, 300));
      p.stdin.end("cq");
      expect(await done).toBe(EXIT_STATUS);
      expect(stdout).toBe("ABCecho: bye\n");
    }
  });

  it("ends a guest halted with nothing pending once stdin is at EOF", () => {
    const r = moat("abc");
    expect(r.stdout).toBe("ABC");
    expect(r.status).toBe(0);
  });
});
