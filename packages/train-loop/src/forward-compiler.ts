import type * as tf from '@tensorflow/tfjs-core'

/** A forward-only function made runnable per call, its returned tensors read back (float32 → Float32Array, int32 → Int32Array). */
export interface CompiledForwardRun {
  run(inputs: readonly tf.Tensor[]): Promise<(Float32Array | Int32Array)[]>
  dispose(): void
}

/**
 * The hook through which evaluation and generation run compiled: given a function of input tensors (it may read the
 * model's variables, assigns none, and gets everything that changes between calls as an input), returns its runner.
 * @tinylab/webgpu-backend's `compileForward` is one (one replayed GPU plan per input shape); without a hook the
 * functions that take one run eagerly as before.
 */
export type ForwardCompiler = (fn: (inputs: readonly tf.Tensor[]) => tf.Tensor[], options?: { name?: string }) => CompiledForwardRun
