// Oracle: the host CPU. alu-oracle.c (built with the system gcc in beforeAll)
// executes each instruction natively for a grid of edge operands and input
// flags plus 2,000 seeded random cases per instruction, and prints EAX, EDX
// and EFLAGS; alu-oracle32.c does the same for the BCD instructions (which
// need 32-bit mode: built -m32, freestanding). The same instruction then runs
// in the guest and must give the same results and the same *defined* flags
// (SDM Vol. 2 "Flags Affected" of each instruction). Undefined flags and
// undefined results (BSF/BSR of 0, SHLD/SHRD 16-bit with a count > 16) are
// masked, so the comparison does not depend on the host vendor: this
// processor's own choice for them is documented in alu.ts / bcd.ts.
import { beforeAll, describe, expect, it } from "vitest";
import { ExitReason } from "../vmx/exit-reason.js";
import { testMachine } from "../vmx/test-machine.js";
import {
  definedFlags,
  definesEdx,
  describeCase,
  ENC,
  hex,
  loadInputs,
  type OracleCase,
  runAluOracle,
  storeResults,
  undefinedResult,
} from "./alu-oracle-cases.js";

let cases: OracleCase[] = [];

beforeAll(() => {
  cases = runAluOracle(true);
});

/** Run every case in one guest program that stores EAX, EDX, EFLAGS to a results table. */
function runInGuest(list: OracleCase[]): Uint32Array {
  const results = 0x10000;
  const code = 0x100000;
  const m = testMachine(0x400000, { eip: code, esp: 0x8000 });
  const bytes: number[] = [];
  list.forEach((k, n) => {
    bytes.push(...loadInputs(k), ...ENC[k.name]!, ...storeResults(results + 12 * n));
  });
  bytes.push(0xf4);
  m.load(code, bytes);
  expect(m.run(100_000_000)).toBe(ExitReason.HLT);
  return new Uint32Array(m.ram.buffer, results, 3 * list.length);
}

describe("ALU results and flags match the host CPU", () => {
  it("covers every oracle case", () => {
    expect(cases.length).toBeGreaterThan(250_000);
    for (const k of cases) expect(ENC[k.name], k.name).toBeDefined();
  });

  it.each(Object.keys(ENC))("%s", (name) => {
    const list = cases.filter((k) => k.name === name);
    expect(list.length).toBeGreaterThan(0);
    const got = runInGuest(list);
    const bad: string[] = [];
    list.forEach((k, n) => {
      const eax = got[3 * n];
      const edx = got[3 * n + 1];
      const flags = got[3 * n + 2];
      const mask = definedFlags(k);
      const checkEax = !undefinedResult(k);
      const checkEdx = definesEdx(name);
      if ((checkEax && eax !== k.eax) || (checkEdx && edx !== k.edx) || ((flags ^ k.flags) & mask) !== 0) {
        bad.push(
          `${describeCase(k)}: eax ${hex(eax)}/${hex(k.eax)} edx ${hex(edx)}/${hex(k.edx)} ` +
            `flags ${hex(flags & mask)}/${hex(k.flags & mask)}`,
        );
      }
    });
    expect(bad.slice(0, 10)).toEqual([]);
  });
});
