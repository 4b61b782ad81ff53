// Eval-mode logits against torchvision: every architecture and stem on wasm and wasm+native, a share on cpu and
// webgpu (see inFastSuite); the other pairs are in parity-eval-more.slow.test.ts.
import { evalParitySuite, inFastSuite } from './_eval-parity'

await evalParitySuite(inFastSuite)
