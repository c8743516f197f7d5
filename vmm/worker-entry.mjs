// Piscina loads this file in the worker thread. It registers tsx's loader so
// the TypeScript VMM runs unbuilt, whichever way the parent was started (the
// CLI, vitest, a benchmark), then hands over the task function.
import { register } from "tsx/esm/api";

register();
const { default: handleExit } = await import("./worker.ts");
export default handleExit;
