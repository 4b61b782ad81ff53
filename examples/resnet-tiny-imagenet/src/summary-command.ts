/**
 * `pnpm resnet summary`: torchsummary's layer table (`summary(model, (3, 64, 64))` in the experiment report) for an
 * architecture of @tinylab/resnet-models. stdout carries the table only, so it can be diffed against torchsummary.
 */
import { initBackend, type Device } from '@tinylab/multi-device'
import { createResNet, formatSummary, resnetArchs, summary, type ResNetStem } from '@tinylab/resnet-models'
import { flagTable, helpText, parseFlags } from '@tinylab/cli-flags'
import type { Subcommand } from './subcommand'

const stems: readonly ResNetStem[] = ['imagenet', 'cifar']
const backends: readonly Device[] = ['auto', 'cpu', 'wasm', 'webgpu']

const FLAGS = flagTable({
  arch: { names: ['-a', '--arch'], type: 'string', choices: Object.keys(resnetArchs), default: 'resnet18', help: 'model architecture' },
  num_classes: { names: ['--num-classes'], type: 'positive int', metavar: 'N', default: 200, defaultHelp: '200, Tiny-ImageNet', help: 'classes of the final Linear layer' },
  image_size: { names: ['--image-size'], type: 'positive int', metavar: 'S', default: 64, help: 'input is 3 x S x S' },
  stem: { names: ['--stem'], type: 'string', choices: stems, default: 'imagenet', help: '7x7/2 conv + max-pool, or 3x3/1 conv without pool' },
  backend: { names: ['--backend'], type: 'string', choices: backends, default: 'auto', help: "TensorFlow.js backend; replaces imagenet/main.py's --gpu" },
  help: { names: ['-h', '--help'], type: 'bool', help: 'show this help' },
})
const HELP = helpText(
  'pnpm resnet summary [-a ARCH] [--num-classes N] [--image-size S] [--stem STEM] [--backend BACKEND]',
  "Print torchsummary's table (layers, output shapes, parameter counts, size estimates) for a ResNet.",
  FLAGS,
)

async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, FLAGS)
  if (values.help) {
    console.log(HELP)
    return 0
  }
  const { arch, num_classes: numClasses, image_size: imageSize, stem, backend: device } = values

  await initBackend({ device })
  const model = createResNet(arch, { numClasses, stem, seed: 0 })
  try {
    process.stdout.write(formatSummary(summary(model, [3, imageSize, imageSize])))
  } finally {
    model.dispose()
  }
  return 0
}

export const summaryCommand: Subcommand = { describe: "print torchsummary's layer table for a ResNet", run }
