import { UnsortedSegmentSum, util } from '@tensorflow/tfjs-core'
import type { KernelBackend, KernelConfig, KernelFunc, TensorInfo, UnsortedSegmentSumAttrs } from '@tensorflow/tfjs-core'
import { call, cast, free, reshape } from './_call'

/**
 * out[s, ...] = Σ_{i: ids[i] = s} x[i, ...] — the gradient of gather (embedding lookups). tfjs-backend-wasm 4.22 has no
 * such kernel and the cpu fallback loops in JS over every segment (683 s per LM step with a 33,278-word vocabulary).
 * ScatterNd with the ids as 1-D indices is exactly this sum (it accumulates repeated indices), in one C++ pass.
 * Ids outside [0, numSegments) are dropped, as TensorFlow does.
 */
function unsortedSegmentSum(args: Parameters<KernelFunc>[0]): TensorInfo {
  const { inputs } = args
  const backend = args.backend as KernelBackend
  const { numSegments } = args.attrs as unknown as UnsortedSegmentSumAttrs
  const x = inputs['x'] as TensorInfo
  const segmentIds = inputs['segmentIds'] as TensorInfo
  const idsRank = segmentIds.shape.length
  const rows = util.sizeFromShape(segmentIds.shape)
  const rest = x.shape.slice(idsRank)
  const ids = segmentIds.dtype === 'int32' ? segmentIds : cast(backend, segmentIds, 'int32')
  const indices = reshape(backend, ids, [rows, 1])
  const updates = reshape(backend, x, [rows, ...rest])
  const out = call('ScatterNd', { indices, updates }, backend, { shape: [numSegments, ...rest] })
  free(backend, indices, updates)
  if (ids !== segmentIds) free(backend, ids)
  return out
}

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as KernelFunc,
}
