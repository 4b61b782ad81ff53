/**
 * Test-only bridge to torch_reference.py: runs it, reads the float32 dump, and loads torchvision weights into our
 * model. The OIHW→HWIO and [out,in]→[in,out] transposes here are the tests' own; the published interop conversion
 * lives in @tinylab/checkpoint-io, and the model package never transposes for interop.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as tf from '@tensorflow/tfjs-core'
import { runPython } from '@tinylab/test-utils/torch'
import type { NamedTensor, ResNet, ResNetStem, TensorLayout } from '../src/index'

const script = readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'torch_reference.py'), 'utf8')

export interface TorchArray {
  shape: number[]
  data: Float32Array
}

export interface TorchDump {
  arrays: Map<string, TorchArray>
  labels: number[]
  loss?: number
  /** The float64 arbiter's loss (mode 'train64'). */
  loss64?: number
}

export interface ParityCase {
  arch: string
  numClasses: number
  size: number
  batch: number
  stem: ResNetStem
  /** 'train64' also runs the step in float64 (`grad64/<name>`, loss64): the arbiter between float32 implementations. */
  mode: 'eval' | 'train' | 'train64'
}

/**
 * The answers to several of torch_reference.py's counts/keys/summary questions (each `[command, ...args]`), from one
 * Python process: importing torch and torchvision is most of a call's time, so a test file asks everything at once.
 */
export async function torchAnswers(questions: string[][]): Promise<unknown[]> {
  return JSON.parse(await runPython(script, ['many', JSON.stringify(questions)])) as unknown[]
}

/** Runs `torch_reference.py parity …` in a temporary folder and reads everything it wrote. */
export async function torchParity(c: ParityCase): Promise<TorchDump> {
  return (await torchParities([c]))[0] as TorchDump
}

/**
 * `torchParity` for several cases from one Python process (importing torch and torchvision is seconds of CPU per
 * process). Each case seeds torch afresh, so a dump does not depend on the cases asked with it.
 */
export async function torchParities(cases: ParityCase[]): Promise<TorchDump[]> {
  if (cases.length === 0) return []
  const root = mkdtempSync(path.join(tmpdir(), 'resnet-parity-'))
  try {
    const dirs = cases.map((_, i) => path.join(root, String(i)))
    for (const dir of dirs) mkdirSync(dir)
    const args = cases.map((c, i) => [c.arch, String(c.numClasses), String(c.size), String(c.batch), c.stem, c.mode, dirs[i] as string])
    await runPython(script, ['parities', JSON.stringify(args)])
    return dirs.map(readDump)
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}

function readDump(dir: string): TorchDump {
  const index = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as {
    tensors: { key: string; shape: number[]; offset: number }[]
    labels: number[]
    loss?: number
    loss64?: number
  }
  const bytes = readFileSync(path.join(dir, 'data.bin'))
  const all = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
  const arrays = new Map<string, TorchArray>()
  for (const t of index.tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1)
    arrays.set(t.key, { shape: t.shape, data: all.slice(t.offset, t.offset + size) })
  }
  return { arrays, labels: index.labels, loss: index.loss, loss64: index.loss64 }
}

export function getArray(dump: TorchDump, key: string): TorchArray {
  const a = dump.arrays.get(key)
  if (!a) throw new Error(`torch dump has no '${key}'`)
  return a
}

/** A torch-layout array as a tensor in TinyLab's layout for `layout`. */
export function toTinyLayout(a: TorchArray, layout: TensorLayout, dtype: 'float32' | 'int32' = 'float32'): tf.Tensor {
  return tf.tidy(() => {
    const t = tf.tensor(dtype === 'int32' ? Int32Array.from(a.data) : a.data, a.shape, dtype)
    if (layout === 'conv2d-hwio') return tf.transpose(t, [2, 3, 1, 0]) // OIHW -> HWIO
    if (layout === 'linear-io') return tf.transpose(t, [1, 0]) // [out, in] -> [in, out]
    return t
  })
}

/** Assigns `state/<key>` of the dump to every named tensor, checking that keys come in the same order with the same shapes. */
export function loadTorchState(model: ResNet, dump: TorchDump): void {
  const torchKeys = [...dump.arrays.keys()].filter((k) => k.startsWith('state/')).map((k) => k.slice('state/'.length))
  const ours = model.namedTensors()
  const ourKeys = ours.map((t) => t.name)
  if (JSON.stringify(torchKeys) !== JSON.stringify(ourKeys)) throw new Error(`state_dict keys differ:\n torch ${torchKeys.join(',')}\n ours  ${ourKeys.join(',')}`)
  for (const t of ours) assignFromTorch(t, getArray(dump, `state/${t.name}`))
}

function assignFromTorch(t: NamedTensor, a: TorchArray): void {
  const value = toTinyLayout(a, t.layout, t.value.dtype === 'int32' ? 'int32' : 'float32')
  if (JSON.stringify(value.shape) !== JSON.stringify(t.value.shape)) {
    throw new Error(`${t.name}: torch ${JSON.stringify(a.shape)} (${t.layout}) -> ${JSON.stringify(value.shape)}, ours ${JSON.stringify(t.value.shape)}`)
  }
  t.value.assign(value)
  value.dispose()
}

/** PyTorch's F.cross_entropy (mean over the batch) written out: mean(logsumexp(z) - z[label]). */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(labels, logits.shape[1]), tf.logSoftmax(logits)), 1))) as tf.Scalar)
}
