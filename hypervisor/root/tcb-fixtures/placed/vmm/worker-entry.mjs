// The VMM worker of a split VM.
import { handle } from "./vmm.ts";

export default handle;
