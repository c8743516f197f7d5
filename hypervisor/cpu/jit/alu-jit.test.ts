// Oracle: the host CPU (as hypervisor/cpu/alu.test.ts). alu-oracle.c runs
// each instruction natively on edge and random operands and prints EAX, EDX
// and EFLAGS. Here the same instructions run as compiled code of the JIT
// tier: the guest program runs its list of cases several times, so its
// pages are hot and compiled, and the last pass is checked. Each case runs
// twice per pass: with its flags live (SETcc of all 16 conditions, then
// PUSHFD: the lazy flags and the condition expressions of translate.ts) and
// with its flags dead (overwritten by a CMP: the result-only fast paths).
// Expected SETcc values follow from the host's flags by the condition
// definitions of SDM Vol. 1 App. B. Undefined flags are masked as SDM Vol. 2
// "Flags Affected" says (the same rule as alu.test.ts).
import { beforeAll, describe, expect, it } from "vitest";
import { ExitReason } from "../../vmx/exit-reason.js";
import { le32 } from "../../vmx/test-descriptors.js";
import { testMachine } from "../../vmx/test-machine.js";
import {
  definedFlags,
  definesEdx,
  describeCase,
  ENC,
  hex,
  loadInputs,
  type OracleCase,
  runAluOracle,
  storeEaxEdx,
  storeResults,
} from "../alu-oracle-cases.js";
import { CF, OF, PF, SF, ZF } from "../flags.js";

/** The instructions of alu-oracle-cases.ts's ENC that the JIT translates (none leaves its result undefined). */
const JIT_INSNS = [
  "add32",
  "adc32",
  "sub32",
  "sbb32",
  "and32",
  "or32",
  "xor32",
  "cmp32",
  "add8",
  "adc8",
  "sub8",
  "sbb8",
  "cmp8",
  "inc32",
  "dec32",
  "neg32",
  "inc8",
  "shl32",
  "shr32",
  "sar32",
  "rol32",
  "ror32",
  "rcl32",
  "rcr32",
  "shl8",
  "shr8",
  "sar8",
  "shl32i1",
  "sar32i1",
  "rcl32i1",
  "rcr32i1",
  "imul32",
  "imul3_32",
  "imul3_32i",
  "mul32",
  "imul1_32",
  "mul8",
  "div32",
  "cdq",
  "cwde",
];

/** Cases per instruction (seeded choice from the oracle's list, edge cases first). */
const PER_INSN = 160;
const PASSES = 6;

/** SDM Vol. 1 App. B: the flags condition cc reads, and its value. */
const CC_FLAGS = [
  OF,
  OF,
  CF,
  CF,
  ZF,
  ZF,
  CF | ZF,
  CF | ZF,
  SF,
  SF,
  PF,
  PF,
  SF | OF,
  SF | OF,
  ZF | SF | OF,
  ZF | SF | OF,
];
function condition(cc: number, f: number): number {
  const of = (f & OF) !== 0;
  const sf = (f & SF) !== 0;
  const zf = (f & ZF) !== 0;
  const t = [of, (f & CF) !== 0, zf, (f & (CF | ZF)) !== 0, sf, (f & PF) !== 0, sf !== of, zf || sf !== of][cc >> 1]!;
  return (cc & 1 ? !t : t) ? 1 : 0;
}

let cases: OracleCase[] = [];

beforeAll(() => {
  cases = runAluOracle(false);
});

/** Slot of one case in the results area: EAX, EDX, EFLAGS (live run), EAX, EDX (dead run), 16 SETcc bytes. */
const SLOT = 36;

/**
 * One guest program: PASSES times over every case. A case loads its
 * operands, POPFD's its input flags, runs the instruction, stores the 16
 * conditions with SETcc and PUSHFD's the flags; then it runs again with a
 * CMP after it (flags dead) and stores EAX and EDX.
 */
