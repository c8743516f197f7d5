// What a boot loader produced: the entry point and the guest-physical
// ranges it filled, or a one-line error naming the problem.

export interface LoadedRange {
  readonly start: number;
  readonly length: number;
}

export interface LoadedImage {
  readonly ok: true;
  readonly entry: number;
  readonly ranges: readonly LoadedRange[];
}

export interface LoadError {
  readonly ok: false;
  readonly error: string;
}

export type LoadResult = LoadedImage | LoadError;

export function loadError(error: string): LoadError {
  return { ok: false, error };
}
