import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '@tinylab/multi-device'
import { maxAbsDiff } from '@tinylab/test-utils/close'
import { requireTorchOrSkipReason } from '@tinylab/test-utils/torch'
import { beforeAll, describe, expect, it } from 'vitest'
import { createResNet } from '../src/index'
import { parityBackends } from './_backends'
import { getArray, loadTorchState, torchParity, type ParityCase, type TorchDump } from './_torch-reference'

// Eval mode against torchvision with the same weights: BatchNorm on running stats, so the logits depend only on the
// weights and the forward code. 1e-4 absolute on O(1) logits leaves room for float32 summation order (torch's
// im2col/OpenBLAS vs tfjs's loops) over up to 50 layers, yet catches any wrong pad, stride, layout or BN formula.
const TOLERANCE = 1e-4

const cases: ParityCase[] = [
  { arch: 'resnet18', numClasses: 200, size: 64, batch: 2, stem: 'imagenet', mode: 'eval' },
  { arch: 'resnet18', numClasses: 200, size: 32, batch: 2, stem: 'cifar', mode: 'eval' },
  { arch: 'resnet34', numClasses: 1000, size: 64, batch: 2, stem: 'imagenet', mode: 'eval' },
  { arch: 'resnet50', numClasses: 1000, size: 64, batch: 2, stem: 'imagenet', mode: 'eval' },
]
const backends = await parityBackends()

const reason = requireTorchOrSkipReason()

describe.skipIf(!!reason)('eval-mode logits equal torchvision with the same weights', () => {
  const dumps = new Map<ParityCase, TorchDump>()
  beforeAll(async () => {
    for (const c of cases) dumps.set(c, await torchParity(c))
  })

  describe.each(backends)('on $label', ({ device, skip }) => {
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
