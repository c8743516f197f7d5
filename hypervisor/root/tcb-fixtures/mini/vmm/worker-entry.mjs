// Like the real worker entry: a .mjs that loads TypeScript by a ".ts" specifier.
import { register } from "tsx/esm/api";

register();
const { default: handle } = await import("./worker.ts");
export default handle;
