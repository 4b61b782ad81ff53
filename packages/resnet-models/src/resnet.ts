/**
 * ResNet-18/34/50 as torchvision builds them (torchvision/models/resnet.py, v0.14): same layers, same state-dict keys
 * in the same order, same initialisation distributions, PyTorch BatchNorm semantics. Images are NHWC float32
 * (tfjs's native layout); weights keep tfjs-friendly layouts and say so in `NamedTensor.layout`.
 *
 * Read top to bottom: the layers (Conv2d, BatchNorm2d, Linear), the two residual blocks, ResNet, then the factories.
 */
import * as tf from '@tensorflow/tfjs-core'
import { type LoadStateDictResult, type NamedTensor, type TensorLayout, type StateDict, type StateDictSource, loadStateDict, toStateDict } from '@tinylab/checkpoint-io'
import { batchNormTraining, updateRunningStats } from './batch-norm-training'
import { createRandom, type Random } from './_random'

/** The torch module class a layer event stands for; torchsummary prints these names. */
export type LayerType =
  | 'Conv2d'
  | 'BatchNorm2d'
  | 'ReLU'
  | 'MaxPool2d'
  | 'AdaptiveAvgPool2d'
  | 'Linear'
  | 'BasicBlock'
  | 'Bottleneck'

/** What a PyTorch forward hook would see after one module ran. */
export interface LayerEvent {
  type: LayerType
  /** NHWC (or [N, features]) output; disposed when `forward` returns, so read `shape` only. */
  output: tf.Tensor
  /** Elements of the module's own `weight` and `bias` (0 for containers and parameter-free modules). */
  params: number
  /** True when the module has a trainable `weight` (torchsummary's rule for "Trainable params"). */
  trainable: boolean
}

export interface ForwardOptions {
  /** Train mode: BatchNorm normalises with batch statistics and updates its running stats (by `assign`). */
  training: boolean
  /**
   * Called after each module-equivalent step, in call order, like a torch forward hook registered on every module:
   * a reused ReLU fires once per call, a block fires after its children. `summary()` is built on this.
   */
  onLayer?: (event: LayerEvent) => void
}

/** `ResNetOptions.stem`: torchvision's ImageNet stem, or the usual small-image variant. */
export type ResNetStem = 'imagenet' | 'cifar'

export interface ResNetOptions {
  /** Width of the final Linear layer (torchvision default 1000; Tiny-ImageNet uses 200). */
  numClasses?: number
  /**
   * 'imagenet': conv1 7×7 stride 2 + 3×3/2 max-pool, as torchvision (default).
   * 'cifar': conv1 3×3 stride 1 and no max-pool; keeps 4× more resolution for 32–64 px inputs. Same state-dict keys,
   * conv1.weight becomes [3, 3, 3, 64].
   */
  stem?: ResNetStem
  /** Seed for the initial weights; omit for a random seed. The same seed gives the same weights on every backend. */
  seed?: number
}

type Padding = [[number, number], [number, number], [number, number], [number, number]]

/** PyTorch's symmetric `padding=p` as tfjs explicit NHWC padding ('same' pads bottom/right only when stride is 2). */
function torchPadding(p: number): Padding {
  return [
    [0, 0],
    [p, p],
    [p, p],
    [0, 0],
  ]
}

/** Collects NamedTensors under a dotted prefix, in the order modules register them (= state_dict order). */
class Scope {
  constructor(
    readonly prefix: string,
    readonly tensors: NamedTensor[],
    readonly random: Random,
  ) {}

  child(name: string | number): Scope {
    return new Scope(`${this.prefix}${name}.`, this.tensors, this.random)
  }

  add(name: string, value: tf.Tensor, layout: TensorLayout, kind: NamedTensor['kind']): tf.Variable {
    const variable = tf.variable(value, kind === 'parameter')
    value.dispose()
    this.tensors.push({ name: this.prefix + name, value: variable, layout, kind })
    return variable
  }
}

/** nn.Conv2d(bias=False) with torchvision's init: kaiming_normal_(mode='fan_out', nonlinearity='relu'). */
class Conv2d {
  private readonly weight: tf.Variable<tf.Rank.R4> // [kh, kw, in, out]
  private readonly pad: Padding

