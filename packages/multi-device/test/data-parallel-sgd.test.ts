// The sharded update must be torch.optim.SGD's, whatever the slice boundaries: run 3 steps split into 3 uneven slices
// and compare with torch for the hyper-parameters the worker tests do not cover (nesterov, dampening, clipping scale).
import { relError } from '@tinylab/test-utils/close'
import { requireTorchOrSkipReason, runPython } from '@tinylab/test-utils/torch'
import { describe, expect, it } from 'vitest'
import { sgdUpdateSlice } from '../src/data-parallel/sharded-sgd'
import type { SgdHyperParameters } from '../src/data-parallel/sharded-sgd'

const reason = requireTorchOrSkipReason()
const N = 50
const STEPS = 3
const LR = 0.05
const initial = Float32Array.from({ length: N }, (_, i) => Math.sin(i * 1.7))
const gradsAt = (s: number): Float32Array => Float32Array.from({ length: N }, (_, i) => Math.cos(i * 0.9 + s) * (1 + s))

function ours(hyper: SgdHyperParameters, scale: number): Float32Array {
  const params = initial.slice()
  const buf = new Float32Array(N)
  for (let s = 0; s < STEPS; s++) {
    const grads = gradsAt(s)
    for (const [start, end] of [[0, 7], [7, 31], [31, N]] as const) {
      sgdUpdateSlice({ params, grads, momentumBuffer: buf, start, end, lr: LR, hyper, firstStep: s === 0, gradScale: scale })
    }
  }
  return params
}

async function torchSgd(hyper: SgdHyperParameters, scale: number): Promise<number[]> {
  const out = await runPython(
    `
import json, math, torch
p = torch.tensor([math.sin(i * 1.7) for i in range(${N})], dtype=torch.float32, requires_grad=True)
opt = torch.optim.SGD([p], lr=${LR}, momentum=${hyper.momentum}, dampening=${hyper.dampening}, weight_decay=${hyper.weightDecay}, nesterov=${hyper.nesterov ? 'True' : 'False'})
for s in range(${STEPS}):
    p.grad = torch.tensor([math.cos(i * 0.9 + s) * (1 + s) for i in range(${N})], dtype=torch.float32) * ${scale}
    opt.step()
print(json.dumps(p.detach().tolist()))
`,
    [],
    { threads: 1 },
  )
  return JSON.parse(out) as number[]
}

describe.skipIf(!!reason)('sgdUpdateSlice = torch.optim.SGD', () => {
  it.each([
    { name: 'nesterov + weight decay', hyper: { momentum: 0.9, dampening: 0, weightDecay: 1e-2, nesterov: true }, scale: 1 },
    { name: 'dampening 0.5 (first step undamped, as torch)', hyper: { momentum: 0.8, dampening: 0.5, weightDecay: 0, nesterov: false }, scale: 1 },
    { name: 'plain SGD with a clip coefficient', hyper: { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false }, scale: 0.3 },
  ])('$name', async ({ hyper, scale }) => {
    // float32 on both sides; only the rounding of a fused multiply-add may differ
    expect(relError(ours(hyper, scale), await torchSgd(hyper, scale))).toBeLessThanOrEqual(1e-6)
  })
})
