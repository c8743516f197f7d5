/** A one-register device. */
export class Uart {
  private value = 0;

  write(v: number): void {
    this.value = v;
  }

  read(): number {
    return this.value;
  }
}