  constructor(
    scope: Scope,
    inChannels: number,
    outChannels: number,
    kernel: number,
    private readonly stride: number,
    padding: number,
  ) {
    // torch.nn.init: fan_out = out_channels * kh * kw; gain(relu) = sqrt(2); std = gain / sqrt(fan_out)
    const std = Math.sqrt(2 / (outChannels * kernel * kernel))
    const shape: [number, number, number, number] = [kernel, kernel, inChannels, outChannels]
    const init = tf.tensor4d(scope.random.normal(kernel * kernel * inChannels * outChannels, std), shape)
    this.weight = scope.add('weight', init, 'conv2d-hwio', 'parameter') as tf.Variable<tf.Rank.R4>
    this.pad = torchPadding(padding)
  }

  forward(x: tf.Tensor4D, options: ForwardOptions): tf.Tensor4D {
    const y = tf.conv2d(x, this.weight, this.stride, this.pad) // (N, H', W', out)
    options.onLayer?.({ type: 'Conv2d', output: y, params: this.weight.size, trainable: this.weight.trainable })
    return y
  }
}

/**
 * nn.BatchNorm2d(C) with PyTorch's semantics (torch/nn/modules/batchnorm.py, aten batch_norm):
 * train mode normalises with the biased batch variance but folds the UNBIASED one (× n/(n-1)) into running_var,
 * momentum 0.1 weights the new batch, num_batches_tracked counts updates; eval mode uses the running stats.
 */
class BatchNorm2d {
  private static readonly eps = 1e-5
  private static readonly momentum = 0.1
  private readonly weight: tf.Variable<tf.Rank.R1>
  private readonly bias: tf.Variable<tf.Rank.R1>
  private readonly runningMean: tf.Variable<tf.Rank.R1>
  private readonly runningVar: tf.Variable<tf.Rank.R1>
  private readonly numBatchesTracked: tf.Variable<tf.Rank.R0>

  constructor(scope: Scope, channels: number) {
    this.weight = scope.add('weight', tf.ones([channels]), 'same', 'parameter') as tf.Variable<tf.Rank.R1>
    this.bias = scope.add('bias', tf.zeros([channels]), 'same', 'parameter') as tf.Variable<tf.Rank.R1>
    this.runningMean = scope.add('running_mean', tf.zeros([channels]), 'same', 'buffer') as tf.Variable<tf.Rank.R1>
    this.runningVar = scope.add('running_var', tf.ones([channels]), 'same', 'buffer') as tf.Variable<tf.Rank.R1>
    this.numBatchesTracked = scope.add('num_batches_tracked', tf.scalar(0, 'int32'), 'same', 'buffer') as tf.Variable<tf.Rank.R0>
  }

  forward(x: tf.Tensor4D, options: ForwardOptions): tf.Tensor4D {
    const { eps, momentum } = BatchNorm2d
    let y: tf.Tensor4D
    if (options.training) {
      const count = x.size / x.shape[3] // values per channel: N * H * W
      if (count < 2) throw new Error(`BatchNorm2d: expected more than 1 value per channel when training, got input shape [${x.shape.join(', ')}]`)
      const normalised = batchNormTraining(x, this.weight, this.bias, eps) // mean, variance: (C), biased
      const { mean, variance } = normalised
      y = normalised.y
      updateRunningStats(this.runningMean, this.runningVar, { mean, variance }, momentum, count)
      this.numBatchesTracked.assign(tf.add(this.numBatchesTracked, tf.scalar(1, 'int32')))
    } else {
      y = tf.batchNorm4d(x, this.runningMean, this.runningVar, this.bias, this.weight, eps)
    }
    const params = this.weight.size + this.bias.size
    options.onLayer?.({ type: 'BatchNorm2d', output: y, params, trainable: this.weight.trainable })
    return y
  }
}

/** nn.Linear with PyTorch's default init: kaiming_uniform_(a=√5) = U(±1/√fan_in) for weight, U(±1/√fan_in) for bias. */
class Linear {
  private readonly weight: tf.Variable<tf.Rank.R2> // [in, out]
  private readonly bias: tf.Variable<tf.Rank.R1>

  constructor(scope: Scope, inFeatures: number, outFeatures: number) {
    const bound = 1 / Math.sqrt(inFeatures)
    const w = tf.tensor2d(scope.random.uniform(inFeatures * outFeatures, bound), [inFeatures, outFeatures])
    this.weight = scope.add('weight', w, 'linear-io', 'parameter') as tf.Variable<tf.Rank.R2>
    this.bias = scope.add('bias', tf.tensor1d(scope.random.uniform(outFeatures, bound)), 'same', 'parameter') as tf.Variable<tf.Rank.R1>
  }

