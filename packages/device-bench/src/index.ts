export { benchDevices } from './bench-devices'
export type { BenchModel, DevicesBenchOptions } from './bench-devices'
export { COMPILED_WARMUP_STEPS, benchmarkDevices, describeMachine, formatDeviceTable, stepRates, unmeasuredRow } from './benchmark-devices'
export type { DeviceBenchOptions, DeviceBenchRow, DeviceConfiguration } from './benchmark-devices'
