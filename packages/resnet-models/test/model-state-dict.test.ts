import * as tf from '@tensorflow/tfjs-core'
import { decodeCheckpoint, encodeCheckpoint, HostTensor } from '@tinylab/checkpoint-io'
import { initBackend } from '@tinylab/multi-device'
import { beforeAll, describe, expect, it } from 'vitest'
import { resnet18 } from '../src/index'

// wasm, the default device: the ResNet-18 forward passes take seconds on tfjs's pure-JS cpu backend.
beforeAll(async () => {
  await initBackend({ device: 'wasm' })
})

const concat = (chunks: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(chunks))

describe('ResNet.stateDict / loadStateDict (torch semantics)', () => {
  it('a model loaded from another model\'s state dict, through a main.py-style .pth checkpoint, gives the same logits', async () => {
    const a = resnet18({ numClasses: 4, stem: 'cifar', seed: 1 })
    const b = resnet18({ numClasses: 4, stem: 'cifar', seed: 2 })
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 3) as tf.Tensor4D
    const sd = await a.stateDict()
    expect(Object.keys(sd)).toEqual(a.namedTensors().map((t) => t.name))
    expect(sd['fc.weight']?.shape).toEqual([4, 512]) // PyTorch layout: [out, in]
    const file = concat(encodeCheckpoint({ epoch: 1, arch: 'resnet18', state_dict: sd, best_acc1: 0 }, 'pth'))
    const before = tf.memory().numTensors
    expect(b.loadStateDict(decodeCheckpoint(file, 'checkpoint.pth.tar'))).toEqual({ missingKeys: [], unexpectedKeys: [] })
    expect(tf.memory().numTensors).toBe(before)
    const [la, lb] = [a.forward(x, { training: false }), b.forward(x, { training: false })]
    expect(Array.from(await lb.data())).toEqual(Array.from(await la.data()))
    tf.dispose([x, la, lb])
    a.dispose()
    b.dispose()
  })

  it('lists missing and unexpected keys (strict), allows them with strict: false, and always names shape mismatches', async () => {
    const model = resnet18({ numClasses: 4, stem: 'cifar', seed: 1 })
    const sd = await model.stateDict()
    const { ['layer1.0.bn1.running_var']: dropped, ...rest } = sd
    expect(dropped).toBeDefined()
    const extra = { ...rest, 'head.bias': new HostTensor('float32', [4], new Float32Array(4)) }
    expect(() => model.loadStateDict(extra)).toThrow(
      'Error(s) in loading state_dict for ResNet:\n\tMissing key(s) in state_dict: "layer1.0.bn1.running_var".\n\tUnexpected key(s) in state_dict: "head.bias".',
    )
    expect(model.loadStateDict(extra, { strict: false })).toEqual({ missingKeys: ['layer1.0.bn1.running_var'], unexpectedKeys: ['head.bias'] })
    const wrongHead = { ...sd, 'fc.weight': new HostTensor('float32', [10, 512], new Float32Array(5120)) }
    expect(() => model.loadStateDict(wrongHead, { strict: false })).toThrow(
      'size mismatch for fc.weight: copying a param with shape torch.Size([10, 512]) from checkpoint, the shape in current model is torch.Size([4, 512]).',
    )
    expect(() => model.loadStateDict({ epoch: 3, arch: 'resnet18' })).toThrow(/expected a state dict .* not tensors: epoch, arch/)
    model.dispose()
  })
})
