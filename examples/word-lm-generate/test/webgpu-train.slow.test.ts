// `pnpm wordlm train --device webgpu` (Mesa lavapipe here, a GPU in production) trains through the compiled step
// (@tinylab/webgpu-backend compileTrainingStep) and evaluates through compiled plans (compileForward), and prints
// main.py's lines with the same losses as wasm's eager step: dropout 0, so both runs do the same arithmetic. Then
// `pnpm wordlm generate --device webgpu` (compiled, the sequence padded to buckets of 64) writes the same words as wasm
// from that model. Slow file: two 5-batch runs at the full 33,278-word vocabulary.
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { sharedDataSkipReason } from '@tinylab/test-utils/paths'
import { listWebGpuAdapters } from '@tinylab/webgpu-backend'
import { DATA, SMALL_MODEL, logLines, shape, wordlm } from './_cli'

const noData = sharedDataSkipReason('wikitext-2')
const adapters = await listWebGpuAdapters().then((a) => a.length, () => 0)
if (adapters === 0 && process.env.CI === 'true') throw new Error('CI installs Mesa lavapipe: a WebGPU adapter must exist')
const FLAGS = [...SMALL_MODEL, '--max-batches', '4', '--log-interval', '2', '--dropout', '0']

/** The loss of every printed line: batch, end-of-epoch (valid) and end-of-training (test) losses. */
const losses = (lines: string[]) => lines.flatMap((l) => [...l.matchAll(/loss +(\d+\.\d\d)/g)].map((m) => Number(m[1])))

describe.skipIf(!!noData || adapters === 0)('pnpm wordlm train --device webgpu', () => {
  it("uses the compiled steps, prints main.py's lines with wasm's losses, generates wasm's words", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wordlm-webgpu-'))
    const [gpu, wasm] = await Promise.all([
      wordlm(['train', '--data', DATA, ...FLAGS, '--device', 'webgpu', '--save', path.join(dir, 'gpu.pt')]),
      wordlm(['train', '--data', DATA, ...FLAGS, '--device', 'wasm', '--save', path.join(dir, 'wasm.pt')]),
    ])
    expect(gpu.code, gpu.stderr).toBe(0)
    expect(wasm.code, wasm.stderr).toBe(0)
    expect(gpu.stderr).not.toContain('running eagerly')
    const [g, w] = [logLines(gpu.stdout), logLines(wasm.stdout)]
    expect(g.map(shape)).toEqual(w.map(shape))
    expect(losses(g)).toHaveLength(4) // batches 2 and 4, valid, test
    losses(g).forEach((loss, i) => expect(Math.abs(loss - (losses(w)[i] as number)), g.join('\n')).toBeLessThanOrEqual(0.011))

    // 70 words: the Transformer's input crosses from the 64-token bucket to the 128-token one.
    const generate = (device: string) =>
      wordlm(['generate', '--data', DATA, '--checkpoint', path.join(dir, 'wasm.pt'), '--outf', path.join(dir, `${device}.txt`), '--words', '70', '--device', device])
    const [gpuText, wasmText] = await Promise.all([generate('webgpu'), generate('wasm')])
    expect(gpuText.code, gpuText.stderr).toBe(0)
    expect(wasmText.code, wasmText.stderr).toBe(0)
    expect(gpuText.stderr).not.toContain('running eagerly')
    expect(gpuText.stdout).toBe(wasmText.stdout)
    expect(readFileSync(path.join(dir, 'webgpu.txt'), 'utf8')).toBe(readFileSync(path.join(dir, 'wasm.txt'), 'utf8'))
  }, 600_000)
})
