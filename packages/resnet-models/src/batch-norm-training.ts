/**
 * Train-mode batch normalisation over the channels of an NHWC tensor, with its gradient written out by hand.
 *
 * Why not `tf.moments` + `tf.batchNorm4d`: autodiff through those records ~25 full-size elementwise ops per layer
 * (the variance's mean of squared differences, batchNorm's own gradient, broadcasts and casts); on ResNet-18 they cost
 * more than the convolutions' backward. The closed form (as aten's native_batch_norm_backward) needs five:
 *   x̂ = (x - μ)·rstd,  rstd = 1/√(σ² + eps),  y = γ·x̂ + β
 *   dβ = Σ dy,  dγ = rstd·Σ dy·(x - μ)
 *   dx = γ·rstd·(dy - dβ/m) - γ·rstd³·(x - μ)·Σ dy·(x - μ)/m      (m = N·H·W values per channel)
 * Only tfjs ops, so any backend runs it; a backend that registers the fused TinylabBatchNormTraining and
 * TinylabBatchNormTrainingGrad (@tinylab/kernel-names; @tinylab/native-cpu does for 'wasm+native') runs each direction
 * in one kernel instead.
 */
import * as tf from '@tensorflow/tfjs-core'
import { BATCH_NORM_RUNNING_STATS, BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD, type BatchNormRunningStatsAttrs, type BatchNormTrainingAttrs } from '@tinylab/kernel-names'

export interface BatchNormTrainingResult {
  y: tf.Tensor4D
  /** Batch mean and biased batch variance per channel, for the running statistics. Not part of the gradient. */
  mean: tf.Tensor1D
  variance: tf.Tensor1D
}

const AXES = [0, 1, 2]


/** What tf.customGrad passes a function of three tensors. */
type CustomGradArgs = [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc]

function backendHasFusedKernels(): boolean {
  const backend = tf.getBackend()
  return tf.getKernel(BATCH_NORM_TRAINING, backend) !== undefined && tf.getKernel(BATCH_NORM_TRAINING_GRAD, backend) !== undefined
}

/**
 * `y = γ·(x - mean)/√(var + eps) + β` with the batch's own mean and biased variance, as nn.BatchNorm2d in train mode.
 * Gradients flow to `x`, `gamma` and `beta`; `mean` and `variance` are constants for autodiff.
 */
export function batchNormTraining(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): BatchNormTrainingResult {
  const m = x.size / (x.shape[3] as number)
  let stats: { mean: tf.Tensor1D; variance: tf.Tensor1D } | undefined
  const fused = tf.customGrad((...args) => {
    const [xIn, gammaIn, betaIn, save] = args as CustomGradArgs
    const inputs = { x: xIn, gamma: gammaIn, beta: betaIn }
    const [y, mean, variance, rstd] = tf.engine().runKernel(BATCH_NORM_TRAINING, inputs, { epsilon: eps } satisfies BatchNormTrainingAttrs) as tf.Tensor[]
    stats = { mean: tf.keep(mean as tf.Tensor1D), variance: tf.keep(variance as tf.Tensor1D) }
    save([inputs.x, mean as tf.Tensor, rstd as tf.Tensor, inputs.gamma])
    return {
      value: y as tf.Tensor4D,
      gradFunc: (dy, saved) => {
        const [xs, means, rstds, gammas] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]
        return tf.engine().runKernel(BATCH_NORM_TRAINING_GRAD, { dy, x: xs, mean: means, rstd: rstds, gamma: gammas }) as tf.Tensor[]
      },
    }
  })
  const composed = tf.customGrad((...args) => {
    const [xIn, gammaIn, betaIn, save] = args as CustomGradArgs
    const input = xIn as tf.Tensor4D
    const mean = tf.mean(input, AXES) as tf.Tensor1D
    const centred = tf.sub(input, mean)
    const variance = tf.mean(tf.square(centred), AXES) as tf.Tensor1D
    const rstd = tf.rsqrt(tf.add(variance, eps))
    const scale = tf.mul(gammaIn, rstd) // γ·rstd, per channel
    const y = tf.add(tf.mul(centred, scale), betaIn) as tf.Tensor4D
    // customGrad's forward runs in a tidy that keeps only `y` and what `save` holds: keep the statistics for the caller.
    stats = { mean: tf.keep(mean), variance: tf.keep(variance) }
    save([centred, rstd, scale])
    return {
      value: y,
      gradFunc: (dy, saved) => {
        const [c, r, k] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D]
        const dyT = dy as tf.Tensor4D
        const dBeta = tf.sum(dyT, AXES)
        const dyDotCentred = tf.sum(tf.mul(dyT, c), AXES)
        const dGamma = tf.mul(dyDotCentred, r)
        // dx = k·(dy - dβ/m) + c·(-k·r²·Σdy·c/m)
        const shift = tf.mul(dBeta, -1 / m)
        const centredCoef = tf.mul(tf.mul(k, tf.square(r)), tf.mul(dyDotCentred, -1 / m))
        const dx = tf.add(tf.mul(tf.add(dyT, shift), k), tf.mul(c, centredCoef))
        return [dx, dGamma, dBeta]
      },
    }
  })
  const y = (backendHasFusedKernels() ? fused : composed)(x, gamma, beta) as tf.Tensor4D
  if (stats === undefined) throw new Error('batchNormTraining: the forward pass did not run')
  // Hand the kept statistics to the caller's scope so an enclosing tidy disposes them like any other result.
  return { y, mean: track(stats.mean), variance: track(stats.variance) }
}

/**
 * nn.BatchNorm2d's running-statistics update in training mode: `running = (1 − momentum)·running + momentum·batch`,
 * the batch variance made unbiased first (× count/(count − 1), count = values per channel). Assigns both variables.
 * One kernel when the backend registers TinylabBatchNormRunningStats (@tinylab/webgpu-backend does).
 */
export function updateRunningStats(
  runningMean: tf.Variable,
  runningVar: tf.Variable,
  batch: { mean: tf.Tensor1D; variance: tf.Tensor1D },
  momentum: number,
  count: number,
): void {
  if (tf.getKernel(BATCH_NORM_RUNNING_STATS, tf.getBackend()) !== undefined) {
    const inputs = { runningMean, runningVar, mean: batch.mean, variance: batch.variance }
    const [nextMean, nextVar] = tf.engine().runKernel(BATCH_NORM_RUNNING_STATS, inputs, { momentum, count } satisfies BatchNormRunningStatsAttrs) as tf.Tensor[]
    runningMean.assign(nextMean as tf.Tensor)
    runningVar.assign(nextVar as tf.Tensor)
    tf.dispose([nextMean as tf.Tensor, nextVar as tf.Tensor])
    return
  }
  tf.tidy(() => {
    const unbiased = tf.mul(batch.variance, count / (count - 1))
    runningMean.assign(tf.add(tf.mul(runningMean, 1 - momentum), tf.mul(batch.mean, momentum)))
    runningVar.assign(tf.add(tf.mul(runningVar, 1 - momentum), tf.mul(unbiased, momentum)))
  })
}

/** Moves a kept tensor back under the current scope (tf.keep is otherwise permanent). */
function track<T extends tf.Tensor>(t: T): T {
  const tracked = tf.clone(t)
  t.dispose()
  return tracked
}
