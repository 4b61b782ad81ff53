/**
 * TinyLab's fused kernels: names and contracts in one place. The names are the API between the packages that run a
 * kernel and those that register it: @tinylab/resnet-models, @tinylab/train-loop and @tinylab/transformer-lm look each
 * one up with `tf.getKernel(name, tf.getBackend())` and compose the same math from tfjs ops when the active backend
 * lacks it; @tinylab/native-cpu ('wasm+native') and @tinylab/webgpu-backend ('webgpu') register them. All tensors float32
 * except the NLL kernels' int32 targets.
 *
 * - `TinylabBatchNormTraining`: inputs `{ x, gamma, beta }` (x [..., C], gamma/beta [C]), attrs `{ epsilon }`;
 *   outputs `[y, mean, variance, rstd]` with the batch's mean and biased variance over all axes but the last, and
 *   rstd = 1/√(variance + epsilon).
 * - `TinylabBatchNormTrainingGrad`: inputs `{ dy, x, mean, rstd, gamma }`; outputs `[dx, dgamma, dbeta]`.
 * - `TinylabBatchNormRunningStats`: inputs `{ runningMean, runningVar, mean, variance }` (all [C], variance biased),
 *   attrs `{ momentum, count }` (count = values per channel, > 1); outputs `[runningMean', runningVar']` =
 *   `(1 − momentum)·running + momentum·batch`, the batch variance unbiased first (× count/(count − 1)), as
 *   nn.BatchNorm2d in training mode.
 * - `TinylabSGDMomentum`: inputs `{ param, grad, buffer }` (one shape); attrs `{ lr, momentum, dampening, weightDecay,
 *   nesterov }`; outputs `[param', buffer']` of torch.optim.SGD's step with an existing momentum buffer. With
 *   momentum 0 (plain SGD, no buffer in torch) `buffer` is not read and buffer' = grad + weightDecay·param.
 * - `TinylabSGDMomentumMulti`: the same step for many parameters in few dispatches: inputs `{ param0, grad0, buffer0,
 *   param1, … }`, attrs those of TinylabSGDMomentum plus `count` (how many parameters); outputs `[param0', buffer0',
 *   param1', buffer1', …]`.
 * - `TinylabSumSquares`: inputs `{ x0, x1, … }` (any shapes), attr `count`; outputs `[sums]`, sums [count] with
 *   sums[i] = Σ x_i² (clip_grad_norm_'s squared norms).
 * - `TinylabClipCoefficient`: inputs `{ sums }` (float32 [count]: the squared norms), attr `maxNorm`; outputs
 *   `[totalNorm, coef]`, each of shape [1]: totalNorm = √Σ sums and coef = min(maxNorm / (totalNorm + 1e-6), 1), NaN when
 *   totalNorm is (clip_grad_norm_'s total_norm and clip_coef_clamped, in float32).
 * - `TinylabLogSoftmax`: inputs `{ logits }` (rank >= 1); outputs `[y]`, y = logits − log Σ exp(logits) over the last axis.
 * - `TinylabLogSoftmaxGrad`: inputs `{ dy, y }` (y the forward's output); outputs `[dy − exp(y)·Σ dy]`.
 * - `TinylabNllLoss`: inputs `{ logProbs, targets }` (logProbs [N, V], targets int32 [N]); outputs `[loss]`, the scalar
 *   nn.NLLLoss() (mean over rows) = −(1/N)·Σ_r logProbs[r, targets[r]]. Exact at any N·V (integer addressing). A
 *   target outside [0, V) makes the loss NaN; the kernel throws first when the targets' values are on the host.
 * - `TinylabNllLossGrad`: inputs `{ dy, targets }` (dy the loss's scalar gradient), attrs `{ classes }` (V); outputs
 *   `[dLogProbs]`, [N, V] with −dy/N at each row's target and 0 elsewhere.
 * - `TinylabLayerNorm`: inputs `{ x, gamma, beta }` (x [..., C], gamma/beta [C]), attrs `{ epsilon }`; outputs
 *   `[y, mean, rstd]`, nn.LayerNorm over the last axis: mean and rstd = 1/√(biased variance + epsilon) per row
 *   (shape [rows], rows = x.size / C), y = (x − mean)·rstd·gamma + beta.
 * - `TinylabLayerNormGrad`: inputs `{ dy, x, mean, rstd, gamma }` (mean, rstd as the forward returns them); outputs
 *   `[dx, dgamma, dbeta]`.
 * - `TinylabMaskedSoftmax`: inputs `{ logits, mask }` (logits [..., R, C], mask [R, C] added to every [R, C] slice);
 *   outputs `[softmax(logits + mask)]` over the last axis (attention's scores + causal mask → weights).
 * - `TinylabSoftmaxGrad`: inputs `{ dy, y }` (y the softmax's output); outputs `[y·(dy − Σ dy·y)]` over the last axis.
 */
export const BATCH_NORM_TRAINING = 'TinylabBatchNormTraining'
export const BATCH_NORM_TRAINING_GRAD = 'TinylabBatchNormTrainingGrad'
export const BATCH_NORM_RUNNING_STATS = 'TinylabBatchNormRunningStats'
export const SGD_MOMENTUM = 'TinylabSGDMomentum'
export const SGD_MOMENTUM_MULTI = 'TinylabSGDMomentumMulti'
export const SUM_SQUARES = 'TinylabSumSquares'
export const CLIP_COEFFICIENT = 'TinylabClipCoefficient'
export const LOG_SOFTMAX = 'TinylabLogSoftmax'
export const LOG_SOFTMAX_GRAD = 'TinylabLogSoftmaxGrad'
export const NLL_LOSS = 'TinylabNllLoss'
export const NLL_LOSS_GRAD = 'TinylabNllLossGrad'
export const LAYER_NORM = 'TinylabLayerNorm'
export const LAYER_NORM_GRAD = 'TinylabLayerNormGrad'
export const MASKED_SOFTMAX = 'TinylabMaskedSoftmax'
export const SOFTMAX_GRAD = 'TinylabSoftmaxGrad'

// Attributes as type aliases, not interfaces: tfjs's runKernel takes a `NamedAttrMap` (an index signature), which an
// object type alias satisfies and an interface does not.

/** Attrs of `TinylabBatchNormTraining`. */
export type BatchNormTrainingAttrs = { epsilon: number }
/** Attrs of `TinylabLayerNorm`. */
export type LayerNormAttrs = { epsilon: number }
/** Attrs of `TinylabBatchNormRunningStats`. */
export type BatchNormRunningStatsAttrs = { momentum: number; count: number }
/** Attrs of `TinylabSGDMomentum`: torch.optim.SGD's hyper-parameters. */
export type SgdMomentumAttrs = { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean }
/** Attrs of `TinylabSGDMomentumMulti`. */
export type SgdMomentumMultiAttrs = SgdMomentumAttrs & { count: number }
/** Attrs of `TinylabNllLossGrad`: the classes (last axis) of the log-probabilities. */
export type NllLossGradAttrs = { classes: number }
/** Attrs of `TinylabClipCoefficient`. */
export type ClipCoefficientAttrs = { maxNorm: number }
/** Attrs of `TinylabSumSquares`. */
export type SumSquaresAttrs = { count: number }
