// The eval-mode parity pairs parity-eval.test.ts leaves out (pnpm test:full): ResNet-18's CIFAR stem, ResNet-34 and
// ResNet-50 on tfjs's pure-JS cpu backend, ResNet-34 on WebGPU.
import { evalParitySuite, inFastSuite } from './_eval-parity'

await evalParitySuite((device, c) => !inFastSuite(device, c))
