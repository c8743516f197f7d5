// Hypercall status codes, NOVA specification §"Hypercall status" (classic
// numbering, shared by every NOVA-derived kernel's ABI: SUCCESS 0 .. BAD_DEV 8).
export const Status = {
  /** The operation completed successfully. */
  SUCCESS: 0,
  /** Communication timeout: a deadline passed, or a non-blocking call found its handler busy. */
  COM_TIM: 1,
  /** Communication abort: the object the EC waited on went away. */
  COM_ABT: 2,
  /** Invalid hypercall. */
  BAD_HYP: 3,
  /** A selector does not name a capability of the required type and permission. */
  BAD_CAP: 4,
  /** Invalid parameter. */
  BAD_PAR: 5,
  /** Invalid feature requested. */
  BAD_FTR: 6,
  /** Invalid or wrong CPU. */
  BAD_CPU: 7,
  /** Invalid device. */
  BAD_DEV: 8,
} as const;

export type Status = (typeof Status)[keyof typeof Status];

/**
 * Not a NOVA status: the hypercall blocked the calling EC. Its status
 * (SUCCESS, COM_TIM or COM_ABT) arrives later through KernelEvents.wake and
 * is left in Ec.wakeStatus.
 */
export const BLOCKED = 0x100;
export type Outcome = Status | typeof BLOCKED;

const names = new Map<number, string>(Object.entries(Status).map(([k, v]) => [v, k]));
names.set(BLOCKED, "BLOCKED");

/** Printable name of a status (for logs and test messages). */
export function statusName(s: number): string {
  return names.get(s) ?? `status_${s}`;
}
