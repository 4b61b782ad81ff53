// Staging buffers that a CPU-resident step input is written through: one is taken while mapped, filled, unmapped,
// copied into the input's buffer by the step's encoder, and mapped again once that copy has run. Nothing is allocated
// per step (on Dawn's Node binding a 3 MB buffer mapped at creation, or a queue.writeBuffer that outgrows Dawn's upload
// ring, costs 10-100 ms of host time); the pool grows only to the number of steps in flight.
const MAP_WRITE = 0x02 // GPUBufferUsage.MAP_WRITE
const COPY_SRC = 0x04
const MAP_MODE_WRITE = 0x02 // GPUMapMode.WRITE

export class UploadRing {
  private readonly all: GPUBuffer[] = []

  constructor(
    private readonly device: GPUDevice,
    private readonly bytes: number,
  ) {}

  /** A buffer mapped for writing whose whole range may be overwritten. */
  acquire(): GPUBuffer {
    const mapped = this.all.find((b) => b.mapState === 'mapped')
    if (mapped !== undefined) return mapped
    const buffer = this.device.createBuffer({ size: Math.max(4, Math.ceil(this.bytes / 4) * 4), usage: MAP_WRITE | COPY_SRC, mappedAtCreation: true })
    this.all.push(buffer)
    return buffer
  }

  /**
   * Call once the copy out of `buffer` is submitted: maps it again when that copy has run. Await the promise with the
   * step's readback: on Dawn's Node binding a map completes only while something awaits GPU work.
   */
  release(buffer: GPUBuffer): Promise<void> {
    return buffer.mapAsync(MAP_MODE_WRITE).catch(() => undefined) // rejected only when the ring is disposed first
  }

  totalBytes(): number {
    return this.all.reduce((sum, b) => sum + b.size, 0)
  }

  dispose(): void {
    for (const b of this.all) b.destroy()
    this.all.length = 0
  }
}
