/**
 * Eval mode against torchvision with the same weights: BatchNorm on running stats, so the logits depend only on the
 * weights and the forward code. 1e-4 absolute on O(1) logits leaves room for float32 summation order (torch's
 * im2col/OpenBLAS vs tfjs's loops) over up to 50 layers, yet catches any wrong pad, stride, layout or BN formula.
 *
 * Every (backend, case) pair runs in exactly one suite: `parity-eval.test.ts` (pnpm test) runs those `inFastSuite`
 * picks, `parity-eval-more.slow.test.ts` (pnpm test:full) the rest.
 */
import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '@tinylab/multi-device'
import { maxAbsDiff } from '@tinylab/test-utils/close'
import { requireTorchOrSkipReason } from '@tinylab/test-utils/torch'
import { beforeAll, describe, expect, it } from 'vitest'
import { createResNet } from '../src/index'
import { parityBackends, type ParityDevice } from './_backends'
import { getArray, loadTorchState, torchParities, type ParityCase, type TorchDump } from './_torch-reference'

const TOLERANCE = 1e-4

export const EVAL_CASES: ParityCase[] = [
  { arch: 'resnet18', numClasses: 200, size: 64, batch: 2, stem: 'imagenet', mode: 'eval' },
  { arch: 'resnet18', numClasses: 200, size: 32, batch: 2, stem: 'cifar', mode: 'eval' },
  { arch: 'resnet34', numClasses: 1000, size: 64, batch: 2, stem: 'imagenet', mode: 'eval' },
  { arch: 'resnet50', numClasses: 1000, size: 64, batch: 2, stem: 'imagenet', mode: 'eval' },
]

/**
 * The fast suite's share. Every architecture and stem runs on wasm and wasm+native, the backends TinyLab's own kernels
 * are in. On tfjs's pure-JS cpu backend (the slowest by far: tens of seconds of synchronous work per ResNet-50) only
 * the ResNet-18 case; on WebGPU (lavapipe here) all but ResNet-34, whose blocks have ResNet-18's kernels and shapes.
 */
export function inFastSuite(device: ParityDevice, c: ParityCase): boolean {
  if (device === 'cpu') return c.arch === 'resnet18' && c.stem === 'imagenet'
  if (device === 'webgpu') return c.arch !== 'resnet34'
  return true
}

export async function evalParitySuite(select: (device: ParityDevice, c: ParityCase) => boolean): Promise<void> {
  const backends = await parityBackends()
  const reason = requireTorchOrSkipReason()
  // Torch references only for the cases some backend here runs, computed once each.
  const needed = EVAL_CASES.filter((c) => backends.some((b) => !b.skip && select(b.device, c)))
  const used = backends.filter((b) => EVAL_CASES.some((c) => select(b.device, c)))

  describe.skipIf(!!reason)('eval-mode logits equal torchvision with the same weights', () => {
    const dumps = new Map<ParityCase, TorchDump>()
    beforeAll(async () => {
      const answers = await torchParities(needed)
      needed.forEach((c, i) => dumps.set(c, answers[i] as TorchDump))
    })

    describe.each(used)('on $label', ({ device, skip }) => {
      const cases = EVAL_CASES.filter((c) => select(device, c))
      beforeAll(async () => {
        if (!skip) await initBackend({ device })
      })

      it.skipIf(!!skip).each(cases)('$arch $stem stem, $numClasses classes, $batch×$size×$size', async (c) => {
        const dump = dumps.get(c)
        if (!dump) throw new Error('torch reference missing')
        const model = createResNet(c.arch, { numClasses: c.numClasses, stem: c.stem })
        loadTorchState(model, dump)
        const x = getArray(dump, 'x')
        const input = tf.tensor4d(x.data, x.shape as [number, number, number, number])
        const before = tf.memory().numTensors
        const logits = model.forward(input, { training: false })
        expect(logits.shape).toEqual([c.batch, c.numClasses])
        const diff = maxAbsDiff(await logits.data(), getArray(dump, 'logits').data)
        logits.dispose()
        expect(tf.memory().numTensors).toBe(before)
        input.dispose()
        model.dispose()
        expect(diff).toBeLessThanOrEqual(TOLERANCE)
      })
    })
  })
}
