// The fixture's kernel: every VM trusts it.
export const kernel = 1;
