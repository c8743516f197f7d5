// The shared-memory channel's layout: the contract between the root task
// (hypervisor/root/vmm-sab-host.ts) and the VMM's serve loop
// (vmm/sab-serve.ts). One SharedArrayBuffer per VM: an Int32 control block,
// then the data area holding one encoded VmExit or VmReply at a time.

/** Int32 indices of the control block at the start of the buffer. */
export const Ctl = {
  /** One of ChannelState; the only word either side waits on. */
  STATE: 0,
  /** Byte length of the message now in the data area. */
  LENGTH: 1,
  /** Sequence number of the request (written by the kernel). */
  SEQ: 2,
  /** Sequence number the reply answers (written by the VMM). */
  REPLY_SEQ: 3,
} as const;

export const ChannelState = {
  IDLE: 0,
  /** Kernel -> VMM: a request is in the data area. */
  REQUEST: 1,
  /** VMM -> kernel: the reply is in the data area. */
  REPLY: 2,
  /** VMM -> kernel: the handler threw; the data area holds its UTF-8 message. */
  THREW: 3,
  /** Kernel -> VMM: end the serve loop. */
  CLOSE: 4,
} as const;

/** The data area starts on its own cache line, after the control words. */
export const DATA_OFFSET = 64;

/** Default size of the data area: far above any exit or reply. */
export const DEFAULT_DATA_BYTES = 256 * 1024;
