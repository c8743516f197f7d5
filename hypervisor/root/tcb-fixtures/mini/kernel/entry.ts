// Fixture for tcb.test.ts: every line's status is counted by hand there.
/* A block comment on one line. */
/*
 * A block comment over
 * several lines.
 */
/** A JSDoc comment. */
import { inspect } from "node:util";
import { shared } from "../shared/bits.js";
import { cpuId } from "../silicon/cpu.js";
import { loop } from "./cycle-a.js";

export const url = "http://example.org/*not-a-comment*/"; // a trailing comment: the line counts
export const slashes = "// not a comment either";
/* leading block */ export const after = 1;
export const tpl = `line one // still the template
/* still the template */
${url /* a comment inside a substitution */} and ${slashes}`;
/* A block comment that ends
   on a line with code: */ export const tail = 2;
// Read as a division, this regexp would open a comment that swallows the code below.
export const re = /[/*]+/g;

export function describe(): string {
  // A comment line inside a body.

  return inspect([cpuId(), loop(3), shared, after, tpl, re]);
}
/* A last comment, closing: */
