// Staging buffers that outputs are copied into at the end of a replay and mapped afterwards, so reading step k's loss
// never waits for anything but step k. A set is reused once its values have been read; the pool grows only to the
// number of steps the caller keeps in flight.
import type * as tf from '@tensorflow/tfjs-core'

const MAP_READ = 0x01 // GPUBufferUsage.MAP_READ
const COPY_DST = 0x08 // GPUBufferUsage.COPY_DST
const MAP_MODE_READ = 0x01 // GPUMapMode.READ

export interface StagingSet {
  buffers: GPUBuffer[]
}

export class ReadbackRing {
  private readonly free: StagingSet[] = []
  private readonly all: StagingSet[] = []

  constructor(
    private readonly device: GPUDevice,
    private readonly sizes: readonly number[],
    private readonly dtypes: readonly tf.DataType[],
  ) {}

  acquire(): StagingSet {
    const reused = this.free.pop()
    if (reused !== undefined) return reused
    const set = { buffers: this.sizes.map((size) => this.device.createBuffer({ size: Math.max(4, size), usage: MAP_READ | COPY_DST })) }
    this.all.push(set)
    return set
  }

  /** The values once the submitted copies into `set` have finished; `set` is free again afterwards. */
  async read(set: StagingSet): Promise<(Float32Array | Int32Array)[]> {
    if (set.buffers.length === 0) {
      await this.device.queue.onSubmittedWorkDone()
      this.free.push(set)
      return []
    }
    await Promise.all(set.buffers.map((b) => b.mapAsync(MAP_MODE_READ)))
    const values = set.buffers.map((b, i) => {
      const bytes = b.getMappedRange().slice(0, this.sizes[i] ?? 0)
      b.unmap()
      return this.dtypes[i] === 'float32' ? new Float32Array(bytes) : new Int32Array(bytes)
    })
    this.free.push(set)
    return values
  }

  bytes(): number {
    return this.all.reduce((sum, set) => sum + set.buffers.reduce((s, b) => s + b.size, 0), 0)
  }

  dispose(): void {
    for (const set of this.all) for (const b of set.buffers) b.destroy()
    this.all.length = 0
    this.free.length = 0
  }
}
