export { listDawnAdapterNames, listWebGpuAdapters, startWebGpu, stopWebGpu } from './start-webgpu'
export type { StartWebGpuOptions, WebGpuAdapterSummary, WebGpuBackendInfo } from './start-webgpu'
