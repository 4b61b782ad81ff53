/**
 * `pnpm bench native-step [--batch 64,32] [--steps 5] [--threads 2] [--native-threads N] [--profile] [--skip-torch] [--wasm]`: one ResNet-18 training step
 * (64x64 images, 200 classes, SGD momentum 0.9, softmax cross-entropy) on 'wasm+native' (@tinylab/native-cpu's oneDNN
 * kernels over the wasm backend), and PyTorch CPU (Debian python3-torch, 2 threads, same oneDNN) in the same run.
 * `--wasm` also times plain wasm. `--profile` prints the ten most expensive kernels of one step.
 * Prints one JSON line per configuration and the ratio to PyTorch.
 */
import * as tf from '@tensorflow/tfjs-core'
import { execFileSync } from 'node:child_process'
import { initBackend } from '../../packages/multi-device/src/index'
import { loadNativeCpu } from '../../packages/native-cpu/src/index'
import { resnet18 } from '../../packages/resnet-models/src/index'

const IMAGE = 64
const CLASSES = 200

interface StepResult {
  engine: string
  batch: number
  msPerStep: number
  imagesPerSec: number
  peakRssMiB?: number
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}

async function tfjsStep(backendName: string, batch: number, steps: number, profile: boolean): Promise<StepResult> {
  await tf.setBackend(backendName)
  const model = resnet18({ numClasses: CLASSES, seed: 1 })
  const params = model.parameters().map((p) => p.value)
  const velocity = params.map((p) => tf.variable(tf.zerosLike(p), false))
  const x = tf.randomNormal([batch, IMAGE, IMAGE, 3]) as tf.Tensor4D
  const labels = tf.tensor1d(Array.from({ length: batch }, (_, i) => (i * 37) % CLASSES), 'int32')
  const step = () =>
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => {
        const logits = model.forward(x, { training: true })
        const onehot = tf.cast(tf.oneHot(labels, CLASSES), 'float32') // wasm's float32 OneHot is buggy upstream
        return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar
      }, params)
      params.forEach((p, i) => {
        const v = tf.add(tf.mul(velocity[i]!, 0.9), grads[p.name]!)
        velocity[i]!.assign(v)
        p.assign(tf.sub(p, tf.mul(v, 0.01)))
      })
    })
  step()
  step()
  if (profile) {
    const info = await tf.profile(step)
    const byKernel = new Map<string, number>()
    for (const k of info.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (k.kernelTimeMs as number))
    const total = [...byKernel.values()].reduce((a, b) => a + b, 0)
    const top = [...byKernel.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12)
    console.log(JSON.stringify({ profile: backendName, batch, totalKernelMs: Math.round(total), top: top.map(([n, ms]) => `${n} ${ms.toFixed(0)}ms`) }))
  }
  const start = performance.now()
  for (let i = 0; i < steps; i++) step()
  const ms = (performance.now() - start) / steps
  tf.dispose([x, labels, ...velocity])
  model.dispose()
  return { engine: backendName, batch, msPerStep: Math.round(ms), imagesPerSec: +(batch / (ms / 1000)).toFixed(1) }
}

const TORCH_STEP = `
import json, resource, sys, time, torch, torchvision
torch.set_num_threads(int(sys.argv[3]))
batch, steps = int(sys.argv[1]), int(sys.argv[2])
torch.manual_seed(0)
model = torchvision.models.resnet18(num_classes=${CLASSES}).train()
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
x = torch.randn(batch, 3, ${IMAGE}, ${IMAGE}); y = torch.arange(batch) * 37 % ${CLASSES}
loss_fn = torch.nn.CrossEntropyLoss()
def step():
    opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
step(); step()
t = time.perf_counter()
for _ in range(steps): step()
dt = (time.perf_counter() - t) / steps
print(json.dumps({"msPerStep": round(dt * 1000), "imagesPerSec": round(batch / dt, 1), "peakRssMiB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
`

function torchStep(batch: number, steps: number, threads: number): StepResult {
  const out = execFileSync('/usr/bin/python3', ['-c', TORCH_STEP, String(batch), String(steps), String(threads)], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: String(threads) },
  })
  return { engine: 'pytorch-cpu', batch, ...(JSON.parse(out.trim().split('\n').pop()!) as Omit<StepResult, 'engine' | 'batch'>) }
}

export async function run(args: string[]): Promise<void> {
  const batches = (option(args, 'batch') ?? '64,32').split(',').map(Number)
  const steps = Number(option(args, 'steps') ?? '5')
  const threads = Number(option(args, 'threads') ?? '2')
  // 'auto' = wasm plus @tinylab/native-cpu when its addon is built (multi-device's optional dependency).
  const info = await initBackend({ device: 'auto', threads })
  if (info.device !== 'wasm+native') throw new Error(`native-step needs the native addon: ${info.skipped?.join('; ') ?? info.reason}`)
  const nativeThreads = option(args, 'native-threads')
  if (nativeThreads !== undefined) {
    const native = loadNativeCpu()
    if (native.available) native.setThreads(Number(nativeThreads))
  }
  console.log(JSON.stringify({ ...info, activeBackend: tf.getBackend(), nativeThreads: nativeThreads ?? threads }))
  for (const batch of batches) {
    const rows: StepResult[] = [await tfjsStep('wasm+native', batch, steps, args.includes('--profile'))]
    if (args.includes('--wasm')) rows.push(await tfjsStep('wasm', batch, Math.min(steps, 2), false))
    if (!args.includes('--skip-torch')) {
      const torch = torchStep(batch, steps, threads)
      rows.push(torch)
      for (const r of rows) if (r !== torch) console.log(JSON.stringify({ ...r, ratioToPytorch: +(r.imagesPerSec / torch.imagesPerSec).toFixed(2) }))
      console.log(JSON.stringify(torch))
    } else {
      for (const r of rows) console.log(JSON.stringify(r))
    }
  }
}
