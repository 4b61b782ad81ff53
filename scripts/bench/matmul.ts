/**
 * `pnpm bench matmul [--sizes 256,512,1024,2048] [--threads 1,2]`
 *
 * GFLOP/s of an n x n float32 matmul (2n³ flops) on tfjs wasm (XNNPACK, SIMD) for each thread count, each in its own
 * process (the wasm thread pool is fixed at start-up), next to PyTorch CPU with the same thread count, measured in the
 * same run. Also times the transposed forms training uses (Aᵀ·B, A·Bᵀ), which TinyLab routes to XNNPACK.
 */
import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '@tinylab/multi-device'
import { flag, runBenchChild, runPython } from './_child'
import { TORCH_MATMUL } from './_torch-scripts'

interface MatmulResult {
  device: string
  n: number
  threads: number
  ms: number
  gflops: number
  gflopsTransposeA?: number
  gflopsTransposeB?: number
}

export async function run(args: string[]): Promise<void> {
  const worker = flag(args, 'worker')
  if (worker !== undefined) return runWorker(args)
  const sizes = (flag(args, 'sizes') ?? '256,512,1024,2048').split(',').map(Number)
  const threadCounts = (flag(args, 'threads') ?? '1,2').split(',').map(Number)
  const results: MatmulResult[] = []
  for (const threads of threadCounts) {
    const wasm = runBenchChild<{ results: MatmulResult[] }>('matmul', ['--worker', 'wasm', '--threads', String(threads), '--sizes', sizes.join(',')])
    for (const r of wasm.results) {
      console.log(JSON.stringify(r))
      results.push(r)
    }
    for (const n of sizes) {
      const torch = runPython<MatmulResult>(TORCH_MATMUL, [String(n), String(threads), String(repsFor(n))])
      console.log(JSON.stringify(torch))
      results.push(torch)
    }
  }
  const rows = results
    .filter((r) => r.device === 'wasm')
    .map((r) => {
      const torch = results.find((t) => t.device === 'pytorch-cpu' && t.n === r.n && t.threads === r.threads)
      return {
        n: r.n,
        threads: r.threads,
        wasmGflops: round(r.gflops),
        wasmGflopsTransposeA: round(r.gflopsTransposeA),
        wasmGflopsTransposeB: round(r.gflopsTransposeB),
        pytorchGflops: round(torch?.gflops),
        ratio: torch ? round(r.gflops / torch.gflops, 3) : undefined,
      }
    })
  console.log(JSON.stringify({ bench: 'matmul', rows }))
  for (const r of rows) {
    console.log(`n=${r.n} threads=${r.threads}: wasm ${r.wasmGflops} GFLOP/s (Aᵀ·B ${r.wasmGflopsTransposeA}, A·Bᵀ ${r.wasmGflopsTransposeB}) vs PyTorch ${r.pytorchGflops} = ${r.ratio}x`)
  }
}

function repsFor(n: number): number {
  return Math.max(3, Math.round(2e9 / (2 * n ** 3)))
}

async function runWorker(args: string[]): Promise<void> {
  const threads = Number(flag(args, 'threads') ?? '1')
  const sizes = (flag(args, 'sizes') ?? '1024').split(',').map(Number)
  const info = await initBackend({ device: 'wasm', threads })
  const results: MatmulResult[] = []
  for (const n of sizes) {
    const a = tf.randomNormal([n, n])
    const b = tf.randomNormal([n, n])
    const time = (ta: boolean, tb: boolean): number => {
      const reps = repsFor(n)
      tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, ta, tb).dispose()
      const t0 = performance.now()
      for (let i = 0; i < reps; i++) tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, ta, tb).dataSync()
      return (performance.now() - t0) / reps
    }
    const ms = time(false, false)
    const gflops = (ms: number): number => (2 * n ** 3) / ms / 1e6
    results.push({
      device: 'wasm',
      n,
      threads: info.threads ?? threads,
      ms,
      gflops: gflops(ms),
      gflopsTransposeA: gflops(time(true, false)),
      gflopsTransposeB: gflops(time(false, true)),
    })
    tf.dispose([a, b])
  }
  console.log(JSON.stringify({ results }))
  process.exit(0)
}

function round(v: number | undefined, digits = 1): number | undefined {
  if (v === undefined) return undefined
  const f = 10 ** digits
  return Math.round(v * f) / f
}
