// Interpreter throughput: a tight guest loop (register ALU, a load and a
// store through the TLB, a conditional branch) run through Processor.enter
// until HLT; prints millions of guest instructions per second (MIPS).
// Run: npx tsx bench/cpu-loop.ts [iterations]
import { testMachine } from "../hypervisor/vmx/test-machine.js";

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

for (let round = 0; round < 3; round++) {
  const m = testMachine();
  m.load(0x1000, code);
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
    `round ${round}: ${retired} instructions (expected ${expected}) in ${ms.toFixed(0)} ms: ${(retired / ms / 1000).toFixed(1)} MIPS, exit ${reason}`,
  );
}
