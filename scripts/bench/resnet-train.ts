/**
 * `pnpm bench resnet-train [--batch 32] [--steps 6] [--threads 2] [--workers 1]`
 *
 * The full training pipeline of `pnpm resnet train`, data loading included: JPEGs of the Tiny-ImageNet subset decoded,
 * RandomCrop(64, padding 4) + flip, normalised, batched by @tinylab/tiny-imagenet-data's loader, then a ResNet-18
 * (imagenet stem, 200-way head) SGD step (momentum 0.9, wd 1e-4) on tfjs wasm; against PyTorch CPU doing the same with
 * a torch DataLoader (the committed reference/train_subset.py's dataset and transforms) and the same thread count, in the
 * same run. Images/s are over the timed steps (after one warm-up step), wall clock, loading and step together.
 */
import path from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '@tinylab/multi-device'
import { createResNet } from '@tinylab/resnet-models'
import { TinyImageNetLoader, readSplit } from '@tinylab/tiny-imagenet-data'
import { SGD, classifierStep } from '@tinylab/train-loop'
import { REPO_ROOT, flag, mib, runBenchChild, runPython } from './_child'

interface Result {
  device: string
  batch: number
  threads: number
  workers: number
  steps: number
  imagesPerSec: number
  msPerStep: number
  peakRssMiB: number
  loss: number
}

const SUBSET = path.join(process.env.TINYLAB_SHARED_DATA ?? path.resolve(REPO_ROOT, '../shared/data'), 'tiny-imagenet-200-subset')

const TORCH = String.raw`
import json, resource, sys, time
import torch, torchvision
import torchvision.transforms as T
sys.path.insert(0, sys.argv[1])
from train_subset import Listing, listings, MEAN, STD
root, batch, steps, threads, workers = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
torch.manual_seed(0)
torch.set_num_threads(threads)
train, _ = listings(root, 10)
tf = T.Compose([T.RandomCrop(64, padding=4), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(MEAN, STD)])
loader = torch.utils.data.DataLoader(Listing(train, tf), batch_size=batch, shuffle=True, num_workers=workers)
model = torchvision.models.resnet18(num_classes=200)
model.train()
opt = torch.optim.SGD(model.parameters(), 0.01, momentum=0.9, weight_decay=1e-4)
crit = torch.nn.CrossEntropyLoss()
it = iter(loader)
def step():
    x, y = next(it)
    loss = crit(model(x), y)
    opt.zero_grad(); loss.backward(); opt.step()
    return loss.item()
step()
t0 = time.time()
for _ in range(steps): loss = step()
dt = time.time() - t0
print(json.dumps(dict(device='pytorch-cpu', batch=batch, threads=threads, workers=workers, steps=steps, imagesPerSec=batch * steps / dt,
                      msPerStep=1000 * dt / steps, peakRssMiB=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, loss=loss)))
`

export async function run(args: string[]): Promise<void> {
  const batch = Number(flag(args, 'batch') ?? '32')
  const steps = Number(flag(args, 'steps') ?? '6')
  const threads = Number(flag(args, 'threads') ?? '2')
  const workers = Number(flag(args, 'workers') ?? '1')
  if (flag(args, 'worker') !== undefined) return runWorker(batch, steps, threads, workers)
  const torch = runPython<Result>(TORCH, [path.join(REPO_ROOT, 'examples/resnet-tiny-imagenet/reference'), SUBSET, String(batch), String(steps), String(threads), String(workers)])
  console.log(JSON.stringify(torch))
  const ours = runBenchChild<Result>('resnet-train', ['--worker', 'wasm', '--batch', String(batch), '--steps', String(steps), '--threads', String(threads), '--workers', String(workers)])
  console.log(JSON.stringify(ours))
  const ratio = ours.imagesPerSec / torch.imagesPerSec
  console.log(JSON.stringify({ bench: 'resnet-train', pipeline: 'JPEG decode + RandomCrop/flip + normalise + ResNet-18 SGD step (64x64, 200 classes)', batch, steps, threads, workers, wasm: round(ours.imagesPerSec), pytorch: round(torch.imagesPerSec), ratio: round(ratio, 3) }))
  console.log(
    `resnet-train (batch ${batch}, ${threads} threads, ${workers} loader worker(s)): wasm ${round(ours.imagesPerSec)} img/s vs PyTorch CPU ${round(torch.imagesPerSec)} img/s ` +
      `= ${round(ratio, 3)}x; peak RSS ${ours.peakRssMiB} MiB vs ${round(torch.peakRssMiB)} MiB`,
  )
}

async function runWorker(batch: number, steps: number, threads: number, workers: number): Promise<void> {
  const info = await initBackend({ device: 'wasm', threads })
  const { samples } = readSplit(SUBSET, 'train', { numClasses: 10 })
  const loader = await TinyImageNetLoader.create(samples, { batchSize: batch, augment: 'random-crop', flip: true, workers, seed: 0 })
  const model = createResNet('resnet18', { numClasses: 200, seed: 0 })
  const params = model.parameters()
  const sgd = new SGD(params, { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 })
  let loss = 0
  let t0 = 0
  let done = -1 // the first step warms up
  for await (const { x, y } of loader.batches(0)) {
    loss = (await classifierStep({ model, params, optimizer: sgd }, x, y)).loss
    tf.dispose([x, y])
    if (++done === 0) t0 = performance.now()
    if (done === steps) break
  }
  const ms = (performance.now() - t0) / steps
  await loader.close()
  const result: Result = { device: info.device, batch, threads: info.threads ?? threads, workers, steps, imagesPerSec: (batch * 1000) / ms, msPerStep: ms, peakRssMiB: mib(process.resourceUsage().maxRSS * 1024), loss }
  console.log(JSON.stringify(result))
  process.exit(0)
}

function round(v: number, digits = 1): number {
  const f = 10 ** digits
  return Math.round(v * f) / f
}
