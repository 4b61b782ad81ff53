/**
 * `pnpm bench devices --model resnet18|transformer [--batch N] [--steps N] [--only a,b] [--out FILE.md] [--skip-torch]`:
 * @tinylab/device-bench's table (every device configuration this machine has, and PyTorch CPU), printed as Markdown and
 * one JSON line.
 */
import { benchDevices } from '@tinylab/device-bench'
import type { BenchModel } from '@tinylab/device-bench'

/** `pnpm bench devices ...` */
export async function run(args: string[]): Promise<void> {
  const value = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`)
    return i >= 0 ? args[i + 1] : undefined
  }
  const model = (value('model') ?? 'resnet18') as BenchModel
  if (model !== 'resnet18' && model !== 'transformer') {
    console.error(`bench devices: --model must be resnet18 or transformer, got '${model}'`)
    process.exit(2)
  }
  const started = performance.now()
  const result = await benchDevices({
    model,
    batch: value('batch') ? Number(value('batch')) : undefined,
    steps: value('steps') ? Number(value('steps')) : undefined,
    only: value('only')?.split(','),
    out: value('out'),
    skipTorch: args.includes('--skip-torch'),
  })
  console.log(result.markdown)
  console.log(JSON.stringify({ bench: 'devices', model, seconds: Math.round((performance.now() - started) / 1000), rows: result.rows }))
}
