import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { requireTorchOrSkipReason, runPython } from '@tinylab/test-utils/torch'
import { describe, expect, it } from 'vitest'
import { HostTensor, type CheckpointValue } from './host-tensor'
import { readPth, writePth } from './pth'
import { writeZip } from './_zip'

const reason = requireTorchOrSkipReason()
const dir = mkdtempSync(join(tmpdir(), 'pth-test-'))

// torch.save of every kind of value a checkpoint holds, including views (non-contiguous, offset, shared storage)
// and every storage dtype; the script also dumps the expected values as JSON (tensors flattened in row-major order).
const WRITE = `
import torch, json, sys, collections, math
torch.manual_seed(0)
base = torch.randn(4, 6)
p = torch.nn.Parameter(torch.randn(3, 2))
obj = collections.OrderedDict([
  ('epoch', 7), ('arch', 'resnet18 ü'), ('best_acc1', 12.345), ('neg', -3), ('big', 2**40), ('huge', 2**70), ('neg_big', -2**63),
  ('flag', True), ('off', False), ('none', None), ('tuple', (1, 2.5, 'x')), ('list', [1, [2, 3], {'a': 4}]),
  ('int_keys', {0: 'zero', 10: 'ten'}), ('bytes', b'\\x00\\xffab'), ('inf', float('inf')),
  ('t_transposed', base.t()), ('t_offset', base[1:3, 2:5]), ('t_shared', base[2]),
  ('f64', torch.randn(2, 3, dtype=torch.float64)), ('f16', torch.randn(5).half()), ('bf16', torch.randn(5).bfloat16()),
  ('i64', torch.tensor([-2**40, 3, 2**62])), ('i32', torch.tensor([1, -2], dtype=torch.int32)), ('i16', torch.tensor([-7], dtype=torch.int16)),
  ('i8', torch.tensor([-128, 127], dtype=torch.int8)), ('u8', torch.tensor([0, 255], dtype=torch.uint8)), ('b', torch.tensor([True, False])),
  ('scalar', torch.tensor(3.5)), ('empty', torch.zeros(0, 3)), ('param', p), ('size', torch.Size([2, 3])),
  ('expanded', torch.arange(3.).expand(2, 3)),
])
torch.save(obj, sys.argv[1])
def enc(v):
    if isinstance(v, torch.Tensor):
        d = v.detach()
        vals = d.float().flatten().tolist() if d.dtype in (torch.float16, torch.bfloat16) else d.flatten().tolist()
        if d.dtype == torch.int64: vals = [str(x) for x in vals]
        return {'$t': str(d.dtype), 'shape': list(d.shape), 'v': vals}
    if isinstance(v, dict): return {str(k): enc(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)): return [enc(x) for x in v]
    if isinstance(v, bytes): return {'$bytes': list(v)}
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2**53: return {'$int': str(v)}
    if isinstance(v, float) and math.isinf(v): return {'$inf': 1}
    return v
print(json.dumps(enc(obj)))
`

const TORCH_DTYPE: Record<string, string> = {
  'torch.float32': 'float32', 'torch.float64': 'float64', 'torch.float16': 'float16', 'torch.bfloat16': 'bfloat16', 'torch.int64': 'int64',
  'torch.int32': 'int32', 'torch.int16': 'int16', 'torch.int8': 'int8', 'torch.uint8': 'uint8', 'torch.bool': 'bool',
}