  forward(x: tf.Tensor2D, options: ForwardOptions): tf.Tensor2D {
    const y = tf.add(tf.matMul(x, this.weight), this.bias) as tf.Tensor2D // (N, out)
    const params = this.weight.size + this.bias.size
    options.onLayer?.({ type: 'Linear', output: y, params, trainable: this.weight.trainable })
    return y
  }
}

/** ResNet's single nn.ReLU(inplace=True) module is called several times per block: one event per call, like torch hooks. */
function relu(x: tf.Tensor4D, options: ForwardOptions): tf.Tensor4D {
  const y = tf.relu(x)
  options.onLayer?.({ type: 'ReLU', output: y, params: 0, trainable: false })
  return y
}

/** `downsample` = Sequential(conv1x1(stride), BatchNorm2d): keys `<block>.downsample.0.weight`, `.1.running_var`. */
class Downsample {
  private readonly conv: Conv2d
  private readonly bn: BatchNorm2d

  constructor(scope: Scope, inChannels: number, outChannels: number, stride: number) {
    this.conv = new Conv2d(scope.child(0), inChannels, outChannels, 1, stride, 0)
    this.bn = new BatchNorm2d(scope.child(1), outChannels)
  }

  forward(x: tf.Tensor4D, options: ForwardOptions): tf.Tensor4D {
    return this.bn.forward(this.conv.forward(x, options), options)
  }
}

interface Block {
  forward(x: tf.Tensor4D, options: ForwardOptions): tf.Tensor4D
}

interface BlockClass {
  /** Output channels = planes × expansion. */
  readonly expansion: number
  /** `project`: the block's shortcut needs a 1×1 projection (stride ≠ 1 or channel change). */
  new (scope: Scope, inplanes: number, planes: number, stride: number, project: boolean): Block
}

/** Two 3×3 convs (ResNet-18/34). Registration order conv1, bn1, conv2, bn2, downsample fixes the state_dict order. */
class BasicBlock implements Block {
  static readonly expansion = 1
  private readonly conv1: Conv2d
  private readonly bn1: BatchNorm2d
  private readonly conv2: Conv2d
  private readonly bn2: BatchNorm2d
  private readonly downsample: Downsample | undefined

  constructor(
    scope: Scope,
    inplanes: number,
    planes: number,
    stride: number,
    project: boolean,
  ) {
    this.conv1 = new Conv2d(scope.child('conv1'), inplanes, planes, 3, stride, 1)
    this.bn1 = new BatchNorm2d(scope.child('bn1'), planes)
    this.conv2 = new Conv2d(scope.child('conv2'), planes, planes, 3, 1, 1)
    this.bn2 = new BatchNorm2d(scope.child('bn2'), planes)
    this.downsample = project ? new Downsample(scope.child('downsample'), inplanes, planes * BasicBlock.expansion, stride) : undefined
  }

  forward(x: tf.Tensor4D, options: ForwardOptions): tf.Tensor4D {
    let out = relu(this.bn1.forward(this.conv1.forward(x, options), options), options)
    out = this.bn2.forward(this.conv2.forward(out, options), options)
    const identity = this.downsample ? this.downsample.forward(x, options) : x
    out = relu(tf.add(out, identity), options) // (N, H/stride, W/stride, planes)
    options.onLayer?.({ type: 'BasicBlock', output: out, params: 0, trainable: false })
    return out
  }
}

/**
 * 1×1 → 3×3 → 1×1 (ResNet-50). The stride sits on the 3×3 conv ("ResNet V1.5", as torchvision does), not on the
 * first 1×1 as in the original paper.
 */
class Bottleneck implements Block {
  static readonly expansion = 4
  private readonly conv1: Conv2d
  private readonly bn1: BatchNorm2d
  private readonly conv2: Conv2d
  private readonly bn2: BatchNorm2d
  private readonly conv3: Conv2d
  private readonly bn3: BatchNorm2d
  private readonly downsample: Downsample | undefined

