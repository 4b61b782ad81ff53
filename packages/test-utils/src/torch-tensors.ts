import * as tf from '@tensorflow/tfjs-core'
import { readFileSync } from 'node:fs'
import path from 'node:path'

/**
 * Tensors a Python test script wrote with `TORCH_TENSORS_WRITER` (below): `<dir>/<file>.json` lists names and shapes,
 * `<dir>/<file>.bin` holds float32 data in that order, in PyTorch's layout.
 */
export function readTorchTensors(dir: string, file: string): Map<string, { shape: number[]; data: Float32Array }> {
  const manifest = JSON.parse(readFileSync(path.join(dir, `${file}.json`), 'utf8')) as { name: string; shape: number[] }[]
  const buf = readFileSync(path.join(dir, `${file}.bin`))
  const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4)
  const out = new Map<string, { shape: number[]; data: Float32Array }>()
  let offset = 0
  for (const { name, shape } of manifest) {
    const n = shape.reduce((a, b) => a * b, 1)
    out.set(name, { shape, data: all.slice(offset, offset + n) })
    offset += n
  }
  return out
}

/** Python helper for the format above; paste into a runPython script. */
export const TORCH_TENSORS_WRITER = `
def write_tensors(directory, file, named):
    import json, os, numpy as np
    manifest, chunks = [], []
    for name, t in named:
        a = t.detach().to(torch.float32).contiguous().numpy()
        manifest.append({'name': name, 'shape': list(a.shape)})
        chunks.append(a.reshape(-1))
    json.dump(manifest, open(os.path.join(directory, file + '.json'), 'w'))
    (np.concatenate(chunks) if chunks else np.zeros(0, np.float32)).astype('<f4').tofile(os.path.join(directory, file + '.bin'))
`

/** A state-dict entry as models declare it (the shared NamedTensor contract, structurally). */
export interface LayoutTensor {
  name: string
  value: tf.Variable
  layout: 'same' | 'conv2d-hwio' | 'linear-io'
}

/** Converts one torch-layout array to the model's layout (tests only; checkpoint-io owns this for real checkpoints). */
export function fromTorchLayout(layout: LayoutTensor['layout'], shape: number[], data: Float32Array): tf.Tensor {
  return tf.tidy(() => {
    const t = tf.tensor(data, shape)
    if (layout === 'linear-io') return tf.transpose(t)
    if (layout === 'conv2d-hwio') return tf.transpose(t, [2, 3, 1, 0])
    return t
  })
}

/** Assigns torch tensors into a model's NamedTensors by key, checking both key sets and shapes match exactly. */
export function loadTorchIntoModel(named: readonly LayoutTensor[], tensors: Map<string, { shape: number[]; data: Float32Array }>): void {
  const ours = named.map((n) => n.name)
  const theirs = [...tensors.keys()]
  if (ours.join('\n') !== theirs.join('\n')) throw new Error(`state-dict keys differ:\nours:   ${ours.join(', ')}\ntheirs: ${theirs.join(', ')}`)
  for (const n of named) {
    const src = tensors.get(n.name)!
    const t = fromTorchLayout(n.layout, src.shape, src.data)
    if (t.shape.join() !== n.value.shape.join()) throw new Error(`${n.name}: torch [${src.shape}] -> [${t.shape}] but model has [${n.value.shape}]`)
    n.value.assign(t)
    t.dispose()
  }
}
