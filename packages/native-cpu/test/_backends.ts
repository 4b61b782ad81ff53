// multi-device resolves from the workspace root (a devDependency here would make a build cycle: multi-device
// depends on this package optionally).
import { initBackend } from '@tinylab/multi-device'

/** Registers the cpu backend (the reference) and leaves the wasm backend active, both via multi-device. */
export async function startCpuAndWasm(): Promise<void> {
  await initBackend({ device: 'cpu' })
  await initBackend({ device: 'wasm' })
}
