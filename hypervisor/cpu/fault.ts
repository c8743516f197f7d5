// How an instruction stops early. A guest exception or a VM exit found deep
// inside an instruction (a page fault on its third memory access, an EPT
// violation while pushing an interrupt frame) unwinds to the interpreter
// loop by throwing this one preallocated plain object: an Error subclass
// would capture a stack trace on every guest page fault (DESIGN.md §7).
// The details travel in CpuState (excVector/excError/excCr2, exit*).
import type { CpuState } from "./state.js";

export const FAULT_EXCEPTION = 1;
export const FAULT_EXIT = 2;

export interface GuestFault {
  kind: number;
}

export const FAULT: GuestFault = { kind: 0 };

/** No error code (the exception does not push one). */
export const NO_ERROR = -1;

// Exception vectors (SDM Vol. 3A §6.3.1, Table 6-1).
export const DE = 0;
export const DB = 1;
export const NMI = 2;
export const BP = 3;
export const OFV = 4;
export const BR = 5;
export const UD = 6;
export const NM = 7;
export const DF = 8;
export const TS = 10;
export const NP = 11;
export const SS = 12;
export const GP = 13;
export const PF = 14;
export const MF = 16;
export const AC = 17;

/** Vectors that push an error code (§6.13): #DF, #TS, #NP, #SS, #GP, #PF, #AC. */
export function hasErrorCode(vector: number): boolean {
  return vector === DF || (vector >= TS && vector <= PF) || vector === AC;
}

/** Raise guest exception `vector` with `error` (NO_ERROR for none); never returns. */
export function raise(st: CpuState, vector: number, error: number): never {
  st.excVector = vector;
  st.excError = error;
  FAULT.kind = FAULT_EXCEPTION;
  throw FAULT;
}

/** #GP(error). */
export function gp(st: CpuState, error: number): never {
  return raise(st, GP, error);
}

/** #UD. */
export function ud(st: CpuState): never {
  return raise(st, UD, NO_ERROR);
}

/** Leave the guest: st.exit* must already describe the VM exit. */
export function exitNow(): never {
  FAULT.kind = FAULT_EXIT;
  throw FAULT;
}
