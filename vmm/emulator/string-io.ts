// INS and OUTS, with and without REP, from an I/O-instruction exit (SDM
// Vol. 2A "INS", Vol. 2B "OUTS"). The exit says everything but the
// registers: the qualification (SDM Vol. 3C Table 27-5) gives size,
// direction, REP and port; the instruction information (Table 27-8) gives
// the address size and, for OUTS, the segment (INS always writes ES:EDI).
// The processor already made the I/O-permission checks before the exit
// (§25.1.1); the memory operand's segment and page checks are the VMM's. INS
// checks the destination before it reads the port, so a fault loses no
// device data. REP chunking as in string-ops.ts.
import type { IoSize } from "../../devices/io-device.js";
import { hex } from "../hex.js";
import type { IoBus } from "../io-bus.js";
import type { EmulationAbort } from "./fault.js";
import { type GuestMemory, PhysicalSpan } from "./memory-access.js";
import { EMU_DONE, EMU_REPEAT } from "./outcome.js";
import { ECX, EDI, ES, ESI, type RegisterFile } from "./register-file.js";
import { ACCESS_READ, ACCESS_WRITE } from "./segments.js";
import { DEFAULT_REP_LIMIT, indexReg, setIndexReg, stepIndex } from "./string-ops.js";

/** Table 27-5. */
const QUAL_IN = 0x8;
const QUAL_STRING = 0x10;
const QUAL_REP = 0x20;

export class StringIo {
  private readonly span = new PhysicalSpan();

  constructor(
    private readonly regs: RegisterFile,
    private readonly mem: GuestMemory,
    private readonly io: IoBus,
    private readonly abort: EmulationAbort,
    readonly repLimit = DEFAULT_REP_LIMIT,
  ) {}

  /** Carries out the INS/OUTS the exit describes: EMU_DONE or EMU_REPEAT; throws a fault or stop. */
  run(qual: number, instInfo: number): number {
    const code = qual & 7;
    if (!(qual & QUAL_STRING) || (code !== 0 && code !== 1 && code !== 3)) {
      throw this.abort.stop(`emulator: not a string I/O qualification ${hex(qual)}`);
    }
    const size = (code + 1) as IoSize;
    const input = (qual & QUAL_IN) !== 0;
    const port = qual >>> 16;
    const addrSize = (instInfo >>> 7) & 7;
    const seg = input ? ES : (instInfo >>> 15) & 7;
    if (addrSize > 1 || seg > 5) {
      throw this.abort.stop(`emulator: string I/O instruction information ${hex(instInfo)} names no IA-32 operand`);
    }
    const a16 = addrSize === 0;
    if (!(qual & QUAL_REP)) {
      this.once(input, port, size, seg, a16);
      return EMU_DONE;
    }
    const r = this.regs;
    for (let n = 0; n < this.repLimit; n++) {
      const count = indexReg(r, ECX, a16);
      if (count === 0) return EMU_DONE;
      this.once(input, port, size, seg, a16);
      setIndexReg(r, ECX, a16, count - 1);
    }
    return indexReg(r, ECX, a16) === 0 ? EMU_DONE : EMU_REPEAT;
  }

  private once(input: boolean, port: number, size: IoSize, seg: number, a16: boolean): void {
    const r = this.regs;
    if (input) {
      this.mem.translate(this.span, ES, indexReg(r, EDI, a16), size, ACCESS_WRITE);
      this.mem.write(this.span, this.io.read(port, size));
      stepIndex(r, EDI, size, a16);
    } else {
      this.mem.translate(this.span, seg, indexReg(r, ESI, a16), size, ACCESS_READ);
      this.io.write(port, size, this.mem.read(this.span));
      stepIndex(r, ESI, size, a16);
    }
  }
}
