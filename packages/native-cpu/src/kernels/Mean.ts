import { reduceContiguous } from './_reduce'
import type { NativeImpl } from './_native-kernel'

/** float32 Mean over contiguous axes (tf.moments in batch-norm, global average pooling). */
export const mean: NativeImpl = (call) => reduceContiguous(call, true)