function expectMatches(ours: CheckpointValue, ref: unknown, path: string): void {
  if (ref !== null && typeof ref === 'object' && '$t' in ref) {
    const r = ref as { $t: string; shape: number[]; v: (number | string | boolean)[] }
    expect(ours, path).toBeInstanceOf(HostTensor)
    const t = ours as HostTensor
    expect(t.dtype, path).toBe(TORCH_DTYPE[r.$t])
    expect([...t.shape], path).toEqual(r.shape)
    const values = t.dtype === 'int64' ? [...(t.data as BigInt64Array)].map(String)
      : t.dtype === 'bool' ? [...t.data].map((x) => x === 1)
      : t.dtype === 'float16' || t.dtype === 'bfloat16' ? [...t.toFloat32()] : [...(t.data as Float32Array)]
    // Exact: the same bytes are read, float16/bfloat16 are widened exactly on both sides.
    expect(values, path).toEqual(r.v)
  } else if (ref !== null && typeof ref === 'object' && '$bytes' in ref) {
    expect([...(ours as Uint8Array)], path).toEqual((ref as { $bytes: number[] }).$bytes)
  } else if (ref !== null && typeof ref === 'object' && '$int' in ref) {
    expect(String(ours), path).toBe((ref as { $int: string }).$int)
  } else if (ref !== null && typeof ref === 'object' && '$inf' in ref) {
    expect(ours, path).toBe(Infinity)
  } else if (Array.isArray(ref)) {
    expect(Array.isArray(ours), path).toBe(true)
    expect((ours as CheckpointValue[]).length, path).toBe(ref.length)
    ref.forEach((r, i) => expectMatches((ours as CheckpointValue[])[i] as CheckpointValue, r, `${path}[${i}]`))
  } else if (ref !== null && typeof ref === 'object') {
    expect(Object.keys(ours as object), path).toEqual(Object.keys(ref))
    for (const [k, r] of Object.entries(ref)) expectMatches((ours as Record<string, CheckpointValue>)[k] as CheckpointValue, r, `${path}.${k}`)
  } else {
    expect(ours, path).toBe(ref)
  }
}

describe.skipIf(!!reason)('readPth / writePth against torch 1.13', () => {
  it('reads every value kind torch.save writes, views by strides, all storage dtypes', async () => {
    const file = join(dir, 'values.pth.tar')
    const expected = JSON.parse(await runPython(WRITE, [file])) as unknown
    const ours = readPth(readFileSync(file), 'values.pth.tar')
    expectMatches(ours, expected, 'root')
  })

  it('torch.load reads what writePth writes, value for value', async () => {
    const src = join(dir, 'src.pth')
    await runPython(WRITE, [src])
    const ours = readPth(readFileSync(src), 'src.pth')
    const out = join(dir, 'ours.pth')
    writeFileSync(out, Buffer.concat(writePth(ours)))
    const verdict = await runPython(`
import torch, sys
a = torch.load(sys.argv[1]); b = torch.load(sys.argv[2])
def same(x, y, path):
    if isinstance(x, torch.Tensor):
        assert isinstance(y, torch.Tensor) and x.dtype == y.dtype and x.shape == y.shape and torch.equal(x.detach(), y), path
        assert y.is_contiguous(), path
    elif isinstance(x, dict):
        assert list(map(str, x.keys())) == list(map(str, y.keys())), path
        for k in x: same(x[k], y[k], path + '.' + str(k))
    elif isinstance(x, (list, tuple)):
        assert len(x) == len(y), path
        for i, (u, v) in enumerate(zip(x, y)): same(u, v, path + '[%d]' % i)
    else:
        assert x == y and type(x) == type(y) or (type(x) == float and float(y) == x), (path, x, y)
same(a, b, 'root')
assert list(b['int_keys'].keys()) == [0, 10]
print('OK')
`, [src, out])
    expect(verdict.trim()).toBe('OK')
  })

  it('reads the legacy (non-zip) torch.save format too', async () => {
    const file = join(dir, 'legacy.pth')
    const expected = JSON.parse(await runPython(WRITE.replace('torch.save(obj, sys.argv[1])', 'torch.save(obj, sys.argv[1], _use_new_zipfile_serialization=False)'), [file])) as unknown
    const bytes = readFileSync(file)
    expect(bytes[0]).toBe(0x80) // a bare pickle stream, not a zip
    expectMatches(readPth(bytes, 'legacy.pth'), expected, 'root')
  })

  it('reads numpy scalars (np.float64 best_acc1 is common) and torch.device', async () => {
    const file = join(dir, 'numpy.pth')
    await runPython(`
import torch, numpy as np, sys
torch.save({'best_acc1': np.float64(71.25), 'n': np.int64(-3), 'f': np.float32(2.5), 'b': np.bool_(True), 'u': np.uint8(200),
            'dev': torch.device('cuda', 1), 'cpu': torch.device('cpu')}, sys.argv[1])
`, [file])
    expect(readPth(readFileSync(file), 'numpy.pth')).toEqual({ best_acc1: 71.25, n: -3, f: 2.5, b: true, u: 200, dev: 'cuda:1', cpu: 'cpu' })
  })

  it('refuses a pickle that calls os.system, naming the global, without running it', async () => {
    const file = join(dir, 'evil.pth')
    const marker = join(dir, 'pwned')
    await runPython(`
import pickle, zipfile, os, sys
class Evil:
    def __reduce__(self):
        return (os.system, ('touch ' + sys.argv[2],))
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    z.writestr('archive/data.pkl', pickle.dumps({'state_dict': Evil()}, protocol=2))
    z.writestr('archive/version', '3\\n')
`, [file, marker])
    expect(() => readPth(readFileSync(file), 'evil.pth')).toThrow(/evil\.pth: refusing to load global 'posix\.system'/)
    expect(() => readFileSync(marker)).toThrow()
  })

  it('refuses STACK_GLOBAL (protocol 4) builtins.eval too', async () => {
    const file = join(dir, 'evil4.pth')
    await runPython(`
import pickle, zipfile, sys
class Evil:
    def __reduce__(self):
        return (eval, ('1+1',))
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    z.writestr('archive/data.pkl', pickle.dumps([Evil()], protocol=4))
`, [file])
    expect(() => readPth(readFileSync(file), 'evil4.pth')).toThrow(/refusing to load global 'builtins\.eval'/)
  })
})

