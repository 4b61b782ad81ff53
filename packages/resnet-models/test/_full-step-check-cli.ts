// `vite-node packages/resnet-models/test/_full-step-check-cli.ts -- <batch> <wasm|wasm+native>`: one JSON line, the
// full-step check (_full-step-check.ts) in a process of its own.
import { checkFullStepAgainstCpu } from './_full-step-check'

const [batch = '32', device = 'wasm'] = process.argv.slice(2).filter((a) => a !== '--')
if (device !== 'wasm' && device !== 'wasm+native') throw new Error(`_full-step-check-cli: device must be wasm or wasm+native, got '${device}'`)
console.log(JSON.stringify(await checkFullStepAgainstCpu(Number(batch), device)))
// wasm's pthread workers keep Node alive after the last step.
process.exit(0)
