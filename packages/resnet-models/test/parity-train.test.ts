import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '@tinylab/multi-device'
import { maxAbsDiff, relError } from '@tinylab/test-utils/close'
import { requireTorchOrSkipReason } from '@tinylab/test-utils/torch'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resnet18, type ResNet } from '../src/index'
import { crossEntropy, getArray, loadTorchState, toTinyLayout, torchParity, type TorchDump } from './_torch-reference'

// One train-mode step of torchvision resnet18(num_classes=200) on a 2×3×64×64 batch: BatchNorm on batch statistics,
// cross-entropy, backward. Tolerances: logits 1e-4 absolute (as eval); gradients 1e-3 relative to each tensor's
// largest entry (float32 backward through 20 layers, and BN's batch-variance gradient, cancels a lot);
// running stats 1e-5 relative (one momentum update of batch statistics).
const reason = requireTorchOrSkipReason()

// Backends with the kernels a conv backward needs. wasm lacks Conv2DBackpropFilter until @tinylab/multi-device
// registers its own; then this suite runs there too without edits.
const backends: { device: 'cpu' | 'wasm'; skip?: string }[] = [{ device: 'cpu' }]
await initBackend({ device: 'wasm' })
backends.push(
  tf.getKernel('Conv2DBackpropFilter', 'wasm')
    ? { device: 'wasm' }
    : { device: 'wasm', skip: 'the wasm backend has no Conv2DBackpropFilter kernel registered' },
)

describe.skipIf(!!reason)('one train-mode step equals torchvision resnet18', () => {
  let dump: TorchDump
  beforeAll(async () => {
    dump = await torchParity({ arch: 'resnet18', numClasses: 200, size: 64, batch: 2, stem: 'imagenet', mode: 'train' })
  })

  describe.each(backends)('on $device', ({ device, skip }) => {
    let model: ResNet
    let logits: Float32Array
    let loss: number
    let grads: Map<string, Float32Array>

    beforeAll(async () => {
      if (skip) return
      await initBackend({ device })
      model = resnet18({ numClasses: 200 })
      loadTorchState(model, dump)
      const x = getArray(dump, 'x')
      const input = tf.tensor4d(x.data, x.shape as [number, number, number, number])
      const labels = tf.tensor1d(dump.labels, 'int32')
      const before = tf.memory().numTensors
      let kept: tf.Tensor | undefined
      const { value, grads: byVariable } = tf.variableGrads(() => {
        const out = model.forward(input, { training: true })
        kept = tf.keep(out.clone())
        return crossEntropy(out, labels)
      }, model.parameters().map((p) => p.value))
      loss = value.dataSync()[0] ?? NaN
      logits = kept?.dataSync() as Float32Array
      grads = new Map(model.parameters().map((p) => [p.name, byVariable[p.value.name]?.dataSync() as Float32Array]))
      tf.dispose([value, kept as tf.Tensor, ...Object.values(byVariable)])
      expect(tf.memory().numTensors).toBe(before)
      tf.dispose([input, labels])
    })

    it.skipIf(!!skip)('gives the same logits and loss', () => {
      expect(maxAbsDiff(logits, getArray(dump, 'logits').data)).toBeLessThanOrEqual(1e-4)
      expect(Math.abs(loss - (dump.loss ?? NaN))).toBeLessThanOrEqual(1e-5)
    })

    it.skipIf(!!skip)('gives the same gradient for every parameter', () => {
      const errors = model.parameters().map((p) => {
        const ref = toTinyLayout(getArray(dump, `grad/${p.name}`), p.layout)
        const e = relError(grads.get(p.name) ?? [], ref.dataSync())
        ref.dispose()
        return [p.name, e] as const
      })
      expect(errors).toHaveLength(62)
      expect(errors.filter(([, e]) => !(e <= 1e-3))).toEqual([])
    })

    it.skipIf(!!skip)('updates running stats and num_batches_tracked like torch', () => {
      const buffers = model.namedTensors().filter((t) => t.kind === 'buffer')
      expect(buffers).toHaveLength(60)
      for (const b of buffers) {
        const ref = getArray(dump, `after/${b.name}`).data
        if (b.name.endsWith('num_batches_tracked')) expect(Array.from(b.value.dataSync())).toEqual([8])
        else expect(relError(b.value.dataSync(), ref), b.name).toBeLessThanOrEqual(1e-5)
      }
    })

    afterAll(() => model?.dispose())
  })
})
