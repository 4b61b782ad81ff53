// What a train-loop user's backend package (e.g. @tinylab/multi-device's initBackend) does before training: tfjs-core's
// Node build registers no gradients and no chained ops. The tests start their backends themselves so that train-loop
// needs no device package, not even for its tests.
import '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-core/dist/register_all_gradients'
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops'
import '@tensorflow/tfjs-backend-cpu'
