export { startWasm, stopWasm } from './start-wasm'
export type { StartWasmOptions, WasmBackendInfo } from './start-wasm'
