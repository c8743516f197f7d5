// Piscina entry of the stand-in VMM used by the shared-memory channel's tests.
import { register } from "tsx/esm/api";

register();
const { default: serveTestVmm } = await import("./sab-test-vmm.ts");
export default serveTestVmm;
