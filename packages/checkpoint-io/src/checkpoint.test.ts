import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { decodeCheckpoint, encodeCheckpoint, formatForPath, loadCheckpoint, saveCheckpoint } from './checkpoint'
import { HostTensor } from './host-tensor'
import { decodeSafetensors } from './safetensors'

describe('saveCheckpoint / loadCheckpoint', () => {
  const momentum = new HostTensor('float32', [2], Float32Array.from([0.5, -0.25]))
  const state = {
    epoch: 5,
    arch: 'resnet18',
    state_dict: { 'fc.weight': new HostTensor('float32', [1, 2], Float32Array.from([1, 2])), 'bn.num_batches_tracked': new HostTensor('int64', [], BigInt64Array.from([9n])) },
    best_acc1: 41.5,
    optimizer: { state: { 0: { momentum_buffer: momentum } }, param_groups: [{ lr: 0.1, momentum: 0.9, params: [0] }] },
    scheduler: { step_size: 30, gamma: 0.1, last_epoch: 5, _last_lr: [0.1] },
    rng: { seed: 7n, counter: 2n ** 60n, bytes: Uint8Array.from([0, 255]), special: [Number.NaN, -Infinity] },
    extra: undefined,
  }

  it.each(['safetensors', 'pth'] as const)('round-trips the full training state (%s)', async (format) => {
    const back = decodeCheckpoint(new Uint8Array(Buffer.concat(encodeCheckpoint(state, format))), 'x')
    expect(Object.keys(back)).toEqual(['epoch', 'arch', 'state_dict', 'best_acc1', 'optimizer', 'scheduler', 'rng'])
    expect(back.optimizer).toEqual({ state: { 0: { momentum_buffer: momentum } }, param_groups: [{ lr: 0.1, momentum: 0.9, params: [0] }] })
    expect(back.scheduler).toEqual(state.scheduler)
    const rng = back.rng as Record<string, unknown>
    expect(Number(rng.seed)).toBe(7)
    expect(rng.counter).toBe(2n ** 60n)
    expect([...(rng.bytes as Uint8Array)]).toEqual([0, 255])
    expect(rng.special).toEqual([Number.NaN, -Infinity])
    expect(back.state_dict).toEqual(state.state_dict)
  })

  it('stores state-dict tensors under bare PyTorch keys and the rest under / paths (safetensors)', () => {
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(Buffer.concat(encodeCheckpoint(state, 'safetensors'))))
    expect(Object.keys(tensors)).toEqual(['fc.weight', 'bn.num_batches_tracked', 'optimizer/state/0/momentum_buffer'])
    expect(metadata.format).toBe('pt')
    expect(JSON.parse(metadata['tinylab.state'] ?? '{}').epoch).toBe(5)
  })

  it('picks the format from the extension and sniffs it when loading', async () => {
    expect(formatForPath('a/checkpoint.pth.tar')).toBe('pth')
    expect(formatForPath('model_best.safetensors')).toBe('safetensors')
    expect(() => formatForPath('model.h5')).toThrow(/model\.h5: cannot tell the checkpoint format/)
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'))
    await saveCheckpoint(join(dir, 'x.pth'), state)
    await saveCheckpoint(join(dir, 'y.safetensors'), state)
    expect((await loadCheckpoint(join(dir, 'x.pth'))).epoch).toBe(5)
    expect((await loadCheckpoint(join(dir, 'y.safetensors'))).epoch).toBe(5)
  })
})

describe('asTrainingState', () => {
  it("accepts main.py's tensor best_acc1 and reports every problem by name", async () => {
    const { asTrainingState } = await import('./checkpoint')
    const sd = { 'fc.bias': new HostTensor('float32', [1], Float32Array.from([1])) }
    const ok = asTrainingState({ epoch: 3, arch: 'resnet18', state_dict: sd, best_acc1: new HostTensor('float32', [], Float32Array.from([12.5])), optimizer: null })
    expect([ok.epoch, ok.arch, ok.best_acc1, ok.optimizer]).toEqual([3, 'resnet18', 12.5, null])
    expect(() => asTrainingState({ epoch: 1.5, state_dict: { a: 3 }, best_acc1: 'x' }, 'bad.pth')).toThrow(
      [
        'bad.pth: not a training checkpoint:',
        "\t'epoch' must be an integer, got 1.5",
        "\t'arch' must be a string, got nothing (key missing)",
        "\t'best_acc1' must be a number or one-element tensor, got \"x\"",
        "\t'state_dict' entries that are not tensors: a",
      ].join('\n'),
    )
  })
})
