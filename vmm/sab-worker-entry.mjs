// Piscina loads this file in the VMM's worker thread for the shared-memory
// channel (hypervisor/root/vmm-sab-host.ts). It registers tsx's loader so the
// TypeScript VMM runs unbuilt, then hands over the serve-loop task function.
import { register } from "tsx/esm/api";

register();
const { default: serveVmm } = await import("./sab-serve.ts");
export default serveVmm;
