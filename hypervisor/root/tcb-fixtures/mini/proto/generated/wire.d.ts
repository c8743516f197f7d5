export declare function frame(v: number): Uint8Array;
