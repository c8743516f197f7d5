// The transport from a portal to its handler EC. In NOVA a portal call is
// synchronous IPC into the handler's UTCB; in moat the handler of a VM's
// portals is that VM's VMM worker, so a call is an encoded VmExit out and an
// encoded VmReply back. The root task supplies the implementation
// (hypervisor/root/vmm-host.ts); the kernel only sees this interface.
export interface Channel {
  /** Human-readable transport name, for benchmarks and logs. */
  readonly transport: string;
  /** Sends one message; resolves with the handler's answer, rejects if the
   * handler died, hung past its deadline, or failed. */
  call(message: Uint8Array): Promise<Uint8Array>;
}

/** Raised (as a rejection) by a channel whose handler cannot answer. */
export class ChannelFault extends Error {
  constructor(
    readonly kind: "died" | "timeout" | "threw" | "protocol",
    message: string,
  ) {
    super(message);
  }
}
