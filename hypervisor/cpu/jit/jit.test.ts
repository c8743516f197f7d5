// The JIT tier's contract with the rest of the processor, checked on guest
// programs whose expected state follows from the instruction semantics
// (SDM Vol. 2) and from the rules the processor implements:
// - the retired-instruction count at every exit equals the budget exactly
//   (DESIGN.md §5), and EIP/ECX are those the program has after that many
//   instructions;
// - a #PF (SDM Vol. 3A §4.7, error code; §27.2.1: a #PF VM exit reports the
//   linear address as the qualification) and an EPT violation (Vol. 3C
//   §28.2.3) in the middle of a compiled block stop at the faulting
//   instruction with every earlier instruction retired;
// - self-modifying code (Vol. 3A §11.6: a store to code is seen by the next
//   fetch) and memory written from outside between entries;
// - the guests' own self-checks (paging-ring3, exits: PASS/FAIL lines)
//   with the JIT on and off: same output and the same instruction count.
import { afterEach, describe, expect, it } from "vitest";
import { guest, runVms, vm } from "../../../test/helpers.js";
import { ExitReason } from "../../vmx/exit-reason.js";
import { type TestMachine, testMachine } from "../../vmx/test-machine.js";
import * as F from "../../vmx/vmcs-fields.js";

const le = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

function machine(code: number[], state: { eip?: number; esp?: number; cr0?: number; cr3?: number; cr4?: number } = {}) {
  const m = testMachine(0x200000, { eip: 0x1000, esp: 0x8000, ...state });
  m.cpu.setJit(true);
  m.cpu.jit!.hot = 24; // compile these short programs early
  m.load(state.eip ?? 0x1000, code);
  return m;
}

/** Run until an exit other than the budget's, adding up retired instructions. */
function runToExit(m: TestMachine, budget = 1_000_000): { reason: number; retired: number } {
  let retired = 0;
  for (;;) {
    const reason = m.run(budget);
    retired += m.cpu.retired;
    if (reason !== ExitReason.EXTERNAL_INTERRUPT) return { reason, retired };
  }
}

describe("instruction counts", () => {
  // 1000: mov ecx, N
  // 1005: L: add eax, ecx; xor edx, eax; mov [0x3000], eax; mov ebx, [0x3000]; lea esi, [ebx+edx*2+4]; dec ecx; jnz L
  // 101b: hlt
  const N = 3000;
  const loop = [0x01, 0xc8, 0x31, 0xc2, 0xa3, ...le(0x3000), 0x8b, 0x1d, ...le(0x3000), 0x8d, 0x74, 0x53, 0x04, 0x49];
  const code = [0xb9, ...le(N), ...loop, 0x75, (256 - (loop.length + 2)) & 0xff, 0xf4];
  const starts = [0x1005, 0x1007, 0x1009, 0x100e, 0x1014, 0x1018, 0x1019];

  it("every budget exit retires exactly the budget, at the EIP and ECX the program has after that many instructions", () => {
    const m = machine(code);
    let total = 0;
    let seed = 12345;
    for (;;) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const budget = 1 + (seed % 397);
      const reason = m.run(budget);
      const st = m.cpu.state;
      if (reason === ExitReason.HLT) break;
      expect(reason).toBe(ExitReason.EXTERNAL_INTERRUPT);
      expect(m.cpu.retired).toBe(budget);
      total += budget;
      const k = total - 1; // instructions of the loop executed
      const i = Math.floor(k / 7);
      const j = k % 7;
      expect(st.eip).toBe(i === N ? 0x101b : starts[j]);
      expect(st.regs[1]).toBe(N - i - (j === 6 ? 1 : 0));
    }
    total += m.cpu.retired;
    expect(total).toBe(1 + 7 * N); // HLT exits without retiring
    // Each entry starts with an empty TLB (no VPID), so its first accesses are interpreted.
    expect(m.cpu.jit!.stats.compiledInsns).toBeGreaterThan(total / 3);
  });

  it("a budget that ends inside a compiled loop resumes there with the same result as one long run", () => {
    const whole = machine(code);
    expect(runToExit(whole, 10_000_000)).toEqual({ reason: ExitReason.HLT, retired: 1 + 7 * N });
    const sliced = machine(code);
    expect(runToExit(sliced, 1001)).toEqual({ reason: ExitReason.HLT, retired: 1 + 7 * N });
    expect([...sliced.cpu.state.regs]).toEqual([...whole.cpu.state.regs]);
    expect(sliced.cpu.jit!.stats.compiledInsns).toBeGreaterThan(N);
  });
});

