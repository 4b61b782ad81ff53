import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadCheckpoint } from './checkpoint'
import { CheckpointManager } from './checkpoint-manager'
import { HostTensor } from './host-tensor'

const weights = (v: number) => ({ 'fc.weight': new HostTensor('float32', [2, 2], Float32Array.from([v, v + 1, v + 2, v + 3])) })

describe('CheckpointManager', () => {
  it.each([
    ['safetensors', '.safetensors'],
    ['pth', '.pth.tar'],
  ] as const)('names files like imagenet main.py and keeps best and epoch snapshots (%s)', async (format, ext) => {
    const dir = join(mkdtempSync(join(tmpdir(), 'mgr-')), 'nested', 'run')
    const mgr = await CheckpointManager.open({ dir, keepEpochs: [5, 10], format })
    expect(mgr.latest()).toBeUndefined()
    for (let epoch = 1; epoch <= 11; epoch++) {
      const saved = await mgr.save({ epoch, arch: 'resnet18', state_dict: weights(epoch), best_acc1: epoch === 4 ? 50 : 10 }, { isBest: epoch === 4 || epoch === 1 })
      expect(saved.checkpoint).toBe(join(dir, `checkpoint${ext}`))
    }
    expect(readdirSync(dir).sort()).toEqual([`checkpoint${ext}`, `checkpoint_epoch10${ext}`, `checkpoint_epoch5${ext}`, `model_best${ext}`].sort())
    const epochOf = async (name: string) => (await loadCheckpoint(join(dir, name + ext))).epoch
    expect(await epochOf('checkpoint')).toBe(11)
    expect(await epochOf('model_best')).toBe(4) // later saves replaced checkpoint's inode, not the best's
    expect(await epochOf('checkpoint_epoch5')).toBe(5)
    expect(await epochOf('checkpoint_epoch10')).toBe(10)
    const best = await loadCheckpoint(join(dir, `model_best${ext}`))
    expect([...(best.state_dict as Record<string, HostTensor>)['fc.weight']?.data ?? []]).toEqual([4, 5, 6, 7])
    expect(mgr.latest()).toBe(join(dir, `checkpoint${ext}`))
    expect(statSync(join(dir, `checkpoint${ext}`)).size).toBeGreaterThan(16)
  })

  it('removes temp files of dead writers and keeps those of live ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mgr-stale-'))
    const dead = `.checkpoint.safetensors.tmp-999999999-0123abcd`
    const live = `.checkpoint.safetensors.tmp-${process.ppid}-0123abcd`
    writeFileSync(join(dir, dead), 'x')
    writeFileSync(join(dir, live), 'x')
    writeFileSync(join(dir, 'notes.txt'), 'x')
    await CheckpointManager.open({ dir })
    expect(readdirSync(dir).sort()).toEqual([live, 'notes.txt'].sort())
  })
})
