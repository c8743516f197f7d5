// Processor throughput: a tight guest loop (register ALU, a load and a
// store through the TLB, a conditional branch) run through Processor.enter
// until HLT; prints millions of guest instructions per second (MIPS), for
// flat 32-bit code and for the same loop as 16-bit real-mode code, each
// interpreter-only and with the JIT tier (cpu/jit/; it compiles 32-bit flat
// code only, so real16 runs in the interpreter either way).
// Run: npx tsx bench/cpu-loop.ts [iterations]
import { realModeTestMachine, type TestMachine, testMachine } from "../hypervisor/vmx/test-machine.js";

const iterations = Number(process.argv[2] ?? 20_000_000);
// 1000: mov ecx, iterations
//       L: add eax, ecx; xor edx, eax; mov [0x3000], eax; mov ebx, [0x3000]; lea esi, [ebx+edx*2+4]; dec ecx; jnz L
//       hlt
const loop = [
  0x01, 0xc8, 0x31, 0xc2, 0xa3, 0x00, 0x30, 0x00, 0x00, 0x8b, 0x1d, 0x00, 0x30, 0x00, 0x00, 0x8d, 0x74, 0x53, 0x04,
  0x49,
];
const code = [0xb9, ...le32(iterations), ...loop, 0x75, (256 - (loop.length + 2)) & 0xff, 0xf4];
const perIteration = 7;

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

// The loop in real mode at 0100:0000 (16-bit operands and addressing; ECX through a 66 prefix).
const loop16 = [0x01, 0xc8, 0x31, 0xc2, 0xa3, 0x00, 0x30, 0x8b, 0x1e, 0x00, 0x30, 0x8d, 0x70, 0x04, 0x66, 0x49];
const code16 = [0x66, 0xb9, ...le32(iterations), ...loop16, 0x75, (256 - (loop16.length + 2)) & 0xff, 0xf4];

function measure(label: string, make: () => TestMachine, jit: boolean): void {
  for (let round = 0; round < 3; round++) {
    const m = make();
    m.cpu.setJit(jit);
    const t0 = performance.now();
    let reason = 1;
    let retired = 0;
    while (reason === 1) {
      reason = m.run(10_000_000);
      retired += m.cpu.retired;
    }
    const ms = performance.now() - t0;
    const expected = 1 + iterations * perIteration;
    console.log(
      `${label} ${jit ? "jit   " : "interp"} round ${round}: ${retired} instructions (expected ${expected}) in ${ms.toFixed(0)} ms: ${(retired / ms / 1000).toFixed(1)} MIPS, exit ${reason}`,
    );
  }
}

for (const jit of [false, true]) {
  measure(
    "flat32",
    () => {
      const m = testMachine();
      m.load(0x1000, code);
      return m;
    },
    jit,
  );
}
for (const jit of [false, true]) {
  measure(
    "real16",
    () => {
      const m = realModeTestMachine({ cs: 0x100, ip: 0, ss: 0x200, sp: 0, ds: 0, es: 0 });
      m.load(0x1000, code16);
      return m;
    },
    jit,
  );
}
