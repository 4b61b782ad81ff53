// Shapes of the kernel-parity suite (issue 2): odd sizes, stride 2, 'same' / 'valid' / explicit pads as PyTorch's
// conv (padding=3 for 7x7, 1 for 3x3), batch 1, every transpose combination.

export interface ConvCase {
  name: string
  x: [number, number, number, number]
  filter: [number, number, number, number]
  strides: number | [number, number]
  pad: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]]
  dilations?: number
}

const torchPad = (p: number): ConvCase['pad'] => [[0, 0], [p, p], [p, p], [0, 0]]

export const convCases: ConvCase[] = [
  { name: '3x3 s1 same, batch 1, odd 7x7', x: [1, 7, 7, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { name: '3x3 s2 same, odd 9x9', x: [2, 9, 9, 3], filter: [3, 3, 3, 5], strides: 2, pad: 'same' },
  { name: '3x3 s2 valid, odd 9x9', x: [2, 9, 9, 3], filter: [3, 3, 3, 5], strides: 2, pad: 'valid' },
  { name: '3x3 s2 valid, even 8x8 (uncovered last row)', x: [2, 8, 8, 3], filter: [3, 3, 3, 5], strides: 2, pad: 'valid' },
  { name: '7x7 s2 pad 3 (ResNet stem), odd 11x11', x: [2, 11, 11, 3], filter: [7, 7, 3, 8], strides: 2, pad: torchPad(3) },
  { name: '3x3 s1 pad 1, batch 1', x: [1, 8, 8, 4], filter: [3, 3, 4, 6], strides: 1, pad: torchPad(1) },
  { name: '3x3 s2 pad 1, even 8x8', x: [2, 8, 8, 4], filter: [3, 3, 4, 6], strides: 2, pad: torchPad(1) },
  { name: '1x1 s2 valid (downsample), odd 9x9', x: [2, 9, 9, 6], filter: [1, 1, 6, 4], strides: 2, pad: 'valid' },
  { name: '2x3 filter, strides [2,1], 5x6', x: [1, 5, 6, 2], filter: [2, 3, 2, 3], strides: [2, 1], pad: 'valid' },
  { name: '3x3 dilation 2 same (forward only)', x: [1, 10, 10, 3], filter: [3, 3, 3, 2], strides: 1, pad: 'same', dilations: 2 },
]

export interface MatMulCase {
  name: string
  a: number[]
  b: number[]
  transposeA: boolean
  transposeB: boolean
  /** Batch dims broadcast between a and b. */
  broadcast: boolean
}

function transposeCombos(name: string, m: number, k: number, n: number, batchA: number[], batchB: number[]): MatMulCase[] {
  const out: MatMulCase[] = []
  for (const transposeA of [false, true]) {
    for (const transposeB of [false, true]) {
      out.push({
        name: `${name} tA=${transposeA} tB=${transposeB}`,
        a: [...batchA, ...(transposeA ? [k, m] : [m, k])],
        b: [...batchB, ...(transposeB ? [n, k] : [k, n])],
        transposeA,
        transposeB,
        broadcast: batchA.join() !== batchB.join(),
      })
    }
  }
  return out
}

export const matMulCases: MatMulCase[] = [
  ...transposeCombos('2-D 5x7 @ 7x3', 5, 7, 3, [], []),
  ...transposeCombos('batch 3, 5x7 @ 7x4', 5, 7, 4, [3], [3]),
  ...transposeCombos('broadcast batch 1 vs 3', 5, 7, 4, [1], [3]),
  ...transposeCombos('4-D 2x3 heads, 4x5 @ 5x6', 4, 5, 6, [2, 3], [2, 3]),
  ...transposeCombos('3-D @ 2-D (dense over time)', 6, 9, 5, [4], []),
]

/** Deterministic values in [-1, 1): the same on every backend and every run. */
export function seeded(shape: readonly number[], seed: number): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1)
  const out = new Float32Array(size)
  let s = (seed * 2654435761) >>> 0
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = s / 2 ** 31 - 1
  }
  return out
}


export interface PoolCase {
  name: string
  x: [number, number, number, number]
  filter: number
  strides: number
  pad: 'same' | 'valid' | number
}

export const poolCases: PoolCase[] = [
  { name: '3x3 s2 pad 1 (ResNet stem), odd 9x9', x: [2, 9, 9, 4], filter: 3, strides: 2, pad: 1 },
  { name: '3x3 s2 pad 1, even 8x8, batch 1', x: [1, 8, 8, 3], filter: 3, strides: 2, pad: 1 },
  { name: '2x2 s2 valid, odd 7x7', x: [2, 7, 7, 5], filter: 2, strides: 2, pad: 'valid' },
  { name: '3x3 s1 same', x: [1, 6, 6, 2], filter: 3, strides: 1, pad: 'same' },
]

export interface ReduceCase {
  shape: number[]
  axes: number[]
  keepDims: boolean
}

export const reduceCases: ReduceCase[] = [
  { shape: [4, 5, 6, 7], axes: [0, 1, 2], keepDims: false }, // batch-norm statistics
  { shape: [4, 5, 6, 7], axes: [1, 2], keepDims: true }, // global average pooling
  { shape: [4, 5, 6, 7], axes: [3], keepDims: false }, // last axis (softmax cross-entropy)
  { shape: [3, 1000], axes: [1], keepDims: true },
  { shape: [70000], axes: [0], keepDims: false }, // long row: the threaded split path
  { shape: [9000, 8], axes: [0], keepDims: false }, // tall [rows, C]: per-thread partial sums
]

export interface TileCase {
  shape: number[]
  reps: number[]
  dtype: 'float32' | 'int32' | 'bool'
}

export const tileCases: TileCase[] = [
  { shape: [1, 1, 1, 5], reps: [2, 3, 4, 1], dtype: 'float32' }, // batch-norm gradient pattern
  { shape: [2, 3], reps: [3, 2], dtype: 'float32' },
  { shape: [3, 1, 2], reps: [1, 4, 3], dtype: 'int32' },
  { shape: [2, 3], reps: [2, 1], dtype: 'bool' },
]
