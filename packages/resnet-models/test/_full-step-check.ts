/**
 * One full train-mode step of torchvision's resnet18 (200 classes, 64×64, batch 32 by default) on an accelerated
 * backend against the pure-JS cpu backend, PyTorch float64 as the arbiter. Shared by full-step-cpu.slow.test.ts (in a child
 * process: the cpu step is one synchronous block of minutes) and `pnpm bench resnet-step --check-cpu`.
 *
 * Weights and batch come from torch_reference.py (`parity … train64`), which also runs the step in float32 and float64.
 * The cpu side takes the accelerated step's ReLU decisions (@tinylab/test-utils/relu-decisions): an input within fp32
 * rounding of zero would otherwise turn a unit on in one step and off in the other, and move every gradient upstream of
 * it by that unit's contribution, whichever backend is right (at batch 32, one such unit in layer4.0 moves
 * layer4.0.conv1.weight's gradient by 10% of its largest entry). Each flip is reported with its size; the check passes
 * only if every flip is a tie below fp32 resolution and, with shared decisions, the loss and all 62 gradients agree.
 */
import * as tf from '@tensorflow/tfjs-core'
import { initBackend } from '@tinylab/multi-device'
import { relError } from '@tinylab/test-utils/close'
import { recordReluDecisions, replayReluDecisions } from '@tinylab/test-utils/relu-decisions'
import type { ReluRecorder, ReplayReport } from '@tinylab/test-utils/relu-decisions'
import { resnet18, type TensorLayout } from '../src/index'
import { crossEntropy, getArray, loadTorchState, toTinyLayout, torchParity } from './_torch-reference'

export type AcceleratedDevice = 'wasm' | 'wasm+native'

interface StepGradients {
  loss: number
  grads: Map<string, Float32Array>
}

export interface WorstGradient {
  name: string
  err: number
  /** Parameters whose gradient is off by more than 1e-3 (relError). */
  over1e3: number
}

export interface FullStepCheck {
  check: string
  backend: string
  losses: Record<string, number | undefined>
  lossRelError: number
  worstGradientVsCpu: WorstGradient
  parameters: number
  reluCalls: number
  reluGradientsReplayed: number
  reluDecisionsDiffering: number
  largestFlipRelativeMagnitude: number
  worstGradientVsF64: Record<string, WorstGradient>
  pass: boolean
  seconds: number
}

const CLASSES = 200
const SIZE = 64
/**
 * A flip is a tie when |x| is under 1e-5 of that ReLU call's largest |x|: the conv before it sums up to 4,608 products,
 * whose fp32 rounding is ~√4608·6e-8 ≈ 4e-6 relative (4e-6 measured between wasm and cpu on layer4.0.conv1).
 */
const FLIP_TIE = 1e-5

function worstOf(grads: Map<string, Float32Array>, reference: Map<string, Float32Array>): WorstGradient {
  const worst = { name: '', err: 0, over1e3: 0 }
  for (const [name, ref] of reference) {
    const err = relError(grads.get(name) ?? new Float32Array(), ref)
    if (err > worst.err) Object.assign(worst, { name, err })
    if (err > 1e-3) worst.over1e3++
  }
  return worst
}

export async function checkFullStepAgainstCpu(batch: number, device: AcceleratedDevice): Promise<FullStepCheck> {
  const t0 = performance.now()
  const dump = await torchParity({ arch: 'resnet18', numClasses: CLASSES, size: SIZE, batch, stem: 'imagenet', mode: 'train64' })
  let layouts: [string, TensorLayout][] = []
  let backendName = ''
  // `started` runs once the backend is up: the cpu backend registers its kernels only then.
  const step = async (backend: AcceleratedDevice | 'cpu', started: () => void): Promise<StepGradients> => {
    const info = await initBackend({ device: backend })
    if (info.backend !== backend) throw new Error(`full-step check: asked for ${backend}, got ${info.backend} (${info.reason})`)
    if (backend !== 'cpu') backendName = info.backend
    started()
    const model = resnet18({ numClasses: CLASSES })
    loadTorchState(model, dump)
    const x = getArray(dump, 'x')
    const input = tf.tensor4d(x.data, x.shape as [number, number, number, number])
    const labels = tf.tensor1d(dump.labels, 'int32')
    const params = model.parameters()
    layouts = params.map((p) => [p.name, p.layout])
    const { value, grads } = tf.variableGrads(() => crossEntropy(model.forward(input, { training: true }), labels), params.map((p) => p.value))
    const out = { loss: value.dataSync()[0] as number, grads: new Map(params.map((p) => [p.name, Float32Array.from((grads[p.value.name] as tf.Tensor).dataSync())])) }
    tf.dispose([value, input, labels, ...Object.values(grads)])
    model.dispose()
    return out
  }
  let recorder: ReluRecorder | undefined
  const ours = await step(device, () => (recorder = recordReluDecisions(device)))
  const masks = recorder?.stop() ?? []
  let replay: ReplayReport | undefined
  const cpu = await step('cpu', () => (replay = replayReluDecisions('cpu', masks)))
  if (replay === undefined) throw new Error('full-step check: the cpu step did not start')
  replay.restore()

  // PyTorch's gradients in our layouts (OIHW -> HWIO, [out, in] -> [in, out]).
  const torchGrads = (prefix: 'grad/' | 'grad64/'): Map<string, Float32Array> =>
    new Map(
      layouts.map(([name, layout]) => {
        const t = toTinyLayout(getArray(dump, prefix + name), layout)
        const data = Float32Array.from(t.dataSync())
        t.dispose()
        return [name, data]
      }),
    )
  const f64 = torchGrads('grad64/')
  const vsCpu = worstOf(ours.grads, cpu.grads)
  const lossRelError = Math.abs(ours.loss - cpu.loss) / Math.abs(cpu.loss)
  const largestFlip = Math.max(0, ...replay.flips.map((f) => f.relativeMagnitude))
  return {
    check: `resnet18 batch-${batch} 64x64 step, ${device} vs cpu with shared ReLU decisions, PyTorch float64 as arbiter`,
    backend: backendName,
    losses: { [device]: ours.loss, cpu: cpu.loss, 'pytorch-f32': dump.loss, 'pytorch-f64': dump.loss64 },
    lossRelError,
    worstGradientVsCpu: vsCpu,
    parameters: cpu.grads.size,
    reluCalls: replay.reluCalls,
    reluGradientsReplayed: replay.stepCallsReplayed,
    reluDecisionsDiffering: replay.flips.length,
    largestFlipRelativeMagnitude: largestFlip,
    worstGradientVsF64: { [device]: worstOf(ours.grads, f64), cpu: worstOf(cpu.grads, f64), 'pytorch-f32': worstOf(torchGrads('grad/'), f64) },
    pass: lossRelError <= 1e-3 && vsCpu.err <= 1e-3 && largestFlip <= FLIP_TIE && replay.reluCalls > 0 && replay.stepCallsReplayed === replay.reluCalls,
    seconds: Math.round((performance.now() - t0) / 1000),
  }
}
