import * as tf from '@tensorflow/tfjs-core'
import type { SGDParamGroup } from '@tinylab/checkpoint-io'
import { SGD_MOMENTUM, SGD_MOMENTUM_MULTI, type SgdMomentumAttrs, type SgdMomentumMultiAttrs } from '@tinylab/kernel-names'
import { backendHas } from './fused-kernels'

/** What the optimizer needs of a parameter: its state-dict key and its variable (NamedTensor fits). */
export interface TrainableParam {
  name: string
  value: tf.Variable
}

export interface SGDOptions {
  lr: number
  momentum?: number
  dampening?: number
  weightDecay?: number
  nesterov?: boolean
}

/**
 * Mirrors torch's `optimizer.state_dict()`: `state` is keyed by parameter index; torch 1.13 records
 * `momentum_buffer: None` for every stepped parameter when momentum is 0, and so do we (`null`).
 */
export interface SGDStateDict {
  state: Record<number, { momentum_buffer: tf.Tensor | null }>
  param_groups: SGDParamGroup[]
}

/** One parameter's share of a fused step; `buffer` undefined for plain SGD (momentum 0). */
interface FusedUpdate {
  param: tf.Variable
  grad: tf.Tensor
  buffer: tf.Variable | undefined
}

/**
 * SGD with torch.optim.SGD's exact update (torch/optim/sgd.py, `_single_tensor_sgd`):
 * `d = g + wd·p`; the momentum buffer starts as a copy of the first `d` (no dampening on that step), then
 * `buf = momentum·buf + (1-dampening)·d`; nesterov uses `d + momentum·buf`, else `buf`; `p -= lr·d`.
 * `lr` is a plain field so schedulers (and the LM's divide-by-4 rule) can change it between steps.
 *
 * ```ts
 * const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 1e-4 })
 * opt.step(grads) // grads: { [paramName]: tf.Tensor }
 * ```
 */
export class SGD {
  lr: number
  readonly momentum: number
  readonly dampening: number
  readonly weightDecay: number
  readonly nesterov: boolean
  private readonly params: TrainableParam[]
  private readonly buffers = new Map<number, tf.Variable>()
  private readonly stepped = new Set<number>()

  constructor(params: TrainableParam[], options: SGDOptions) {
    const { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false } = options
    if (!(lr >= 0)) throw new Error(`SGD: invalid learning rate lr=${lr} (must be >= 0)`)
    if (!(momentum >= 0)) throw new Error(`SGD: invalid momentum=${momentum} (must be >= 0)`)
    if (!(weightDecay >= 0)) throw new Error(`SGD: invalid weightDecay=${weightDecay} (must be >= 0)`)
    if (nesterov && (momentum <= 0 || dampening !== 0)) {
      throw new Error('SGD: nesterov momentum requires a momentum and zero dampening (as torch.optim.SGD)')
    }
    const names = new Set<string>()
    for (const p of params) {
      if (names.has(p.name)) throw new Error(`SGD: parameter '${p.name}' given twice`)
      names.add(p.name)
    }
    this.params = params
    this.lr = lr
    this.momentum = momentum
    this.dampening = dampening
    this.weightDecay = weightDecay
    this.nesterov = nesterov
  }

  /** Applies one update. Parameters without a gradient in `grads` are skipped, as torch skips `p.grad is None`. */
  step(grads: Readonly<Record<string, tf.Tensor | undefined>>): void {
    const fused = backendHas(SGD_MOMENTUM) // once per step, not per parameter
    const multi = fused && backendHas(SGD_MOMENTUM_MULTI)
    const batched: FusedUpdate[] = []
    this.params.forEach((p, index) => {
      const g = grads[p.name]
      if (g === undefined) return
      this.stepped.add(index)
      if (!arraysEqual(g.shape, p.value.shape)) {
        throw new Error(`SGD.step: gradient for '${p.name}' has shape [${g.shape}], parameter has [${p.value.shape}]`)
      }
      const buf = this.buffers.get(index)
      if (fused && (buf !== undefined || this.momentum === 0) && g.dtype === 'float32') {
        if (multi) batched.push({ param: p.value, grad: g, buffer: buf })
        else this.fusedStep([{ param: p.value, grad: g, buffer: buf }])
        return
      }
      tf.tidy(() => {
        let d: tf.Tensor = this.weightDecay !== 0 ? tf.add(g, tf.mul(p.value, this.weightDecay)) : g
        if (this.momentum !== 0) {
          let next: tf.Tensor
          if (buf === undefined) {
            next = d
            this.buffers.set(index, tf.variable(tf.clone(d), false))
          } else {
            next = tf.add(tf.mul(buf, this.momentum), this.dampening === 0 ? d : tf.mul(d, 1 - this.dampening))
            buf.assign(next)
          }
          d = this.nesterov ? tf.add(d, tf.mul(next, this.momentum)) : next
        }
        p.value.assign(tf.sub(p.value, tf.mul(d, this.lr)))
      })
    })
    if (batched.length > 0) this.fusedStep(batched)
  }

