import { initBackend } from '@tinylab/multi-device'
import { beforeAll, describe, expect, it } from 'vitest'
import { RNNModel } from './rnn-model'
import { TransformerModel } from './transformer-model'

beforeAll(async () => {
  await initBackend({ device: 'cpu' })
})

describe('stateDict / loadStateDict', () => {
  it('RNNModel with tied weights: decoder.weight is saved like torch (a second key for the embedding) and loads back', async () => {
    const config = { rnnType: 'LSTM' as const, ntoken: 7, ninp: 4, nhid: 4, nlayers: 1, tieWeights: true }
    const a = new RNNModel({ ...config, seed: 1 })
    const b = new RNNModel({ ...config, seed: 2 })
    const sd = await a.stateDict()
    expect(Object.keys(sd)).toContain('decoder.weight')
    expect(Array.from(sd['decoder.weight']?.toFloat32() ?? [])).toEqual(Array.from(sd['encoder.weight']?.toFloat32() ?? []))
    b.loadStateDict({ state_dict: sd })
    expect(await b.stateDict()).toEqual(sd)
  })

  it("TransformerModel names its missing keys in torch's wording", async () => {
    const m = new TransformerModel({ ntoken: 5, ninp: 4, nhead: 2, nhid: 8, nlayers: 1, seed: 1 })
    const { ['decoder.bias']: _bias, ...rest } = await m.stateDict()
    expect(() => m.loadStateDict(rest)).toThrow('Error(s) in loading state_dict for TransformerModel:\n\tMissing key(s) in state_dict: "decoder.bias".')
    expect(m.loadStateDict(rest, { strict: false }).missingKeys).toEqual(['decoder.bias'])
  })
})
