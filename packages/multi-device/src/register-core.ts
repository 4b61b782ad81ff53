// The only module of this package with side effects on import. tfjs-core's Node bundle registers no gradients and
// no chained ops (`x.abs()`); training needs both, and they must be registered once per process, before any model code.
import '@tensorflow/tfjs-core/dist/register_all_gradients'
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops'
