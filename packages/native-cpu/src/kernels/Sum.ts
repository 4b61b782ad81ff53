import { reduceContiguous } from './_reduce'
import type { NativeImpl } from './_native-kernel'

/** float32 Sum over contiguous axes (batch-norm gradients reduce [N, H, W, C] to [C] several times per layer). */
export const sum: NativeImpl = (call) => reduceContiguous(call, false)