describe("flags", () => {
  it("a carry set by an inlined shift reaches ADC after flags were stored for a helper", () => {
    // 1000: mov ecx, N; xor edx, edx
    // 1007: L: inc esi; mov [0x3000], esi; mov eax, ecx; shl eax, 30; adc edx, 0; dec ecx; jnz L; hlt
    // SHL by 30 leaves bit 2 of ECX in CF (Vol. 2 SAL/SAL/SHR: CF = last bit shifted out); ADC adds it.
    const N = 3000;
    const body = [0x46, 0x89, 0x35, ...le(0x3000), 0x89, 0xc8, 0xc1, 0xe0, 0x1e, 0x83, 0xd2, 0x00, 0x49];
    const m = machine([0xb9, ...le(N), 0x31, 0xd2, ...body, 0x75, 256 - (body.length + 2), 0xf4]);
    expect(runToExit(m).reason).toBe(ExitReason.HLT);
    let want = 0;
    for (let c = N; c >= 1; c--) want += (c >> 2) & 1;
    expect(m.cpu.state.regs[2]).toBe(want);
    expect(m.cpu.jit!.stats.compiledInsns).toBeGreaterThan(N);
  });
});

describe("precise faults inside compiled code", () => {
  // 1000: mov ecx, N; mov ebx, START; xor edx, edx
  // 100c: L: inc edx; mov eax, [ebx]; add eax, 1; mov [ebx], eax; add ebx, 64; dec ecx; jnz L; hlt
  function walker(start: number, n: number): number[] {
    const body = [0x42, 0x8b, 0x03, 0x83, 0xc0, 0x01, 0x89, 0x03, 0x83, 0xc3, 0x40, 0x49];
    return [0xb9, ...le(n), 0xbb, ...le(start), 0x31, 0xd2, ...body, 0x75, (256 - (body.length + 2)) & 0xff, 0xf4];
  }
  const LOAD = 0x100d; // mov eax, [ebx]
  const iterations = 3000;

  it("an EPT violation stops at the load with the earlier instructions of the block retired", () => {
    // RAM (and the EPT mapping) ends at 2 MiB: iteration `iterations` reads 0x200000 (Vol. 3C §28.2.3).
    const m = machine(walker(0x200000 - 64 * iterations, iterations + 10));
    const { reason, retired } = runToExit(m);
    expect(reason).toBe(ExitReason.EPT_VIOLATION);
    expect(m.vmcs.read(F.GUEST_PHYSICAL_ADDRESS)).toBe(0x200000);
    expect(m.vmcs.read(F.GUEST_RIP)).toBe(LOAD);
    expect(retired).toBe(3 + 7 * iterations + 1); // the INC of the faulting iteration retired
    expect(m.cpu.state.regs[2]).toBe(iterations + 1);
    expect(m.cpu.jit!.stats.compiledInsns).toBeGreaterThan(retired / 2);
  });

  it("a #PF on a not-present page exits at the load with the SDM's error code and address", () => {
    // Paging with one page table: 0-2 MiB identity mapped, the page at 0x150000 not present (§4.3, Table 4-6).
    const m = machine(walker(0x150000 - 64 * iterations, iterations + 10), {
      cr0: 0x80000031,
      cr3: 0x20000,
    });
    const pd = new DataView(m.ram.buffer, 0x20000, 4096);
    pd.setUint32(0, 0x21000 | 3, true);
    const pt = new DataView(m.ram.buffer, 0x21000, 4096);
    for (let i = 0; i < 512; i++) pt.setUint32(4 * i, i === 0x150 ? 0 : (i << 12) | 3, true);
    m.vmcs.write(F.EXCEPTION_BITMAP, 1 << 14);
    const { reason, retired } = runToExit(m);
    expect(reason).toBe(ExitReason.EXCEPTION_NMI);
    // Vector 14, hardware exception, error code valid, valid (§24.9.2); error code 0: not present, read, supervisor.
    expect(m.vmcs.read(F.VM_EXIT_INTR_INFO)).toBe(0x80000b0e);
    expect(m.vmcs.read(F.VM_EXIT_INTR_ERROR_CODE)).toBe(0);
    expect(m.vmcs.read(F.EXIT_QUALIFICATION)).toBe(0x150000);
    expect(m.vmcs.read(F.GUEST_RIP)).toBe(LOAD);
    expect(retired).toBe(3 + 7 * iterations + 1);
    expect(m.cpu.state.cr2).toBe(0); // a #PF that exits does not write CR2 (§27.1)
    expect(m.cpu.jit!.stats.compiledInsns).toBeGreaterThan(retired / 2);
  });
});