  constructor(
    scope: Scope,
    inplanes: number,
    planes: number,
    stride: number,
    project: boolean,
  ) {
    const width = planes // groups = 1, base_width = 64
    this.conv1 = new Conv2d(scope.child('conv1'), inplanes, width, 1, 1, 0)
    this.bn1 = new BatchNorm2d(scope.child('bn1'), width)
    this.conv2 = new Conv2d(scope.child('conv2'), width, width, 3, stride, 1)
    this.bn2 = new BatchNorm2d(scope.child('bn2'), width)
    this.conv3 = new Conv2d(scope.child('conv3'), width, planes * Bottleneck.expansion, 1, 1, 0)
    this.bn3 = new BatchNorm2d(scope.child('bn3'), planes * Bottleneck.expansion)
    this.downsample = project ? new Downsample(scope.child('downsample'), inplanes, planes * Bottleneck.expansion, stride) : undefined
  }

  forward(x: tf.Tensor4D, options: ForwardOptions): tf.Tensor4D {
    let out = relu(this.bn1.forward(this.conv1.forward(x, options), options), options)
    out = relu(this.bn2.forward(this.conv2.forward(out, options), options), options)
    out = this.bn3.forward(this.conv3.forward(out, options), options)
    const identity = this.downsample ? this.downsample.forward(x, options) : x
    out = relu(tf.add(out, identity), options) // (N, H/stride, W/stride, 4·planes)
    options.onLayer?.({ type: 'Bottleneck', output: out, params: 0, trainable: false })
    return out
  }
}

/**
 * torchvision's ResNet: stem, four stages of residual blocks, global average pool, Linear head.
 *
 * ```ts
 * const model = resnet18({ numClasses: 200, seed: 0 })
 * const logits = model.forward(tf.zeros([2, 64, 64, 3]), { training: false }) // (2, 200)
 * model.namedTensors()[0].name // 'conv1.weight'
 * ```
 */
export class ResNet {
  // Build through resnet18/34/50 or createResNet: the constructor's block classes are internal.
  readonly numClasses: number
  readonly stem: ResNetStem
  private readonly tensors: NamedTensor[] = []
  private readonly conv1: Conv2d
  private readonly bn1: BatchNorm2d
  private readonly layers: Block[][]
  private readonly fc: Linear

  constructor(block: BlockClass, blocksPerStage: readonly [number, number, number, number], options: ResNetOptions = {}) {
    const numClasses = options.numClasses ?? 1000
    const stem = options.stem ?? 'imagenet'
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`ResNet: numClasses must be a positive integer, got ${numClasses}`)
    if (stem !== 'imagenet' && stem !== 'cifar') throw new Error(`ResNet: stem must be 'imagenet' or 'cifar', got '${String(stem)}'`)
    this.numClasses = numClasses
    this.stem = stem
    const root = new Scope('', this.tensors, createRandom(options.seed))
    this.conv1 = stem === 'imagenet' ? new Conv2d(root.child('conv1'), 3, 64, 7, 2, 3) : new Conv2d(root.child('conv1'), 3, 64, 3, 1, 1)
    this.bn1 = new BatchNorm2d(root.child('bn1'), 64)
    let inplanes = 64
    const planesPerStage = [64, 128, 256, 512] as const
    this.layers = planesPerStage.map((planes, stage) => {
      // torchvision ResNet._make_layer: only the first block of a stage strides and may need a projection shortcut
      const stride = stage === 0 ? 1 : 2
      const scope = root.child(`layer${stage + 1}`)
      const blocks: Block[] = []
      for (let i = 0; i < (blocksPerStage[stage] ?? 0); i++) {
        const blockStride = i === 0 ? stride : 1
        const outChannels = planes * block.expansion
        const project = blockStride !== 1 || inplanes !== outChannels
        blocks.push(new block(scope.child(i), inplanes, planes, blockStride, project))
        inplanes = outChannels
      }
      return blocks
    })
    this.fc = new Linear(root.child('fc'), 512 * block.expansion, numClasses)
  }

  /**
   * Logits for a batch of NHWC images. Runs in a `tf.tidy`; in training mode BatchNorm running stats are updated by
   * `assign`, which also works inside `tf.variableGrads` / `tf.grad`.
   */
  forward(x: tf.Tensor4D, options: ForwardOptions): tf.Tensor2D {
    if (x.rank !== 4 || x.shape[3] !== 3) throw new Error(`ResNet.forward: expected NHWC input [N, H, W, 3], got [${x.shape.join(', ')}]`)
    return tf.tidy(() => {
      let h = relu(this.bn1.forward(this.conv1.forward(x, options), options), options) // (N, H/2, W/2, 64) imagenet stem
      if (this.stem === 'imagenet') {
        h = tf.maxPool(h, 3, 2, 1) // (N, H/4, W/4, 64); tfjs skips padded cells like torch's -inf padding
        options.onLayer?.({ type: 'MaxPool2d', output: h, params: 0, trainable: false })
      }
      for (const stage of this.layers) for (const block of stage) h = block.forward(h, options)
      const pooled = tf.mean(h, [1, 2], true) as tf.Tensor4D // (N, 1, 1, C): AdaptiveAvgPool2d((1, 1))
      options.onLayer?.({ type: 'AdaptiveAvgPool2d', output: pooled, params: 0, trainable: false })
      const flat = tf.reshape(pooled, [pooled.shape[0], pooled.shape[3]]) as tf.Tensor2D // torch.flatten(x, 1)
      return this.fc.forward(flat, options) // (N, numClasses)
    })
  }

  /** Parameters and buffers under their torchvision state_dict keys, in state_dict order. */
  namedTensors(): NamedTensor[] {
    return [...this.tensors]
  }

  /**
   * torch's `model.state_dict()`: every parameter and buffer under its PyTorch key, copied to host memory in PyTorch
   * layout, ready for `saveCheckpoint` or `torch.load`.
   */
  stateDict(): Promise<StateDict> {
    return toStateDict(this.namedTensors())
  }

  /**
   * torch's `model.load_state_dict(sd, strict)`: `source` is a state dict or a checkpoint holding one under `state_dict`
   * (whatever `loadCheckpoint` returns). Missing and unexpected keys are errors unless `strict: false`; shape and dtype
   * mismatches always are; every problem is listed in one error and nothing is assigned then.
   *
   * ```ts
   * model.loadStateDict(await loadCheckpoint('checkpoint.pth.tar'))
   * ```
   */
  loadStateDict(source: StateDictSource, options: { strict?: boolean } = {}): LoadStateDictResult {
    return loadStateDict(this.namedTensors(), source, { strict: options.strict ?? true, modelName: 'ResNet' })
  }

  /** The trainable tensors only (`model.parameters()` in torch). */
  parameters(): NamedTensor[] {
    return this.tensors.filter((t) => t.kind === 'parameter')
  }

  /** Total number of parameter elements (torch: `sum(p.numel() for p in model.parameters())`). */
  parameterCount(): number {
    return this.parameters().reduce((sum, t) => sum + t.value.size, 0)
  }

  /** Frees every variable; the model is unusable afterwards. */
  dispose(): void {
    for (const t of this.tensors) t.value.dispose()
    this.tensors.length = 0
  }
}

