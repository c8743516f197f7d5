// Instruction fetch outside the interpreter's fast case: a new code page,
// or an instruction that may cross into the next page. The interpreter reads
// up to 16 bytes from the buffer this returns, starting at st.dp.
import { insnLength } from "./decode.js";
import { FAULT } from "./fault.js";
import type { CpuState } from "./state.js";

export function fetchWindow(st: CpuState, lin: number): Uint8Array {
  const m = st.mem;
  if (lin >>> 12 !== m.codePage) m.loadCodePage(lin);
  const off = lin & 0xfff;
  if (off <= 0xff0) {
    st.dp = m.codeOff + off;
    return m.codeBytes;
  }
  // Near the end of the page: gather the bytes of both pages.
  const s = m.scratch;
  const n = 4096 - off;
  const first = m.codeBytes;
  const firstOff = m.codeOff + off;
  for (let i = 0; i < n; i++) s[i] = first[firstOff + i];
  const exitBefore = st.exitReason;
  try {
    m.loadCodePage((lin + n) | 0);
    const b = m.codeBytes;
    for (let i = n; i < 32; i++) s[i] = b[m.codeOff + i - n];
  } catch (e) {
    if (e !== FAULT) throw e;
    // The next page cannot be fetched: that is a fault only if the instruction extends into it (§6.5).
    s.fill(0, n);
    if (insnLength(s, 0, st.code16) > n) throw e;
    st.exitReason = exitBefore;
  }
  st.dp = 0;
  return s;
}
