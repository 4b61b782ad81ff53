/**
 * GPU dispatches per eager WebGPU training step, by tfjs kernel name: where the ~1,200 dispatches of a ResNet-18 step
 * and the ~500 of a Transformer LM step come from, so fusion work targets the kernels that matter.
 *
 *   vite-node --config vite.config.ts scripts/bench/webgpu-dispatch-count.ts -- [--model resnet18|transformer] [--batch N]
 *
 * Every dispatch gets zero workgroups (the host-side work, which decides the count, all happens; the GPU does none),
 * so this runs in seconds on lavapipe. A dispatch is attributed to the outermost tfjs kernel running when
 * `recordAndSubmit` is called (a kernel that calls another kernel's function directly counts as itself).
 * Prints a table on stderr and, last, one JSON line `{ model, batch, dispatches, byKernel }` on stdout.
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients'
import * as tf from '@tensorflow/tfjs-core'
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu'
import { startWebGpu, stopWebGpu } from '@tinylab/webgpu-backend'
import { resnet18 } from '@tinylab/resnet-models'
import { nllLoss, TransformerModel } from '@tinylab/transformer-lm'
import { SGD, trainStepAsync } from '@tinylab/train-loop'

interface Args { model: 'resnet18' | 'transformer'; batch: number }

function parseArgs(argv: string[]): Args {
  const args: Args = { model: 'resnet18', batch: 0 }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    const value = argv[i + 1]
    if (flag === '--') continue
    if (flag === '--model' && (value === 'resnet18' || value === 'transformer')) args.model = value
    else if (flag === '--batch' && value !== undefined && Number.isInteger(Number(value)) && Number(value) > 0) args.batch = Number(value)
    else throw new Error(`webgpu-dispatch-count: bad argument ${flag} ${value ?? ''} (use --model resnet18|transformer --batch N)`)
    i++
  }
  if (args.batch === 0) args.batch = args.model === 'resnet18' ? 64 : 20
  return args
}

/** Wraps every kernel registered for webgpu so dispatches can be attributed to the outermost kernel running. */
/** recordAndSubmit is private in tfjs's types; every dispatch of the backend goes through it. */
interface Recorder {
  recordAndSubmit: (program: WebGPUProgram, ...rest: unknown[]) => void
}

function attributeDispatches(backend: Recorder): { counts: Map<string, number>; reset: () => void } {
  const counts = new Map<string, number>()
  const stack: string[] = []
  for (const config of tf.getKernelsForBackend('webgpu')) {
    const inner = config.kernelFunc
    tf.unregisterKernel(config.kernelName, 'webgpu')
    tf.registerKernel({
      ...config,
      kernelFunc: (args) => {
        stack.push(config.kernelName)
        try {
          return inner(args)
        } finally {
          stack.pop()
        }
      },
    })
  }
  const record = backend.recordAndSubmit.bind(backend)
  backend.recordAndSubmit = (program, ...rest) => {
    const name = stack[0] ?? `(outside a kernel: ${program.constructor.name})`
    counts.set(name, (counts.get(name) ?? 0) + 1)
    program.dispatch = [0, 0, 0]
    record(program, ...rest)
  }
  return { counts, reset: () => counts.clear() }
}

async function resnetStep(batch: number): Promise<() => Promise<void>> {
  const model = resnet18({ numClasses: 200, seed: 1 })
  const params = model.parameters()
  const sgd = new SGD(params, { lr: 0.1, momentum: 0.9, weightDecay: 1e-4 })
  const x = tf.randomUniform([batch, 64, 64, 3]) as tf.Tensor4D
  const y = tf.randomUniform([batch], 0, 200, 'int32') as tf.Tensor1D
  return async () => {
    await trainStepAsync({
      params,
      optimizer: sgd,
      loss: () => tf.losses.softmaxCrossEntropy(tf.oneHot(y, 200), model.forward(x, { training: true })) as tf.Scalar,
    })
  }
}

async function transformerStep(batch: number): Promise<() => Promise<void>> {
  const bptt = 35
  const ntoken = 33278
  const model = new TransformerModel({ ntoken, ninp: 200, nhead: 2, nhid: 200, nlayers: 2, dropout: 0.2 })
  const params = model.parameters()
  const sgd = new SGD(params, { lr: 20 })
  const data = tf.randomUniform([bptt, batch], 0, ntoken, 'int32') as tf.Tensor2D
  const target = tf.randomUniform([bptt * batch], 0, ntoken, 'int32') as tf.Tensor1D
  return async () => {
    await trainStepAsync({ params, optimizer: sgd, clipNorm: 0.25, loss: () => nllLoss(model.forward(data, { training: true }), target) })
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  await startWebGpu()
  tf.env().set('WEBGPU_CPU_FORWARD', false)
  const { counts, reset } = attributeDispatches(tf.backend() as unknown as Recorder)
  const step = args.model === 'resnet18' ? await resnetStep(args.batch) : await transformerStep(args.batch)
  await step() // first step: momentum buffers are created, pipelines compiled
  reset()
  await step()
  const byKernel = Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]))
  const dispatches = [...counts.values()].reduce((a, b) => a + b, 0)
  for (const [name, n] of Object.entries(byKernel)) console.error(`  ${name.padEnd(36)} ${String(n).padStart(5)}`)
  console.log(JSON.stringify({ model: args.model, batch: args.batch, dispatches, byKernel }))
  stopWebGpu()
}

await main()
