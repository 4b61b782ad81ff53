import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '@tinylab/multi-device'
import { maxAbsDiff, relError } from '@tinylab/test-utils/close'
import { requireTorchOrSkipReason } from '@tinylab/test-utils/torch'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resnet18, type ResNet } from '../src/index'
import { parityBackends, type ParityDevice } from './_backends'
import { crossEntropy, getArray, loadTorchState, toTinyLayout, torchParities, type TorchDump } from './_torch-reference'

// One train-mode step of torchvision resnet18(num_classes=200) on a batch of 2 images of 64×64 (40×40 on the pure-JS cpu
// backend: its 64 px step is one synchronous block of 10–40 s on a busy machine, near vitest's 60 s RPC timeout; 40 px
// still leaves layer4 2×2, so BatchNorm sees 8 values per channel as at 64 px, where 32 px would leave 2 and make the
// batch-statistics gradient ill-conditioned): BatchNorm on batch statistics,
// cross-entropy, backward. Tolerances: logits 1e-4 absolute (as eval); gradients 1e-3 relative to each tensor's
// largest entry (float32 backward through 20 layers, and BN's batch-variance gradient, cancels a lot);
// running stats 1e-5 relative (one momentum update of batch statistics).

/**
 * The suite on the backends `select` picks. Every backend runs in exactly one suite: parity-train.test.ts (pnpm test)
 * takes wasm, wasm+native and webgpu; parity-train-cpu.slow.test.ts (pnpm test:full) tfjs's pure-JS cpu backend, whose
 * step is tens of seconds of synchronous work on 2 cores and exercises no TinyLab kernel.
 */
export async function trainParitySuite(select: (device: ParityDevice) => boolean): Promise<void> {
  const reason = requireTorchOrSkipReason()

  // Every backend that has the kernel a conv backward needs (wasm got Conv2DBackpropFilter from @tinylab/multi-device).
  const backends = (await parityBackends('Conv2DBackpropFilter')).filter((b) => select(b.device))

  describe.skipIf(!!reason)('one train-mode step equals torchvision resnet18', () => {
    const runs = backends.map((b) => ({ ...b, size: b.device === 'cpu' ? 40 : 64 }))
    // Both sizes' references from one Python process, asked for by the first suite that starts.
    const sizes = [...new Set(runs.filter((r) => !r.skip).map((r) => r.size))]
    let dumps: Promise<TorchDump[]> | undefined
    const reference = async (size: number): Promise<TorchDump> => {
      dumps ??= torchParities(sizes.map((s) => ({ arch: 'resnet18', numClasses: 200, size: s, batch: 2, stem: 'imagenet', mode: 'train' })))
      return (await dumps)[sizes.indexOf(size)] as TorchDump
    }

    describe.each(runs)('on $label, 2×$size×$size', ({ device, skip, size }) => {
      let dump: TorchDump
      let model: ResNet
      let logits: Float32Array
      let loss: number
      let grads: Map<string, Float32Array>

      beforeAll(async () => {
        if (skip) return
        dump = await reference(size)
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
        loss = (await value.data())[0] ?? NaN
        logits = (await (kept as tf.Tensor).data()) as Float32Array
        grads = new Map()
        for (const p of model.parameters()) grads.set(p.name, (await (byVariable[p.value.name] as tf.Tensor).data()) as Float32Array)
        tf.dispose([value, kept as tf.Tensor, ...Object.values(byVariable)])
        expect(tf.memory().numTensors).toBe(before)
        tf.dispose([input, labels])
      })

      it.skipIf(!!skip)('gives the same logits and loss', () => {
        expect(maxAbsDiff(logits, getArray(dump, 'logits').data)).toBeLessThanOrEqual(1e-4)
        expect(Math.abs(loss - (dump.loss ?? NaN))).toBeLessThanOrEqual(1e-5)
      })

      it.skipIf(!!skip)('gives the same gradient for every parameter', async () => {
        const errors: [string, number][] = []
        for (const p of model.parameters()) {
          const ref = toTinyLayout(getArray(dump, `grad/${p.name}`), p.layout)
          errors.push([p.name, relError(grads.get(p.name) ?? [], await ref.data())])
          ref.dispose()
        }
        expect(errors).toHaveLength(62)
        expect(errors.filter(([, e]) => !(e <= 1e-3))).toEqual([])
      })

      it.skipIf(!!skip)('updates running stats and num_batches_tracked like torch', async () => {
        const buffers = model.namedTensors().filter((t) => t.kind === 'buffer')
        expect(buffers).toHaveLength(60)
        for (const b of buffers) {
          const ref = getArray(dump, `after/${b.name}`).data
          const ours = await b.value.data()
          if (b.name.endsWith('num_batches_tracked')) expect(Array.from(ours)).toEqual([8])
          else expect(relError(ours, ref), b.name).toBeLessThanOrEqual(1e-5)
        }
      })

      afterAll(() => model?.dispose())
    })
  })
}
