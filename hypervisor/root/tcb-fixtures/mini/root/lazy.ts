/* Loaded by a dynamic import only. */
export const lazy = "lazy";