  /**
   * The whole update in one kernel: a backend's optional `TinylabSGDMomentum` (e.g. @tinylab/native-cpu's) for one
   * parameter, `TinylabSGDMomentumMulti` for several. Plain SGD passes the parameter as its (unused) buffer.
   */
  private fusedStep(updates: FusedUpdate[]): void {
    const attrs: SgdMomentumAttrs = { lr: this.lr, momentum: this.momentum, dampening: this.dampening, weightDecay: this.weightDecay, nesterov: this.nesterov }
    const single = updates.length === 1 ? updates[0] : undefined
    const outputs =
      single !== undefined
        ? (tf.engine().runKernel(SGD_MOMENTUM, { param: single.param, grad: single.grad, buffer: single.buffer ?? single.param }, attrs) as tf.Tensor[])
        : (tf.engine().runKernel(
            SGD_MOMENTUM_MULTI,
            Object.fromEntries(updates.flatMap((u, i) => [[`param${i}`, u.param], [`grad${i}`, u.grad], [`buffer${i}`, u.buffer ?? u.param]])),
            { ...attrs, count: updates.length } satisfies SgdMomentumMultiAttrs,
          ) as tf.Tensor[])
    updates.forEach((u, i) => {
      u.param.assign(outputs[2 * i] as tf.Tensor)
      u.buffer?.assign(outputs[2 * i + 1] as tf.Tensor)
    })
    tf.dispose(outputs)
  }

  /** Like torch: `state` holds only parameters that have a momentum buffer. The tensors are the live buffers. */
  stateDict(): SGDStateDict {
    const state: SGDStateDict['state'] = {}
    for (const index of [...this.stepped].sort((a, b) => a - b)) {
      state[index] = { momentum_buffer: this.buffers.get(index) ?? null }
    }
    return {
      state,
      param_groups: [
        {
          lr: this.lr,
          momentum: this.momentum,
          dampening: this.dampening,
          weight_decay: this.weightDecay,
          nesterov: this.nesterov,
          maximize: false,
          foreach: null,
          differentiable: false,
          params: this.params.map((_, i) => i),
        },
      ],
    }
  }

  /** Restores lr and momentum buffers (copied). Hyper-parameters other than lr must match this optimizer's. */
  loadStateDict(dict: SGDStateDict): void {
    const group = dict.param_groups[0]
    if (group === undefined || dict.param_groups.length !== 1) {
      throw new Error(`SGD.loadStateDict: expected exactly one param group, got ${dict.param_groups.length}`)
    }
    if (group.params.length !== this.params.length) {
      throw new Error(`SGD.loadStateDict: state has ${group.params.length} parameters, optimizer has ${this.params.length}`)
    }
    for (const key of ['momentum', 'dampening', 'weight_decay', 'nesterov'] as const) {
      const mine = { momentum: this.momentum, dampening: this.dampening, weight_decay: this.weightDecay, nesterov: this.nesterov }[key]
      if (group[key] !== mine) throw new Error(`SGD.loadStateDict: ${key}=${String(group[key])} in state, ${String(mine)} here`)
    }
    for (const buf of this.buffers.values()) buf.dispose()
    this.buffers.clear()
    this.stepped.clear()
    for (const [key, entry] of Object.entries(dict.state)) {
      const index = Number(key)
      const p = this.params[index]
      if (p === undefined) throw new Error(`SGD.loadStateDict: state for parameter index ${key} out of range`)
      this.stepped.add(index)
      if (entry.momentum_buffer === null) continue
      if (!arraysEqual(entry.momentum_buffer.shape, p.value.shape)) {
        throw new Error(`SGD.loadStateDict: momentum_buffer ${key} ('${p.name}') shape [${entry.momentum_buffer.shape}] != [${p.value.shape}]`)
      }
      this.buffers.set(index, tf.variable(tf.clone(entry.momentum_buffer), false))
    }
    this.lr = group.lr
  }

  dispose(): void {
    for (const buf of this.buffers.values()) buf.dispose()
    this.buffers.clear()
  }
}

function arraysEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}
