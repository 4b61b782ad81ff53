// A library user's whole program: start a backend, train one SGD step, print, return. Nothing calls process.exit, so
// the process ends only if nothing TinyLab started keeps Node's event loop alive. argv: device [restart]
import * as tf from '@tensorflow/tfjs-core'
import { initBackend, stopWasm, type Device } from '../src/index'

const device = process.argv[2] as Device
const info = await initBackend({ device })
const w = tf.variable(tf.ones([4, 2]))
const sgd = tf.train.sgd(0.1)
sgd.minimize(() => tf.sum(tf.matMul(tf.ones([3, 4]), w)) as tf.Scalar)
let weight = (await w.data())[0] as number
if (process.argv[3] === 'restart') {
  // A long-lived host: release the backend and its workers, then start it again and compute.
  stopWasm()
  await initBackend({ device })
  weight = (await tf.sum(tf.ones([3, 3])).data())[0] as number
}
console.log(`LAST ${info.device} ${info.threads ?? 0} ${weight} ${Date.now()}`)