describe('readPth without Python', () => {
  it('refuses a hand-made GLOBAL os.system pickle', () => {
    const pkl = Uint8Array.from(Buffer.from('\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.', 'latin1'))
    const zip = Buffer.concat(writeZip([{ name: 'archive/data.pkl', data: pkl }]))
    expect(() => readPth(zip, 'hand.pth')).toThrow(/hand\.pth: refusing to load global 'os\.system'.*pickle byte 13/)
  })

  it('rejects truncated archives and legacy files with a clear message', () => {
    const good = Buffer.concat(writePth({ a: new HostTensor('float32', [2], Float32Array.from([1, 2])) }))
    expect(() => readPth(good.subarray(0, good.length - 30), 'cut.pth')).toThrow(/cut\.pth: not a zip archive/)
    expect(() => readPth(Uint8Array.from([0x80, 0x02, 0x8a, 0x0a]), 'old.pth')).toThrow(/old\.pth: unexpected end of pickle data/)
    expect(() => readPth(Uint8Array.from([0x41, 0x42]), 'x.pth')).toThrow(/x\.pth: neither a torch\.save zip archive nor a legacy torch\.save file/)
    const back = readPth(good, 'good.pth') as { a: HostTensor }
    expect([...back.a.data]).toEqual([1, 2])
  })

  it('aligns every stored record to 64 bytes like PyTorch', () => {
    const t = new HostTensor('float32', [3], Float32Array.from([1, 2, 3]))
    const bytes = Buffer.concat(writePth({ x: t, y: t }))
    const positions: number[] = []
    for (let i = bytes.indexOf('PK\x03\x04'); i >= 0; i = bytes.indexOf('PK\x03\x04', i + 4)) {
      positions.push(i + 30 + bytes.readUInt16LE(i + 26) + bytes.readUInt16LE(i + 28))
    }
    expect(positions.length).toBe(5)
    for (const p of positions) expect(p % 64).toBe(0)
  })
})
