// One train-mode step against torchvision resnet18 on wasm, wasm+native and webgpu (tfjs's cpu backend:
// parity-train-cpu.slow.test.ts).
import { trainParitySuite } from './_train-parity'

await trainParitySuite((device) => device !== 'cpu')
