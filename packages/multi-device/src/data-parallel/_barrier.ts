// A reusable barrier for the replicas of one data-parallel group, on an Int32Array over a SharedArrayBuffer.
// Generation counting (read the generation, then arrive) makes it safe to reuse immediately; the abort word lets the
// coordinator wake everyone when one replica has failed, instead of leaving the others blocked in Atomics.wait.

export const CTRL_COUNT = 0
export const CTRL_GENERATION = 1
export const CTRL_ABORT = 2
/** 1 once the momentum buffers hold a value (torch creates them on the first step). */
export const CTRL_HAS_MOMENTUM = 3
export const CTRL_WORDS = 4

export class BarrierAbortedError extends Error {}

/** Blocks until `parties` callers have arrived. Throws when the group was aborted. Only for worker threads. */
export function barrier(ctrl: Int32Array, parties: number, timeoutMs = 600_000): void {
  if (parties === 1) return
  const generation = Atomics.load(ctrl, CTRL_GENERATION)
  if (Atomics.add(ctrl, CTRL_COUNT, 1) === parties - 1) {
    Atomics.store(ctrl, CTRL_COUNT, 0)
    Atomics.add(ctrl, CTRL_GENERATION, 1)
    Atomics.notify(ctrl, CTRL_GENERATION)
    return
  }
  const deadline = Date.now() + timeoutMs
  while (Atomics.load(ctrl, CTRL_GENERATION) === generation) {
    if (Atomics.load(ctrl, CTRL_ABORT) !== 0) throw new BarrierAbortedError('data-parallel group aborted by the coordinator')
    const left = deadline - Date.now()
    if (left <= 0) throw new Error(`data-parallel barrier: waited ${timeoutMs} ms for ${parties} replicas`)
    Atomics.wait(ctrl, CTRL_GENERATION, generation, Math.min(left, 1000))
  }
}

/** Wakes every replica waiting in {@link barrier} and makes them throw. */
export function abortBarrier(ctrl: Int32Array): void {
  Atomics.store(ctrl, CTRL_ABORT, 1)
  Atomics.add(ctrl, CTRL_GENERATION, 0)
  Atomics.notify(ctrl, CTRL_GENERATION)
}
