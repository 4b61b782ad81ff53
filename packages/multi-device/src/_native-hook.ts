// The one place multi-device meets the optional native accelerator (@tinylab/native-cpu, its own package and issue).
// Contract, structural so neither package imports the other's types: the module exports
//   enableNativeKernels(options: { threads: number }): NativeStatus | Promise<NativeStatus>
// which registers its kernels over the already-started wasm backend (reading and writing the wasm heap in place) and
// reports whether it did. It is loaded by a variable specifier, so bundlers and installs never require it.

export interface NativeStatus {
  /** true when native kernels now replace wasm ones. */
  enabled: boolean
  /** Why (not): e.g. which library and ISA, or "libdnnl-dev missing: apt-get install libdnnl-dev g++". */
  reason: string
}

interface NativeCpuModule {
  enableNativeKernels?: (options: { threads: number }) => NativeStatus | Promise<NativeStatus>
}

const PACKAGE = '@tinylab/native-cpu'

/** Tries to enable @tinylab/native-cpu; never throws for a missing package, only reports why it was skipped. */
export async function loadNativeCpu(options: { threads: number }): Promise<NativeStatus> {
  let mod: NativeCpuModule
  try {
    const specifier: string = PACKAGE
    mod = (await import(/* @vite-ignore */ specifier)) as NativeCpuModule
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /Cannot find (package|module)/.test(String(err))) {
      return {
        enabled: false,
        reason: `${PACKAGE} is not installed (optional: npm install ${PACKAGE}; prebuilt with oneDNN for Linux x64 glibc, elsewhere it builds against the system oneDNN: apt-get install libdnnl-dev g++)`,
      }
    }
    return { enabled: false, reason: `${PACKAGE} failed to load: ${err instanceof Error ? err.message : String(err)}` }
  }
  if (typeof mod.enableNativeKernels !== 'function') {
    return { enabled: false, reason: `${PACKAGE} is installed but exports no enableNativeKernels()` }
  }
  try {
    return await mod.enableNativeKernels(options)
  } catch (err) {
    return { enabled: false, reason: `${PACKAGE} could not start: ${err instanceof Error ? err.message : String(err)}` }
  }
}