function runCompiled(list: OracleCase[]): { out: Uint8Array; compiled: number; retired: number } {
  const results = 0x10000;
  const code = 0x100000;
  const m = testMachine(0x800000, { eip: code, esp: 0x8000 });
  m.cpu.setJit(true);
  m.cpu.jit!.hot = 24;
  const bytes: number[] = [0xbf, ...le32(PASSES)]; // mov edi, passes
  const top = bytes.length;
  list.forEach((k, n) => {
    const at = results + SLOT * n;
    bytes.push(...loadInputs(k), ...ENC[k.name]!);
    for (let cc = 0; cc < 16; cc++) bytes.push(0x0f, 0x90 | cc, 0x05, ...le32(at + 20 + cc)); // setcc [at+20+cc]
    bytes.push(...storeResults(at));
    bytes.push(...loadInputs(k), ...ENC[k.name]!, 0x39, 0xf6); // insn; cmp esi, esi (all flags overwritten)
    bytes.push(...storeEaxEdx(at + 12));
  });
  const back = -(bytes.length + 1 + 6 - top);
  bytes.push(0x4f, 0x0f, 0x85, ...le32(back), 0xf4); // dec edi; jnz top; hlt
  m.load(code, bytes);
  let retired = 0;
  let reason = 1;
  while (reason === ExitReason.EXTERNAL_INTERRUPT) {
    reason = m.run(50_000_000);
    retired += m.cpu.retired;
  }
  expect(reason).toBe(ExitReason.HLT);
  return {
    out: m.ram.subarray(results, results + SLOT * list.length),
    compiled: m.cpu.jit!.stats.compiledInsns,
    retired,
  };
}

/** A deterministic choice of cases: the first (edge) ones, then every k-th. */
function pick(name: string): OracleCase[] {
  const all = cases.filter((k) => k.name === name);
  const edge = all.slice(0, PER_INSN / 2);
  const step = Math.max(1, Math.floor(all.length / (PER_INSN / 2)));
  return [...edge, ...all.filter((_, i) => i % step === 0).slice(0, PER_INSN / 2)];
}

describe("JIT-compiled ALU instructions match the host CPU", () => {
  it.each(JIT_INSNS)("%s", (name) => {
    const list = pick(name);
    expect(list.length).toBeGreaterThan(0);
    const { out, compiled, retired } = runCompiled(list);
    // A large part of the program must have run as compiled code (POPFD/PUSHFD and TLB misses stay interpreted).
    expect(compiled / retired).toBeGreaterThan(0.2);
    const w = new DataView(out.buffer, out.byteOffset, out.byteLength);
    const bad: string[] = [];
    list.forEach((k, n) => {
      const o = SLOT * n;
      const [eax, edx, flags, eaxDead, edxDead] = [0, 4, 8, 12, 16].map((x) => w.getUint32(o + x, true));
      const mask = definedFlags(k);
      const checkEdx = definesEdx(name);
      const what = describeCase(k);
      if (eax !== k.eax >>> 0 || eaxDead !== k.eax >>> 0)
        bad.push(`${what}: eax ${hex(eax)} ${hex(eaxDead)} want ${hex(k.eax)}`);
      if (checkEdx && (edx !== k.edx >>> 0 || edxDead !== k.edx >>> 0))
        bad.push(`${what}: edx ${hex(edx)} ${hex(edxDead)} want ${hex(k.edx)}`);
      if (((flags ^ k.flags) & mask) !== 0) bad.push(`${what}: flags ${hex(flags & mask)} want ${hex(k.flags & mask)}`);
      for (let cc = 0; cc < 16; cc++) {
        if ((CC_FLAGS[cc]! & mask) !== CC_FLAGS[cc]) continue; // depends on an undefined flag
        const got = out[o + 20 + cc];
        if (got !== condition(cc, k.flags)) bad.push(`${what}: setcc ${cc} = ${got}`);
      }
    });
    expect(bad.slice(0, 10)).toEqual([]);
  });
});
