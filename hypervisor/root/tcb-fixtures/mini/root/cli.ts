#!/usr/bin/env node
import { Piscina } from "piscina";
import { describe } from "../kernel/entry.js";

// The VMM is named, not imported: it runs in another thread.
const workerUrl = new URL("../vmm/worker-entry.mjs", import.meta.url);

export async function main(): Promise<string> {
  const { lazy } = await import("./lazy.js");
  const pool = new Piscina({ filename: workerUrl.href });
  return `${describe()} ${lazy} ${pool.threads.length}`;
}
