#!/usr/bin/env node
// The `moat` command: runs the TypeScript sources through tsx's loader.
import { register } from "tsx/esm/api";

register();
await import("../hypervisor/root/cli.ts");
