// Data parallelism must be invisible in the numbers: N replicas on shards of a batch follow one replica on the whole
// batch (DistributedDataParallel's contract), and both follow PyTorch running the same BN-free net with torch.optim.SGD.
import * as tf from '@tensorflow/tfjs-core'
import { relError } from '@tinylab/test-utils/close'
import { requireTorchOrSkipReason, runPython } from '@tinylab/test-utils/torch'
import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../src/init-backend'
import { createDataParallel, shardBounds } from '../src/data-parallel/data-parallel'
import type { DataParallel, NamedArray } from '../src/data-parallel/data-parallel'
import { FIXTURE, fixtureInitialWeights } from './data-parallel-fixture'

const fixtureModule = fileURLToPath(new URL('./data-parallel-fixture.ts', import.meta.url))
const { size, channels, classes } = FIXTURE
const STEPS = 10
const LR = 0.1
const optimizer = { momentum: 0.9, weightDecay: 1e-4 }

/** Batch `step` of a fixed, seeded sequence: x [batch, 6, 6, 2] in NHWC, y [batch] labels. */
function batchAt(step: number, batch: number): { x: { data: Float32Array; shape: number[] }; y: { data: Int32Array; shape: number[] } } {
  const perImage = size * size * channels
  const x = Float32Array.from({ length: batch * perImage }, (_, i) => Math.sin(0.37 * i + 1.3 * step) + 0.1 * Math.cos(0.11 * i * (step + 1)))
  const y = Int32Array.from({ length: batch }, (_, i) => (i * 7 + step * 3) % classes)
  return { x: { data: x, shape: [batch, size, size, channels] }, y: { data: y, shape: [batch] } }
}

/** The same batch with the batch on axis 1: [H*W*C, batch] (the word LM's [seqLen, batch] layout). */
function featuresFirst(x: { data: Float32Array; shape: number[] }): { data: Float32Array; shape: number[] } {
  const [batch, ...rest] = x.shape as [number, ...number[]]
  const features = rest.reduce((a, b) => a * b, 1)
  const out = new Float32Array(x.data.length)
  for (let n = 0; n < batch; n++) for (let f = 0; f < features; f++) out[f * batch + n] = x.data[n * features + f] as number
  return { data: out, shape: [features, batch] }
}

async function train(dp: DataParallel, batch: number, steps: number[], layout: 'nhwc' | 'features-first' = 'nhwc', clip = 0): Promise<number[]> {
  const losses: number[] = []
  for (const s of steps) {
    const { x, y } = batchAt(s, batch)
    const { loss } = await dp.step(layout === 'nhwc' ? x : featuresFirst(x), y, LR, { clipGradNorm: clip })
    losses.push(loss)
  }
  return losses
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i)

function expectSameParameters(a: NamedArray[], b: NamedArray[], tolerance: number): void {
  expect(a.map((t) => t.name)).toEqual(b.map((t) => t.name))
  a.forEach((t, i) => expect(relError(t.data, (b[i] as NamedArray).data), t.name).toBeLessThanOrEqual(tolerance))
}

describe('createDataParallel (cpu replicas, BN-free conv net)', () => {
  const B = 8
  let single: { losses: number[]; params: NamedArray[] }
  let snapshot: { params: NamedArray[]; optimizer: ReturnType<DataParallel['optimizerStateDict']> }

  beforeAll(async () => {
    // The main thread needs a backend only for optimizerStateDict's tensors (checkpoints); replicas bring their own.
    await initBackend({ device: 'cpu' })
    const dp = await createDataParallel({ replicas: 1, device: 'cpu', replica: { module: fixtureModule, options: { seed: 3 } }, optimizer })
    try {
      single = { losses: await train(dp, B, range(0, STEPS)), params: dp.getParameters() }
    } finally {
      await dp.dispose()
    }
  })

  it('splits a batch as evenly as possible', () => {
    expect(shardBounds(8, 2)).toEqual([0, 4, 8])
    expect(shardBounds(7, 3)).toEqual([0, 3, 5, 7])
    expect(shardBounds(1, 2)).toEqual([0, 1, 1])
  })

  it('2 replicas x batch B/2 = 1 replica x batch B after 10 SGD steps (params and losses <= 1e-5 relative)', async () => {
    const dp = await createDataParallel({ replicas: 2, device: 'cpu', replica: { module: fixtureModule, options: { seed: 3 } }, optimizer })
    try {
      expect(dp.backends.map((b) => b.backend)).toEqual(['cpu', 'cpu'])
      const first = await train(dp, B, range(0, 5))
      snapshot = { params: dp.getParameters(), optimizer: dp.optimizerStateDict() }
      const losses = [...first, ...(await train(dp, B, range(5, STEPS)))]
      // float32 sums in a different order: a few ulps per step, nothing like the 1e-2 a wrong weighting gives.
      expect(relError(losses, single.losses)).toBeLessThanOrEqual(1e-5)
      expectSameParameters(dp.getParameters(), single.params, 1e-5)
      // The net did learn something: a test of equality between two runs that do nothing would pass vacuously.
      expect(losses[STEPS - 1]).toBeLessThan((losses[0] as number) * 0.9)
    } finally {
      await dp.dispose()
    }
  })

  it('shards along batch axis 1 ([features, batch], the LM layout) and starts every replica from replica 0', async () => {
    // Replica 1 builds other weights (seed 1003): DDP broadcasts rank 0's, so they must not leak in.
    const dp = await createDataParallel({
      replicas: 2,
      device: 'cpu',
      replica: { module: fixtureModule, options: { seed: 3, seedPerRank: true, layout: 'features-first' } },
      optimizer,
      batchAxis: { x: 1, y: 0 },
    })
    try {
      const losses = await train(dp, B, range(0, STEPS), 'features-first')
      expect(relError(losses, single.losses)).toBeLessThanOrEqual(1e-5)
      expectSameParameters(dp.getParameters(), single.params, 1e-5)
    } finally {
      await dp.dispose()
    }
  })

  it('resumes from parameters + optimizer state on a different replica count (2 -> 1) and lands on the same weights', async () => {
    const dp = await createDataParallel({ replicas: 1, device: 'cpu', replica: { module: fixtureModule, options: { seed: 99 } }, optimizer })
    try {
      await dp.setParameters(snapshot.params)
      dp.loadOptimizerStateDict(snapshot.optimizer)
      const losses = await train(dp, B, range(5, STEPS))
      expect(relError(losses, single.losses.slice(5))).toBeLessThanOrEqual(1e-5)
      expectSameParameters(dp.getParameters(), single.params, 1e-5)
    } finally {
      tf.dispose(Object.values(snapshot.optimizer.state).map((s) => s.momentum_buffer))
      await dp.dispose()
    }
  })
})

