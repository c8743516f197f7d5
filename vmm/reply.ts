// Builds one VmReply (proto/moat.proto): the MTD of the groups the VMM
// changed and those groups' values, an event to inject, or a stop. A group
// named in the reply MTD is written whole by the kernel, so a handler that
// changes one member of a group starts from the exit's values of the others.
import type { IEvent, IGuestState, IVmExit, IVmReply } from "../proto/index.js";
import { Mtd } from "../proto/mtd.js";

/** SDM §24.4.2 interruptibility state: blocking by STI (bit 0) and by MOV SS (bit 1). */
const BLOCKING_BY_STI_MOV_SS = 0x3;

/** Event types of the VM-entry interruption-information field (SDM §24.8.3). */
export const EventType = {
  EXTERNAL: 0,
  NMI: 2,
  HW_EXCEPTION: 3,
  SW_INTERRUPT: 4,
  PRIV_SW_EXCEPTION: 5,
  SW_EXCEPTION: 6,
};

export type Gpr4 = "eax" | "ebx" | "ecx" | "edx";

export class ReplyBuilder {
  readonly msg: IVmReply & { state: IGuestState } = { state: {} };
  private mtd = 0;
  readonly exit: IVmExit;
  readonly in: IGuestState;

  constructor(exit: IVmExit) {
    this.exit = exit;
    this.in = exit.state ?? {};
  }

  get stopped(): boolean {
    return this.msg.stop === true;
  }

  /** Sets one of EAX/EBX/ECX/EDX; the rest of group GPR_ACDB keeps the exit's values. */
  setGpr(reg: Gpr4, value: number): void {
    if (!(this.mtd & Mtd.GPR_ACDB)) {
      const s = this.msg.state;
      s.eax = this.in.eax ?? 0;
      s.ebx = this.in.ebx ?? 0;
      s.ecx = this.in.ecx ?? 0;
      s.edx = this.in.edx ?? 0;
      this.mtd |= Mtd.GPR_ACDB;
    }
    this.msg.state[reg] = value >>> 0;
  }

  /**
   * Completes an instruction-caused exit: EIP moves past the instruction
   * (exit.inst_len, SDM §27.2.5), and the blocking by STI or MOV SS that the
   * instruction was under ends with it (SDM §24.4.2), as after any
   * instruction that retires.
   */
  advanceEip(): void {
    const len = this.exit.instLen ?? 0;
    this.msg.state.eip = ((this.in.eip ?? 0) + len) >>> 0;
    this.msg.state.instLen = len;
    this.mtd |= Mtd.RIP_LEN;
    const intr = this.in.intrState ?? 0;
    if (this.exitHas(Mtd.STA) && intr & BLOCKING_BY_STI_MOV_SS) {
      this.setSta(intr & ~BLOCKING_BY_STI_MOV_SS, this.staActivity());
    }
  }

  /** Sets the activity state (SDM §24.4.2: 0 active, 1 HLT). */
  setActivity(actv: number): void {
    this.setSta(this.staIntr(), actv);
  }

  /** Merges whole groups of guest state (used by startup) and names them in the MTD. */
  setState(mtd: number, state: IGuestState): void {
    Object.assign(this.msg.state, state);
    this.mtd |= mtd;
  }

  /** Injects a hardware exception (type 3), optionally with an error code. */
  injectException(vector: number, error?: number): void {
    const ev: IEvent = { vector, type: EventType.HW_EXCEPTION, hasError: error !== undefined, error: error ?? 0 };
    this.msg.inject = ev;
    this.msg.injectValid = true;
    this.mtd |= Mtd.INJ;
  }

  /** Asks the kernel to stop the VM with a one-line reason and exit status:
   * 0 when the guest ended normally, non-zero when it cannot go on (a bad
   * image, an exit the VMM does not handle, a triple fault). */
  stop(reason: string, exitCode = 0): void {
    this.msg.stop = true;
    this.msg.stopReason = reason;
    this.msg.exitCode = exitCode | 0;
  }

  exitHas(groups: number): boolean {
    return ((this.exit.mtd ?? 0) & groups) === groups;
  }

  /** The finished reply message (state only if some group changed). */
  finish(consoleOut: Uint8Array | null): IVmReply {
    const m = this.msg;
    m.mtd = this.mtd >>> 0;
    if (this.mtd === 0 || this.mtd === Mtd.INJ) delete (m as IVmReply).state;
    if (consoleOut && consoleOut.length > 0) m.consoleOut = consoleOut;
    return m;
  }

  private setSta(intr: number, actv: number): void {
    this.msg.state.intrState = intr >>> 0;
    this.msg.state.actvState = actv >>> 0;
    this.mtd |= Mtd.STA;
  }

  private staIntr(): number {
    return this.mtd & Mtd.STA ? (this.msg.state.intrState ?? 0) : (this.in.intrState ?? 0);
  }

  private staActivity(): number {
    return this.mtd & Mtd.STA ? (this.msg.state.actvState ?? 0) : (this.in.actvState ?? 0);
  }
}