/**
 * ResNet-18: BasicBlock × [2, 2, 2, 2], 11,689,512 parameters at 1000 classes.
 *
 * ```ts
 * resnet18({ numClasses: 200 }).parameterCount() // 11279112, as torchvision.models.resnet18(num_classes=200)
 * ```
 */
export function resnet18(options: ResNetOptions = {}): ResNet {
  return new ResNet(BasicBlock, [2, 2, 2, 2], options)
}

/**
 * ResNet-34: BasicBlock × [3, 4, 6, 3], 21,797,672 parameters at 1000 classes.
 *
 * ```ts
 * const model = resnet34({ stem: 'cifar', seed: 1 }) // 3×3/1 stem for small images
 * ```
 */
export function resnet34(options: ResNetOptions = {}): ResNet {
  return new ResNet(BasicBlock, [3, 4, 6, 3], options)
}

/**
 * ResNet-50: Bottleneck × [3, 4, 6, 3], 25,557,032 parameters at 1000 classes.
 *
 * ```ts
 * resnet50().namedTensors().at(-2)?.value.shape // [2048, 1000]: fc.weight, [in, out]
 * ```
 */
export function resnet50(options: ResNetOptions = {}): ResNet {
  return new ResNet(Bottleneck, [3, 4, 6, 3], options)
}

/** Every architecture by its torchvision name; CLIs derive their `--arch` choices from it. */
export const resnetArchs = { resnet18, resnet34, resnet50 } as const

export type ResNetArch = keyof typeof resnetArchs

/**
 * Builds an architecture by name, with an error that lists the valid names.
 *
 * ```ts
 * const model = createResNet('resnet18', { numClasses: 200 })
 * ```
 */
export function createResNet(arch: string, options: ResNetOptions = {}): ResNet {
  if (!Object.hasOwn(resnetArchs, arch)) {
    throw new Error(`unknown arch '${arch}'; choose one of: ${Object.keys(resnetArchs).join(', ')}`)
  }
  return resnetArchs[arch as ResNetArch](options)
}
