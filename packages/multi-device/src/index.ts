import './register-core'

export { initBackend } from './init-backend'
export type { BackendInfo, Device, InitBackendOptions } from './init-backend'
export { WASM_TRAINING_KERNELS } from './wasm-kernels/register_all_kernels'
