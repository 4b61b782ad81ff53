// Replays torch.optim.SGD (+ clip_grad_norm_ + StepLR / CosineAnnealingLR) on the same given gradients for 20 steps and
// compares parameters. Tolerance 1e-6 absolute: float32 on both sides, values O(1), only the order of a few roundings differs.
import * as tf from '@tensorflow/tfjs-core'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '@tinylab/multi-device'
import { maxAbsDiff } from '@tinylab/test-utils/close'
import { requireTorchOrSkipReason, runPython } from '@tinylab/test-utils/torch'
import { SGD_MOMENTUM } from '@tinylab/kernel-names'
import { clipGradNorm, CosineAnnealingLR, SeededRng, SGD, StepLR } from '@tinylab/train-loop'

const reason = requireTorchOrSkipReason()
// wasm+native needs @tinylab/native-cpu's addon (CI builds it; elsewhere the suite says why it skipped).
const native = await initBackend({ device: 'wasm+native' }).then(
  () => '',
  (error: unknown) => (error instanceof Error ? error.message : String(error)),
)
if (native !== '' && process.env['CI'] === 'true') throw new Error(`CI builds the native addon, but: ${native}`)
const SHAPES = [[4, 3], [3], [2, 2, 2]]
const STEPS = 20

interface Case {
  name: string
  sgd: { lr: number; momentum?: number; dampening?: number; weightDecay?: number; nesterov?: boolean }
  clip?: number
  sched?: { kind: 'step'; stepSize: number; gamma: number } | { kind: 'cosine'; tMax: number; etaMin: number }
}

const CASES: Case[] = [
  { name: 'plain', sgd: { lr: 0.1 } },
  { name: 'momentum+wd', sgd: { lr: 0.1, momentum: 0.9, weightDecay: 1e-2 } },
  { name: 'dampening', sgd: { lr: 0.05, momentum: 0.8, dampening: 0.3 } },
  { name: 'nesterov+wd+clip', sgd: { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-3 }, clip: 0.5 },
  { name: 'steplr+clip', sgd: { lr: 0.2, momentum: 0.9 }, clip: 1.0, sched: { kind: 'step', stepSize: 6, gamma: 0.5 } },
  { name: 'cosine', sgd: { lr: 0.2, momentum: 0.5, weightDecay: 1e-3 }, sched: { kind: 'cosine', tMax: 7, etaMin: 0.01 } },
]

function randomArray(rng: SeededRng, n: number, scale: number): number[] {
  return Array.from({ length: n }, () => Math.fround((rng.next() * 2 - 1) * scale))
}

const PY = `
import json, sys, torch
spec = json.load(open(sys.argv[1]))
out = {}
for case in spec['cases']:
    params = [torch.tensor(v, dtype=torch.float32).reshape(s).requires_grad_() for v, s in zip(spec['init'], spec['shapes'])]
    o = case['sgd']
    opt = torch.optim.SGD(params, lr=o['lr'], momentum=o.get('momentum', 0), dampening=o.get('dampening', 0),
                          weight_decay=o.get('weightDecay', 0), nesterov=o.get('nesterov', False))
    sc = case.get('sched')
    sched = None
    if sc and sc['kind'] == 'step': sched = torch.optim.lr_scheduler.StepLR(opt, sc['stepSize'], sc['gamma'])
    if sc and sc['kind'] == 'cosine': sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, sc['tMax'], sc['etaMin'])
    lrs = []
    for step in spec['grads']:
        for p, g, s in zip(params, step, spec['shapes']): p.grad = torch.tensor(g, dtype=torch.float32).reshape(s)
        if 'clip' in case: torch.nn.utils.clip_grad_norm_(params, case['clip'])
        opt.step()
        if sched: sched.step()
        lrs.append(opt.param_groups[0]['lr'])
    out[case['name']] = {'params': [p.detach().reshape(-1).tolist() for p in params], 'lrs': lrs,
                         'nbuf': len(opt.state_dict()['state']), 'group': {k: v for k, v in opt.state_dict()['param_groups'][0].items()}}
print(json.dumps(out))
`