const reason = requireTorchOrSkipReason()

describe.skipIf(!!reason)('createDataParallel vs PyTorch (torch.optim.SGD + clip_grad_norm_, uneven shards)', () => {
  it('2 replicas on batch 7 (4 + 3) with clipping follow PyTorch on the whole batch for 10 steps, and count its top-k hits', async () => {
    const B = 7
    const clip = 0.5
    const w = fixtureInitialWeights(5)
    const batches = range(0, STEPS).map((s) => batchAt(s, B))
    const script = `
import json, sys, torch
torch.set_num_threads(1)
d = json.load(open(sys.argv[1]))
S, C, F, K = d['size'], d['channels'], d['filters'], d['classes']
t = lambda v: torch.tensor(v, dtype=torch.float32)
conv = torch.nn.Conv2d(C, F, 3, padding=1)
fc = torch.nn.Linear((S // 2) * (S // 2) * F, K)
with torch.no_grad():
    conv.weight.copy_(t(d['convW']).reshape(3, 3, C, F).permute(3, 2, 0, 1))  # HWIO -> OIHW
    conv.bias.copy_(t(d['convB']))
    fc.weight.copy_(t(d['fcW']).reshape(-1, K).t())                           # [in, out] -> [out, in]
    fc.bias.copy_(t(d['fcB']))
params = [conv.weight, conv.bias, fc.weight, fc.bias]
opt = torch.optim.SGD(params, lr=d['lr'], momentum=d['momentum'], weight_decay=d['weightDecay'])
losses, hits = [], []
for b in d['batches']:
    x = t(b['x']).reshape(-1, S, S, C).permute(0, 3, 1, 2)                    # NHWC -> NCHW
    y = torch.tensor(b['y'], dtype=torch.long)
    h = torch.nn.functional.avg_pool2d(torch.relu(conv(x)), 2)
    logits = fc(h.permute(0, 2, 3, 1).reshape(x.shape[0], -1))                 # flatten in NHWC order, like tfjs
    loss = torch.nn.functional.cross_entropy(logits, y)
    hits.append([int((logits.topk(k, 1).indices == y[:, None]).any(1).sum()) for k in (1, 2)])
    opt.zero_grad(); loss.backward()
    torch.nn.utils.clip_grad_norm_(params, d['clip'])
    opt.step()
    losses.append(loss.item())
out = [conv.weight.permute(2, 3, 1, 0).reshape(-1), conv.bias, fc.weight.t().reshape(-1), fc.bias]
print(json.dumps({'losses': losses, 'hits': hits, 'params': [p.detach().reshape(-1).tolist() for p in out]}))
`
    const input = JSON.stringify({
      ...FIXTURE,
      convW: [...w.convW],
      convB: [...w.convB],
      fcW: [...w.fcW],
      fcB: [...w.fcB],
      lr: LR,
      ...optimizer,
      clip,
      batches: batches.map((b) => ({ x: [...b.x.data], y: [...b.y.data] })),
    })
    const inputFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'dp-torch-')), 'input.json')
    writeFileSync(inputFile, input)
    const torchRun = runPython(script, [inputFile], { threads: 1 })
    const dp = await createDataParallel({ replicas: 2, device: 'cpu', replica: { module: fixtureModule, options: { seed: 5 } }, optimizer })
    try {
      const losses: number[] = []
      const norms: number[] = []
      const hits: number[][] = []
      for (const b of batches) {
        const r = await dp.step(b.x, b.y, LR, { clipGradNorm: clip, topk: [1, 2] })
        losses.push(r.loss)
        norms.push(r.gradNorm ?? Number.NaN)
        hits.push(r.correct ?? [])
      }
      const ref = JSON.parse(await torchRun) as { losses: number[]; hits: number[][]; params: number[][] }
      // Train Acc@k from the step's own logits, summed over both shards: the same counts as PyTorch's whole batch.
      expect(hits).toEqual(ref.hits)
      expect(new Set(hits.map((h) => h.join(','))).size).toBeGreaterThan(1)
      // Different conv/matmul summation orders in two libraries: 1e-4 relative over 10 steps.
      expect(relError(losses, ref.losses)).toBeLessThanOrEqual(1e-4)
      dp.getParameters().forEach((p, i) => expect(relError(p.data, ref.params[i] as number[]), p.name).toBeLessThanOrEqual(1e-4))
      // The clip was active (the test exercises clipping, not a no-op).
      expect(Math.max(...norms)).toBeGreaterThan(clip)
    } finally {
      await dp.dispose()
    }
  })
})
