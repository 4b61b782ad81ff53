import type { SgdMomentumAttrs } from '@tinylab/kernel-names'

/** torch.optim.SGD's hyper-parameters other than the learning rate: the fused SGD kernel's attrs. */
export type SgdHyperParameters = Omit<SgdMomentumAttrs, 'lr'>

/**
 * One torch.optim.SGD step (torch/optim/sgd.py, `_single_tensor_sgd`) on the slice `[start, end)` of the flat parameter
 * vector, so that N replicas can each update 1/N of the parameters in parallel (shared memory makes the result visible
 * to all). `Math.fround` after every operation keeps float32 rounding, like torch's float32 tensors:
 * `d = g + wd·p`; `buf = d` on the first step, else `buf = momentum·buf + (1-dampening)·d`;
 * `d = nesterov ? d + momentum·buf : buf`; `p = p - lr·d`.
 *
 * ```ts
 * sgdUpdateSlice({ params, grads, momentumBuffer, start: 0, end: params.length, lr: 0.1, firstStep: true,
 *   hyper: { momentum: 0.9, dampening: 0, weightDecay: 1e-4, nesterov: false } })
 * ```
 */
export function sgdUpdateSlice(args: {
  params: Float32Array
  grads: Float32Array
  momentumBuffer: Float32Array
  start: number
  end: number
  lr: number
  hyper: SgdHyperParameters
  /** True when the momentum buffers do not exist yet (torch: `'momentum_buffer' not in state`). */
  firstStep: boolean
  /** clip_grad_norm_'s coefficient, already applied by torch to `.grad` before the step (1: no clipping). */
  gradScale?: number
}): void {
  const { params, grads, momentumBuffer: buf, start, end, lr, hyper, firstStep } = args
  const scale = args.gradScale ?? 1
  const { momentum, weightDecay, nesterov } = hyper
  const keep = 1 - hyper.dampening
  const fr = Math.fround
  for (let i = start; i < end; i++) {
    const p = params[i] as number
    const g = scale === 1 ? (grads[i] as number) : fr((grads[i] as number) * scale)
    let d = weightDecay !== 0 ? fr(g + fr(weightDecay * p)) : g
    if (momentum !== 0) {
      const b = firstStep ? d : fr(fr(momentum * (buf[i] as number)) + (keep === 1 ? d : fr(keep * d)))
      buf[i] = b
      d = nesterov ? fr(d + fr(momentum * b)) : b
    }
    params[i] = fr(p - fr(lr * d))
  }
}