describe.skipIf(!!reason)('SGD / clip / schedulers vs torch.optim (20 steps, given gradients)', () => {
  const rng = new SeededRng(7)
  const init = SHAPES.map((s) => randomArray(rng, s.reduce((a, b) => a * b, 1), 1))
  const grads = Array.from({ length: STEPS }, () => SHAPES.map((s) => randomArray(rng, s.reduce((a, b) => a * b, 1), 2)))
  let ref: Record<string, { params: number[][]; lrs: number[]; nbuf: number; group: Record<string, unknown> }>

  beforeAll(async () => {
    await initBackend({ device: 'cpu' })
    const dir = mkdtempSync(path.join(tmpdir(), 'sgd-parity-'))
    const file = path.join(dir, 'spec.json')
    writeFileSync(file, JSON.stringify({ shapes: SHAPES, init, grads, cases: CASES }))
    ref = JSON.parse(await runPython(PY, [file])) as typeof ref
  })

  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => replay(c, 'cpu'))

  // @tinylab/native-cpu's fused TinylabSGDMomentum kernel (one pass instead of six tfjs kernels) must replay the same.
  it.skipIf(native !== '').each(CASES.map((c) => [c.name, c] as const))(`%s on wasm+native${native ? ` (skipped: ${native})` : ''}`, (_name, c) =>
    replay(c, 'wasm+native'),
  )

  async function replay(c: Case, device: 'cpu' | 'wasm+native'): Promise<void> {
    await initBackend({ device })
    const kernels = new Set<string>()
    let tensorsAfterStep2 = 0
    const params = SHAPES.map((s, i) => ({ name: `p${i}`, value: tf.variable(tf.tensor(init[i] as number[], s)) }))
    const opt = new SGD(params, c.sgd)
    const sched =
      c.sched?.kind === 'step'
        ? new StepLR(opt, { stepSize: c.sched.stepSize, gamma: c.sched.gamma })
        : c.sched?.kind === 'cosine'
          ? new CosineAnnealingLR(opt, { tMax: c.sched.tMax, etaMin: c.sched.etaMin })
          : undefined
    const lrs: number[] = []
    for (const step of grads) {
      const g: Record<string, tf.Tensor> = {}
      step.forEach((v, i) => (g[`p${i}`] = tf.tensor(v, SHAPES[i])))
      if (c.clip !== undefined) {
        const clipped = clipGradNorm(g, c.clip)
        opt.step(clipped.grads)
        tf.dispose([...Object.values(clipped.grads), clipped.totalNorm])
      } else {
        // Profile one step after the first (which creates the momentum buffers) to see which kernels ran.
        if (lrs.length === 1) (await tf.profile(() => opt.step(g))).kernelNames.forEach((k) => kernels.add(k))
        else opt.step(g)
      }
      tf.dispose(Object.values(g))
      sched?.step()
      lrs.push(opt.lr)
      if (lrs.length === 2) tensorsAfterStep2 = tf.memory().numTensors
    }
    expect(tf.memory().numTensors, 'tensors after step 20 vs step 2').toBe(tensorsAfterStep2)
    const r = ref[c.name]!
    params.forEach((p, i) => {
      expect(maxAbsDiff(p.value.dataSync(), r.params[i]!)).toBeLessThanOrEqual(1e-6)
    })
    expect(maxAbsDiff(lrs, r.lrs)).toBeLessThanOrEqual(1e-12)
    const sd = opt.stateDict()
    expect(Object.keys(sd.state).length).toBe(r.nbuf)
    for (const key of ['lr', 'momentum', 'dampening', 'weight_decay', 'nesterov', 'maximize', 'params'] as const) {
      expect(sd.param_groups[0]![key]).toEqual(r.group[key])
    }
    opt.dispose()
    params.forEach((p) => p.value.dispose())
    const fused = device === 'wasm+native' && (c.sgd.momentum ?? 0) !== 0 && c.clip === undefined
    if (fused) expect([...kernels]).toEqual([SGD_MOMENTUM])
    if (device === 'cpu' && c.clip === undefined) expect(kernels.has(SGD_MOMENTUM)).toBe(false)
    await initBackend({ device: 'cpu' })
  }

  it('loadStateDict continues exactly where the saved optimizer left off', () => {
    const make = () => SHAPES.map((s, i) => ({ name: `p${i}`, value: tf.variable(tf.tensor(init[i] as number[], s)) }))
    const gradsAt = (k: number) => {
      const g: Record<string, tf.Tensor> = {}
      grads[k]!.forEach((v, i) => (g[`p${i}`] = tf.tensor(v, SHAPES[i])))
      return g
    }
    const a = make()
    const optA = new SGD(a, { lr: 0.1, momentum: 0.9 })
    for (let k = 0; k < 10; k++) optA.step(gradsAt(k))
    const b = a.map((p) => ({ name: p.name, value: tf.variable(p.value.clone()) }))
    const optB = new SGD(b, { lr: 0.3, momentum: 0.9 })
    optB.loadStateDict(optA.stateDict())
    expect(optB.lr).toBe(0.1)
    for (let k = 10; k < 20; k++) {
      optA.step(gradsAt(k))
      optB.step(gradsAt(k))
    }
    a.forEach((p, i) => expect(maxAbsDiff(p.value.dataSync(), b[i]!.value.dataSync())).toBe(0))
    expect(maxAbsDiff(a[0]!.value.dataSync(), ref['plain']!.params[0]!)).toBeGreaterThan(1e-3) // momentum changed the path
  })
})
