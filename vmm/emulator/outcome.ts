// What emulating one instruction (or one chunk of a REP string instruction)
// came to; the handler turns it into the reply.

/** Carried out: EIP moves past the instruction. */
export const EMU_DONE = 0;
/** A REP chunk ran and the count is not exhausted: EIP stays, so the guest re-executes it (SDM Vol. 2B "REP"). */
export const EMU_REPEAT = 1;
/** An exception to inject; EIP stays on the instruction (a fault, SDM §6.5). */
export const EMU_FAULT = 2;
/** The VMM cannot go on: stop the VM with the abort's reason. */
export const EMU_STOP = 3;
