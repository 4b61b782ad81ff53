import './register-core'

export { initBackend } from './init-backend'
export type { BackendInfo, Device, InitBackendOptions } from './init-backend'
