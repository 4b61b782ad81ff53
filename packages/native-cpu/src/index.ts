/**
 * @tinylab/native-cpu: oneDNN kernels (Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter, BatchMatMul) for the
 * tfjs wasm backend, computing in place in the wasm heap. Optional: when the addon was not built the package still
 * imports and `loadNativeCpu()` says why.
 *
 * How @tinylab/multi-device uses it (src/_native-hook.ts, device 'auto'): after `tf.setBackend('wasm')` and after
 * every custom wasm kernel is registered, it imports this package by a variable specifier (it is an optional
 * dependency) and calls
 *
 * ```ts
 * const status = await enableNativeKernels({ threads })   // never throws for a missing/unbuilt addon
 * // status.enabled === true  -> tf.getBackend() === 'wasm+native': report device 'wasm+native', backend tf.getBackend()
 * // status.enabled === false -> still on 'wasm'; status.reason says why and how to enable it (apt-get install libdnnl-dev g++)
 * ```
 *
 * 'wasm+native' is a tfjs backend name registered over the SAME BackendWasm instance (same heap and tensors): every
 * 'wasm' kernel is copied to it and Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter and BatchMatMul are replaced.
 * `tf.setBackend('wasm')` goes back to pure wasm kernels without moving data, so the kernel-parity suite on 'wasm'
 * keeps testing wasm's own kernels. Lower-level API for benchmarks/tests: `loadNativeCpu()` (availability + info)
 * and `registerNativeKernels(tf.backend())` (register without switching).
 *
 * Threads: oneDNN uses OpenMP; enableNativeKernels sizes it to the wasm thread count it is given (one per core by
 * default), `loadNativeCpu().setThreads(n)` changes it. Native and wasm kernels
 * never run at the same time (tfjs runs kernels one by one), so wasm keeps its own threads for the ops left to it.
 */
export { enableNativeKernels } from './enable-native-kernels'
export type { NativeStatus } from './enable-native-kernels'
export { loadNativeCpu } from './load-native-cpu'
export type { NativeCpu, NativeCpuInfo } from './load-native-cpu'
export { NATIVE_BACKEND_NAME, registerNativeKernels } from './register-native-kernels'
export type { NativeRegistration } from './register-native-kernels'
