/**
 * How many images of a ResNet training step fit tfjs-wasm's heap, which is capped at 4 GiB (wasm32): a step of more
 * runs as micro-batches with gradient accumulation. Sized from torchsummary's forward/backward estimate, which the
 * measured heap use follows closely across shapes.
 */

/** Measured: ResNet-18, 64x64, imagenet stem needs ~16.7 MiB of wasm heap per image in a training step, 3.26x the
 * forward/backward size torchsummary estimates (5.13 MB); other shapes scale by their torchsummary estimate. */
const HEAP_PER_SUMMARY_MB = 16.7 / 5.13
/** Of the 4 GiB, what activations may take: the rest holds weights, momentum, gradients and the batch itself. */
const WASM_ACTIVATION_BUDGET_MIB = 3072

/**
 * The largest even split of `batchSize` whose step fits the wasm heap, with why.
 *
 * ```ts
 * const { size } = wasmMicroBatch(256, summary(model, [3, 64, 64]).forwardBackwardSizeMB) // 128 for ResNet-18
 * ```
 */
export function wasmMicroBatch(batchSize: number, forwardBackwardSizeMB: number): { size: number; reason: string } {
  const perImageMiB = forwardBackwardSizeMB * HEAP_PER_SUMMARY_MB
  const fit = Math.max(1, Math.floor(WASM_ACTIVATION_BUDGET_MIB / perImageMiB))
  if (fit >= batchSize) return { size: batchSize, reason: 'the batch fits the wasm heap' }
  const parts = Math.ceil(batchSize / fit)
  return {
    size: Math.ceil(batchSize / parts),
    reason: `batch ${batchSize} needs ~${((batchSize * perImageMiB) / 1024).toFixed(1)} GiB of wasm heap (~${perImageMiB.toFixed(1)} MiB/image), the heap is capped at 4 GiB`,
  }
}
