// The only place this package registers wasm kernels (STYLE.md (c), after tfjs-backend-wasm's register_all_kernels.ts):
// the training kernels tfjs-backend-wasm 4.22 lacks (Conv2DBackpropFilter, UnsortedSegmentSum), faster versions of
// the ones it ships slow (Conv2D on small maps, Conv2DBackpropInput, BatchMatMul, _FusedMatMul, Tile, Identity,
// same-dtype Cast, Sum and Mean over leading axes, Slice, SplitV, Unpack), and fixes for wrong ones (OneHot, MaxPoolGrad).
// startWasm calls registerWasmTrainingKernels() once, before the wasm backend starts, because the engine runs kernels'
// setupFuncs (which bind the C++ functions) when a backend instance is created.
import { getKernel, registerKernel, unregisterKernel } from '@tensorflow/tfjs-core'
import type { KernelConfig } from '@tensorflow/tfjs-core'
import { batchMatMulConfig } from './BatchMatMul'
import { castConfig } from './Cast'
import { conv2DConfig } from './Conv2D'
import { conv2DBackpropFilterConfig } from './Conv2DBackpropFilter'
import { conv2DBackpropInputConfig } from './Conv2DBackpropInput'
import { fusedMatMulConfig } from './FusedMatMul'
import { identityConfig } from './Identity'
import { meanConfig, sumConfig } from './LeadingAxesReduce'
import { maxPoolGradConfig } from './MaxPoolGrad'
import { oneHotConfig } from './OneHot'
import { saveOriginal } from './_originals'
import { sliceConfig } from './Slice'
import { splitVConfig } from './SplitV'
import { tileConfig } from './Tile'
import { unpackConfig } from './Unpack'
import { unsortedSegmentSumConfig } from './UnsortedSegmentSum'

/** Shipped kernels that replacements delegate to; saved before anything is replaced. */
const DELEGATED = ['BatchMatMul', '_FusedMatMul', 'Cast', 'Conv2D', 'Identity', 'Mean', 'OneHot', 'Slice', 'SplitV', 'Sum', 'Tile', 'Unpack'] as const

export function registerWasmTrainingKernels(): void {
  for (const name of DELEGATED) {
    if (saveOriginal(name) === undefined) {
      throw new Error(`wasm-backend: tfjs-backend-wasm registered no '${name}' kernel; is @tensorflow/tfjs-backend-wasm 4.22 imported?`)
    }
  }
  const kernelConfigs: KernelConfig[] = [
    batchMatMulConfig(),
    castConfig,
    conv2DConfig(),
    conv2DBackpropFilterConfig,
    conv2DBackpropInputConfig,
    identityConfig,
    maxPoolGradConfig,
    meanConfig(),
    oneHotConfig(),
    sliceConfig,
    splitVConfig,
    sumConfig(),
    tileConfig(),
    unpackConfig,
    unsortedSegmentSumConfig,
    fusedMatMulConfig(),
  ]
  for (const config of kernelConfigs) {
    if (getKernel(config.kernelName, config.backendName) !== undefined) unregisterKernel(config.kernelName, config.backendName)
    registerKernel(config)
  }
}
