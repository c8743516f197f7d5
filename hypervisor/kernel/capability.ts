// Kernel objects and the permission bits of capabilities that name them
// (NOVA specification §"Capabilities", permission tables per object type).

/** Object types, numbered as NOVA's PD permission bits use them: the PD
 * permission that allows creating an object of type T is bit T. */
export const ObjType = { PD: 0, EC: 1, SC: 2, PT: 3, SM: 4 } as const;
export type ObjType = (typeof ObjType)[keyof typeof ObjType];

/** PD capability: one create permission per object type. */
export const PdPerm = { PD: 1 << 0, EC: 1 << 1, SC: 1 << 2, PT: 1 << 3, SM: 1 << 4 } as const;
/** EC capability: ec_ctrl (ct), bind an SC (sc), bind a PT (pt). */
export const EcPerm = { CTRL: 1 << 0, SC: 1 << 2, PT: 1 << 3 } as const;
/** SC capability: sc_ctrl. */
export const ScPerm = { CTRL: 1 << 0 } as const;
/** PT capability: pt_ctrl, call. */
export const PtPerm = { CTRL: 1 << 0, CALL: 1 << 1 } as const;
/** SM capability: up, down. */
export const SmPerm = { UP: 1 << 0, DOWN: 1 << 1 } as const;
/** Created objects' capabilities hold every permission. */
export const OBJ_RIGHTS_ALL = 0x1f;

/** Memory capability: read, write, execute. */
export const MemRights = { R: 1 << 0, W: 1 << 1, X: 1 << 2, RW: 3, RWX: 7 } as const;
/** I/O port capability: a single access right (read and write). */
export const PioRights = { A: 1 << 0 } as const;

let nextSerial = 1;

/**
 * Base of PD, EC, SC, PT, SM. `refs` counts what keeps the object alive
 * (capabilities naming it, and objects bound to it: an EC holds its PD, an SC
 * and a PT hold their EC); at zero the kernel destroys it, as NOVA does.
 */
export abstract class KObject {
  abstract readonly type: ObjType;
  /** Unique number, for logs. */
  readonly serial = nextSerial++;
  refs = 0;
  dead = false;
}
