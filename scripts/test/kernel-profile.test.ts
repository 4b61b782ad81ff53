// The per-kernel table of `pnpm bench gpu`: FLOP counts from a dispatch's shapes against the textbook formulas
// (convolution: 2·N·OH·OW·Cout·KH·KW·Cin; matrix product: 2·M·N·K), for the layouts tfjs and TinyLab record.
import { describe, expect, it } from 'vitest'
import { flopsOf, kernelTable } from '../bench/_kernel-profile'

// ResNet-18's stem at 64×64, batch 2: x [2, 64, 64, 3], w [7, 7, 3, 64], stride 2 → y [2, 32, 32, 64].
const STEM = 2 * (2 * 32 * 32 * 64) * (7 * 7 * 3)

describe('kernel profile FLOPs', () => {
  it('convolution forward, input gradient and filter gradient (whole and split into partial sums)', () => {
    expect(flopsOf({ program: 'Conv2DMMProgram', ms: 1, shapes: [[2, 32, 32, 64], [2, 64, 64, 3], [7, 7, 3, 64]] })).toBe(STEM)
    expect(flopsOf({ program: 'Conv2DDerInputMMProgram', ms: 1, shapes: [[2, 64, 64, 3], [2, 32, 32, 64], [7, 7, 3, 64]] })).toBe(STEM)
    expect(flopsOf({ program: 'ConvFilterGradProgram', ms: 1, shapes: [[7, 7, 3, 64], [2, 64, 64, 3], [2, 32, 32, 64]] })).toBe(STEM)
    expect(flopsOf({ program: 'ConvFilterGradProgram2', ms: 1, shapes: [[4, 7 * 7 * 3 * 64], [2, 64, 64, 3], [2, 32, 32, 64]] })).toBe(STEM)
  })

  it('matrix products with either operand transposed; other kernels have none', () => {
    // The LM decoder: [700, 200] · [33278, 200]ᵀ.
    expect(flopsOf({ program: 'MatMulPackedProgram', ms: 1, shapes: [[1, 700, 33278], [1, 700, 200], [1, 33278, 200]] })).toBe(2 * 700 * 33278 * 200)
    // Attention scores, batched over 40 heads·sequences: [35, 100] · [35, 100]ᵀ.
    expect(flopsOf({ program: 'MatMulPackedProgram', ms: 1, shapes: [[40, 35, 35], [40, 35, 100], [40, 35, 100]] })).toBe(2 * 40 * 35 * 35 * 100)
    expect(flopsOf({ program: 'BinaryOpProgram', ms: 1, shapes: [[4], [4], [4]] })).toBeUndefined()
    expect(flopsOf({ program: 'Fused:reluGrad', ms: 1 })).toBeUndefined()
  })

  it('the table sums time by program, largest first, with TFLOP/s = GFLOP per ms', () => {
    const table = kernelTable('t', [
      { program: 'Conv2DMMProgram', ms: 2, shapes: [[2, 32, 32, 64], [2, 64, 64, 3], [7, 7, 3, 64]] },
      { program: 'BinaryOpProgram', ms: 0.5 },
      { program: 'Conv2DMMProgram', ms: 1, shapes: [[2, 32, 32, 64], [2, 64, 64, 3], [7, 7, 3, 64]] },
    ])
    const rows = table.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| program'))
    expect(rows[0]).toBe(`| Conv2DMMProgram | 2 | 3.000 | 85.7 % | ${((2 * STEM) / 1e9).toPrecision(3)} | ${((2 * STEM) / 1e9 / 3).toPrecision(3)} |`)
    expect(rows[1]).toBe('| BinaryOpProgram | 1 | 0.500 | 14.3 % |  |  |')
  })
})
