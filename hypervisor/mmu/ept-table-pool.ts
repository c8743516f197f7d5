// Hypervisor-private memory for EPT paging structures. Each table is one
// 4 KiB page of 512 64-bit entries (SDM Vol. 3C §28.3.2), stored as pairs of
// 32-bit words (low word first, as little-endian memory holds them). Tables
// get host-physical addresses from EPT_POOL_BASE (2^40) up, above every
// HostMemory region, so an EPTP or an EPT entry names a table by a real HPA.
// The pool grows in 1 MiB chunks and reuses released tables.

export const EPT_POOL_BASE = 2 ** 40;
const TABLES_PER_CHUNK = 256;
const WORDS_PER_TABLE = 1024;

export class EptTablePool {
  /** Chunk k holds tables k*256 .. k*256+255. */
  readonly chunks: Uint32Array[] = [];
  private readonly released: number[] = [];
  private count = 0;

  /** A zeroed table; returns its HPA. */
  alloc(): number {
    const reused = this.released.pop();
    if (reused !== undefined) return reused;
    const t = this.count++;
    if (t >>> 8 >= this.chunks.length) this.chunks.push(new Uint32Array(TABLES_PER_CHUNK * WORDS_PER_TABLE));
    return EPT_POOL_BASE + t * 4096;
  }

  /** Zero the table and make it available again. */
  release(hpa: number): void {
    const t = this.tableNumber(hpa);
    if (t < 0) throw new RangeError(`EptTablePool.release: 0x${hpa.toString(16)} is not a pool table`);
    this.chunks[t >>> 8].fill(0, (t & 255) * WORDS_PER_TABLE, ((t & 255) + 1) * WORDS_PER_TABLE);
    this.released.push(hpa);
  }

  /** Table number of the page holding `hpa`, or -1 if it is not pool memory. Does not allocate. */
  tableNumber(hpa: number): number {
    const t = Math.floor((hpa - EPT_POOL_BASE) / 4096);
    return t >= 0 && t < this.count ? t : -1;
  }

  /** Tables in use (allocated and not released). */
  get inUse(): number {
    return this.count - this.released.length;
  }
}

/** The pool every Ept uses unless given its own: table HPAs are then unique across VMs. */
export const eptTablePool = new EptTablePool();
