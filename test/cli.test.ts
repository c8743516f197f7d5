// The CLI's contract for bad input (issue: "a missing or malformed image or
// config gets a one-line error that names the problem and a non-zero exit"),
// checked by running the real `moat` command as a user would.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { guest } from "./helpers.js";

const MOAT = fileURLToPath(new URL("../bin/moat.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "moat-cli-"));

function moat(...args: string[]) {
  const r = spawnSync(process.execPath, [MOAT, ...args], { encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, content: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

describe("moat run", () => {
  it("streams a guest's serial output and exits 0", () => {
    const r = moat("run", guest("hello.elf"));
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("Hello");
    expect(r.status).toBe(0);
  });

  it("prints exits per reason with --stats", () => {
    const r = moat("run", guest("hello.elf"), "--stats");
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/IO_INSTRUCTION \(30\)\s+\d+/);
    expect(r.stderr).toMatch(/STARTUP \(254\)\s+1\b/);
  });

  it.each([
    ["a missing image", () => [join(dir, "nope.elf")], /^moat: .*nope\.elf: cannot read guest image: ENOENT$/],
    ["an empty image", () => [file("empty.elf", "")], /^moat: .*empty\.elf: guest image is empty$/],
    ["a non-ELF image", () => [file("junk.elf", "MZ not an elf")], /^moat: .*junk\.elf: not an ELF file \(bad magic\)/],
    ["malformed JSON", () => [file("bad.json", "{ vms: ")], /^moat: .*bad\.json: not valid JSON/],
    [
      "a config naming a missing image",
      () => [file("missing.json", '{"vms":[{"image":"gone.elf"}]}')],
      /gone\.elf: cannot read guest image: ENOENT/,
    ],
    [
      "an unknown config field",
      () => [file("typo.json", '{"vms":[{"image":"a.elf","memroy":"16M"}]}')],
      /vms\[0\]\.memroy: unknown field/,
    ],
    [
      "a bad option value",
      () => [guest("hello.elf"), "--memory", "lots"],
      /^moat: --memory: expected a size like 16M, got "lots"/,
    ],
  ])("rejects %s with one line naming the problem", (_what, args, pattern) => {
    const r = moat("run", ...(args() as string[]));
    expect(r.status).toBe(2);
    expect(r.stderr.split("\n")[0]).toMatch(pattern);
    expect(r.stdout).toBe("");
  });

  it("reports a truncated ELF found by the VMM's loader as the VM's end, non-zero", () => {
    const elf = new Uint8Array(64);
    elf.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
    const r = moat("run", file("trunc.elf", elf));
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^moat: vm vm0 stopped: ELF/);
  });
});
