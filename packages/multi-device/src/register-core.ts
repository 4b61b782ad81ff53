// The only module of this package with side effects on import. tfjs-core's Node bundle registers no gradients and
// no chained ops (`x.abs()`); training needs both, and they must be registered once per process, before any model code.
// tfjs-core itself first: in the published build the two registration modules below are bundled (Node cannot load
// them from tfjs-core's dist) and carry private copies of tensor.ts & co. Whichever copy runs first installs the
// global Tensor class and engine; it must be the user's tfjs-core, whose Tensor has its op handler (x.print()) set.
import '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-core/dist/register_all_gradients'
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops'
