// Every variable a compiled step touches lives in one GPU buffer that never changes, so step k+1 reads what step k
// wrote: tfjs's `assign` gives a variable a new buffer every step, a replay instead copies the new value into this one.
// Plans share the slots, so a training plan and an evaluation plan read the same parameters.
import * as tf from '@tensorflow/tfjs-core'
import type { WebGpuBackendInternals } from './backend-hooks'
import { flushTfjs } from './backend-hooks'

interface Slot {
  buffer: GPUBuffer
  /** The tfjs data the variable points at while it is backed by `buffer`. */
  dataId: object
}

const STORAGE = 0x80
const COPY_SRC = 0x04
const COPY_DST = 0x08

const slots = new WeakMap<tf.Variable, Slot>()

/**
 * The variable's fixed buffer. The first time (or when the variable was assigned since, e.g. a checkpoint was loaded)
 * its current value is copied in and the variable is pointed at the buffer. With `pending`, the copy goes into its
 * encoder and the value copied from is held in `held` until the caller has submitted the encoder and disposes them.
 */
export function variableSlot(
  backend: WebGpuBackendInternals,
  variable: tf.Variable,
  pending?: { encoder: GPUCommandEncoder; held: tf.Tensor[] },
): Slot {
  const slot = slots.get(variable)
  if (slot !== undefined && variable.dataId === slot.dataId) return slot
  backend.uploadToGPU(variable.dataId)
  flushTfjs(backend)
  const source = backend.tensorMap.get(variable.dataId).resource
  if (!(source instanceof GPUBuffer)) throw new Error(`compiled step: variable '${variable.name}' is not held in a GPU buffer`)
  // Exactly the tensor's size: tfjs reads a variable back by mapping its whole buffer.
  const bytes = variable.size * 4
  const buffer = slot?.buffer ?? backend.device.createBuffer({ size: Math.max(4, bytes), usage: STORAGE | COPY_SRC | COPY_DST })
  if (pending !== undefined) {
    pending.encoder.copyBufferToBuffer(source, 0, buffer, 0, bytes)
    // `assign` below would release the source buffer to tfjs's pool before the copy runs, and the next variable's
    // upload could take it and write its own values first.
    // tf.clone shares the data (one more reference), it copies nothing.
    pending.held.push(tf.clone(variable))
  } else {
    const own = backend.device.createCommandEncoder()
    own.copyBufferToBuffer(source, 0, buffer, 0, bytes)
    backend.device.queue.submit([own.finish()])
  }
  // zeroCopy: tfjs marks the data external and never releases our buffer.
  const backed = backend.createTensorFromGPUData({ buffer, zeroCopy: true }, [...variable.shape], variable.dtype)
  variable.assign(backed)
  backed.dispose()
  const next = { buffer, dataId: variable.dataId }
  slots.set(variable, next)
  return next
}
