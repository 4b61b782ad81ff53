import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEBIAN_PYTHON, requireTorchOrSkipReason } from '@tinylab/test-utils/torch'
import { beforeAll, describe, expect, it } from 'vitest'
import { HostTensor, MAX_PICKLE_DEPTH, loadCheckpoint, readPth, sniffCheckpoint } from '../src/index'

const reason = requireTorchOrSkipReason()
const dir = mkdtempSync(join(tmpdir(), 'hostile-pickle-'))

// Every hostile or odd file, written by Debian's PyTorch in one interpreter start (importing torch takes seconds).
const WRITE = `
import sys, os, torch
d = sys.argv[1]
l = []
for _ in range(40):
    l = [l, l]
torch.save({'state_dict': {}, 'b': l}, os.path.join(d, 'laughs.pth'))
s = [1, 2, 3]
for _ in range(3):
    s = [s, s]
torch.save({'a': s, 'b': s, 'w': torch.ones(2)}, os.path.join(d, 'shared.pth'))
torch.manual_seed(0)
sd = {'fc.weight': torch.randn(3, 2), 'fc.bias': torch.arange(3.)}
for name in ['legacy.pth', 'legacy.safetensors', 'legacy.bin']:
    torch.save({'epoch': 4, 'state_dict': sd}, os.path.join(d, name), _use_new_zipfile_serialization=False)
`

beforeAll(() => {
  if (!reason) execFileSync(DEBIAN_PYTHON, ['-c', WRITE, dir], { stdio: 'pipe', timeout: 120_000 })
})

describe.skipIf(reason)('hostile and odd pickles (issue 19)', () => {
  it('refuses a 1 KB pickle of shared references that expands to 2^40 values, quickly and naming the file', async () => {
    const file = join(dir, 'laughs.pth')
    expect(statSync(file).size).toBeLessThan(2048)
    const heapBefore = process.memoryUsage().heapUsed
    // CPU time, not wall time: the bar is about the work, and test machines run other jobs.
    const cpu0 = process.cpuUsage()
    await expect(loadCheckpoint(file)).rejects.toThrow(/^laughs\.pth: shared references in the pickle expand to more than 10,000,000 values/)
    const cpu = process.cpuUsage(cpu0)
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(1000)
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(100 * 1024 * 1024)
  })

  it('keeps a reference shared by two keys shared, as PyTorch does (converted once)', async () => {
    const file = join(dir, 'shared.pth')
    const value = (await loadCheckpoint(file)) as { a: unknown[]; b: unknown[]; w: HostTensor }
    expect(value.a).toBe(value.b)
    expect(value.a[0]).toBe(value.a[1])
    expect(JSON.stringify(value.a)).toBe(JSON.stringify([[[[1, 2, 3], [1, 2, 3]], [[1, 2, 3], [1, 2, 3]]], [[[1, 2, 3], [1, 2, 3]], [[1, 2, 3], [1, 2, 3]]]]))
    expect(Array.from(value.w.toFloat32())).toEqual([1, 1])
  })

  it('refuses a pickle nested 100 000 deep with a named error instead of a stack overflow', () => {
    // Protocol 2, EMPTY_LIST x N, APPEND x (N - 1), STOP: every list holds the next one.
    const n = 100_000
    const bytes = new Uint8Array(2 + n + (n - 1) + 1)
    bytes.set([0x80, 0x02])
    bytes.fill(0x5d, 2, 2 + n)
    bytes.fill(0x61, 2 + n, 2 + n + n - 1)
    bytes[bytes.length - 1] = 0x2e
    const { unpickleViaLegacy } = legacyWrapper(bytes)
    expect(() => unpickleViaLegacy()).toThrow(new RegExp(`^deep\\.pth: containers nested more than ${MAX_PICKLE_DEPTH} deep`))
  })

  it('refuses a list that contains itself, naming the file', () => {
    // EMPTY_LIST, MEMOIZE, BINGET 0, APPEND, STOP: l = []; l.append(l)
    const { unpickleViaLegacy } = legacyWrapper(new Uint8Array([0x80, 0x04, 0x5d, 0x94, 0x68, 0x00, 0x61, 0x2e]), 'cycle.pth')
    expect(() => unpickleViaLegacy()).toThrow(/^cycle\.pth: a container holds itself/)
  })

  it('reads a legacy (non-zip) torch.save file through loadCheckpoint, whatever its extension', async () => {
    for (const name of ['legacy.pth', 'legacy.safetensors', 'legacy.bin']) {
      const file = join(dir, name)
      expect(sniffCheckpoint(readFileSync(file))).toBe('pth-legacy')
      const value = (await loadCheckpoint(file)) as { epoch: number; state_dict: Record<string, HostTensor> }
      expect(value.epoch).toBe(4)
      expect(Array.from(value.state_dict['fc.bias']?.toFloat32() ?? [])).toEqual([0, 1, 2])
      expect(value.state_dict['fc.weight']?.shape).toEqual([3, 2])
    }
  })

  it('names the file and the reason for content that is no checkpoint, an empty file and a folder', async () => {
    const text = join(dir, 'notes.pth')
    writeFileSync(text, 'hello, this is not a checkpoint\n')
    await expect(loadCheckpoint(text)).rejects.toThrow(/^notes\.pth: not a checkpoint: neither a torch\.save file \(zip or legacy\) nor safetensors/)
    const empty = join(dir, 'empty.pth')
    writeFileSync(empty, '')
    await expect(loadCheckpoint(empty)).rejects.toThrow(/^empty\.pth: empty file \(0 bytes\)/)
    const folder = join(dir, 'folder.pth')
    mkdirSync(folder)
    await expect(loadCheckpoint(folder)).rejects.toThrow(`${folder}: cannot read the checkpoint (EISDIR`)
  })
})

/** Wraps a bare pickle as the object of a legacy torch.save file (magic, version, sys_info, object, no storages). */
function legacyWrapper(objectPickle: Uint8Array, name = 'deep.pth'): { unpickleViaLegacy: () => unknown } {
  const magic = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]
  const version = [0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e] // 1001
  // {'little_endian': True}
  const key = Array.from(Buffer.from('little_endian'))
  const sysInfo = [0x80, 0x02, 0x7d, 0x8c, key.length, ...key, 0x88, 0x73, 0x2e]
  const bytes = new Uint8Array([...magic, ...version, ...sysInfo, ...objectPickle])
  return { unpickleViaLegacy: () => readPth(bytes, name) }
}
