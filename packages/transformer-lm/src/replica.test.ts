import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '@tinylab/multi-device'
import { beforeAll, describe, expect, it } from 'vitest'
import { nllLoss } from '@tinylab/train-loop'
import { transformerReplica } from './replica'
import { TransformerModel } from './transformer-model'

const config = { ntoken: 12, ninp: 8, nhead: 2, nhid: 16, nlayers: 1, dropout: 0, layerDropout: 0, seed: 5 }

beforeAll(async () => {
  await initBackend({ device: 'cpu' })
})

describe('transformerReplica', () => {
  it('replica r is the TransformerModel of seed + r, and its loss is main.py’s NLL of the shard', () => {
    const x = tf.tensor2d([[1, 2], [3, 4], [5, 6]], [3, 2], 'int32')
    const y = tf.tensor2d([[3, 4], [5, 6], [7, 8]], [3, 2], 'int32')
    for (const rank of [0, 1]) {
      const replica = transformerReplica(config, { rank })
      const reference = new TransformerModel({ ...config, seed: config.seed + rank })
      expect(replica.parameters().map((p) => p.name)).toEqual(reference.parameters().map((p) => p.name))
      expect(Array.from(replica.parameters()[0]?.value.dataSync() ?? [])).toEqual(Array.from(reference.parameters()[0]?.value.dataSync() ?? []))
      const want = tf.tidy(() => nllLoss(reference.forward(x, { training: true }), tf.tensor1d([3, 4, 5, 6, 7, 8], 'int32')))
      const got = replica.loss(x, y)
      expect(got.dataSync()[0]).toBeCloseTo(want.dataSync()[0] as number, 6)
      tf.dispose([want, got])
      replica.dispose()
      reference.dispose()
    }
    // Different ranks draw different weights (dropout streams likewise): the seeds above matter.
    const [a, b] = [0, 1].map((rank) => transformerReplica(config, { rank }))
    expect(a?.parameters()[0]?.value.dataSync()).not.toEqual(b?.parameters()[0]?.value.dataSync())
    a?.dispose()
    b?.dispose()
    tf.dispose([x, y])
  })
})
