// `pnpm resnet train -e --device webgpu` validates through compiled plans (train-loop classifierEvaluator with
// @tinylab/webgpu-backend compileForward) and prints main.py's validate() lines with wasm's numbers: the same Test lines
// and summary, losses within 2e-4 relative (printed to 5 digits), the same accuracies. Slow file: ResNet-18 at 64x64
// on lavapipe, 5 batches of 8 (3 eager calls that trace, 2 replays).
import { describe, expect, it } from 'vitest'
import { listWebGpuAdapters } from '@tinylab/webgpu-backend'
import { sharedDataSkipReason } from '@tinylab/test-utils/paths'
import { SUBSET, resnet } from './_train-cli'

const noData = sharedDataSkipReason('tiny-imagenet-200-subset')
const adapters = await listWebGpuAdapters().then((a) => a.length, () => 0)
if (adapters === 0 && process.env.CI === 'true') throw new Error('CI installs Mesa lavapipe: a WebGPU adapter must exist')

const FLAGS = ['train', SUBSET, '--num-classes-subset', '10', '-b', '8', '--max-steps', '5', '-e', '-j', '0', '-p', '1']
const testLines = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('Test: ') || l.startsWith(' *   '))
/** A line with each number folded with its padding (the times differ, and with them their widths). */
const shape = (line: string) => line.replace(/ *\d[\d.]*(e[-+]\d+)?/g, ' #')
const field = (line: string, name: string) => Number(new RegExp(`${name} +([-+.\\de]+) \\(`).exec(line)?.[1])

describe.skipIf(!!noData || adapters === 0)('pnpm resnet train -e --device webgpu', () => {
  it("prints main.py's validation lines with wasm's losses and accuracies", async () => {
    const [gpu, wasm] = await Promise.all([resnet([...FLAGS, '--device', 'webgpu']), resnet([...FLAGS, '--device', 'wasm'])])
    expect(gpu.code, gpu.stderr).toBe(0)
    expect(wasm.code, wasm.stderr).toBe(0)
    expect(gpu.stderr).not.toContain('running eagerly')
    const [g, w] = [testLines(gpu.stdout), testLines(wasm.stdout)]
    expect(g).toHaveLength(6) // Test: [0/5] … [4/5] and the summary
    expect(g.map(shape)).toEqual(w.map(shape))
    g.slice(0, 5).forEach((line, i) => {
      const want = w[i] as string
      expect(Math.abs(field(line, 'Loss') - field(want, 'Loss')) / field(want, 'Loss'), `${line}\n${want}`).toBeLessThanOrEqual(2e-4)
      for (const acc of ['Acc@1', 'Acc@5']) expect(field(line, acc), `${line}\n${want}`).toBe(field(want, acc))
    })
    expect(g[5]).toBe(w[5])
  }, 900_000)
})