describe("code that changes", () => {
  it("a loop that increments its own MOV immediate sees every new value", () => {
    // 1000: mov ecx, N; xor edx, edx
    // 1007: L: mov eax, imm32 (0); add edx, eax; inc dword [0x1008]; dec ecx; jnz L; hlt
    const N = 2000;
    const code = [
      0xb9,
      ...le(N),
      0x31,
      0xd2,
      0xb8,
      ...le(0),
      0x01,
      0xc2,
      0xff,
      0x05,
      ...le(0x1008),
      0x49,
      0x75,
      0xf0,
      0xf4,
    ];
    const m = machine(code);
    expect(runToExit(m)).toEqual({ reason: ExitReason.HLT, retired: 2 + 5 * N });
    expect(m.cpu.state.regs[2]).toBe((N * (N - 1)) / 2);
    expect(new DataView(m.ram.buffer).getUint32(0x1008, true)).toBe(N);
    expect(m.cpu.jit!.stats.invalidations).toBeGreaterThan(0);
  });

  it("a store into the next instruction of the same block takes effect", () => {
    // 1000: mov ecx, N; xor edx, edx
    // 1007: L: mov [0x100e], cl; mov bl, imm8; movzx ebx, bl; add edx, ebx; dec ecx; jnz L; hlt
    const N = 1500;
    const code = [0xb9, ...le(N), 0x31, 0xd2, 0x88, 0x0d, ...le(0x100e), 0xb3, 0x00, 0x0f, 0xb6, 0xdb, 0x01, 0xda];
    code.push(0x49, 0x75, 256 - (code.length - 7 + 3), 0xf4); // back to L (0x1007)
    const m = machine(code);
    expect(runToExit(m).reason).toBe(ExitReason.HLT);
    let sum = 0;
    for (let c = N; c >= 1; c--) sum += c & 0xff;
    expect(m.cpu.state.regs[2]).toBe(sum);
  });

  it("an immediate changed in host memory between entries (as a VMM writes guest RAM) is seen", () => {
    // 1000: mov ecx, N; L: add edx, imm32; dec ecx; jnz L; hlt
    const N = 30_000;
    const m = machine([0xb9, ...le(N), 0x81, 0xc2, ...le(3), 0x49, 0x75, 0xf7, 0xf4]);
    const first = 20_000;
    expect(m.run(first)).toBe(ExitReason.EXTERNAL_INTERRUPT);
    expect(m.cpu.jit!.stats.compiledInsns).toBeGreaterThan(first / 2);
    m.ram.set(le(1000), 0x1007);
    const rest = runToExit(m);
    expect(rest.reason).toBe(ExitReason.HLT);
    const adds = Math.ceil((first - 1) / 3); // ADDs among the first `first` instructions (MOV, then ADD/DEC/JNZ)
    expect(m.cpu.state.regs[2]).toBe(3 * adds + 1000 * (N - adds));
    expect(m.cpu.jit!.stats.invalidations).toBeGreaterThan(0);
  });
});

describe("guests check themselves with the JIT on and off", () => {
  const saved = [process.env.MOAT_JIT, process.env.MOAT_JIT_HOT];
  afterEach(() => {
    if (saved[0] === undefined) delete process.env.MOAT_JIT;
    else process.env.MOAT_JIT = saved[0];
    if (saved[1] === undefined) delete process.env.MOAT_JIT_HOT;
    else process.env.MOAT_JIT_HOT = saved[1];
  });

  async function both(image: string) {
    const runs = [];
    for (const jit of ["0", "1"]) {
      process.env.MOAT_JIT = jit;
      process.env.MOAT_JIT_HOT = "16"; // these guests are short: compile early so the JIT runs much of them
      runs.push((await runVms([vm("g", guest(image))])).get("g")!);
    }
    return runs;
  }

  it("paging-ring3: same output and instruction count", async () => {
    const [off, on] = await both("paging-ring3.elf");
    expect(on.output).toContain("paging-ring3: 14 checks passed, 0 failed\n");
    expect(on.output).toBe(off.output);
    expect(on.instructions).toBe(off.instructions);
  });

  it("exits: same output and instruction count", async () => {
    const [off, on] = await both("exits.elf");
    expect(on.output).toContain("exits: 20 checks passed, 0 failed\n");
    expect(on.output).toBe(off.output);
    expect(on.instructions).toBe(off.instructions);
  });
});
