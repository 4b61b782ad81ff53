/**
 * WGSL of TinylabSGDMomentum and TinylabSGDMomentumMulti (kernels/SgdMomentum*.ts): one thread per element of up to
 * PARAMS_PER_DISPATCH parameters laid end to end. Parameter i reads param_i, grad_i, buffer_i and writes param_i'
 * and buffer_i'; param_0' is tfjs's `result`, the others are extra outputs (programs/_program.ts).
 */
import { extraOutputDeclarations, slotNames } from './_program'
import type { TinylabProgram } from './_program'

/** 5 storage buffers per parameter (3 read, 2 written): 3 parameters fit WebGPU-on-Vulkan's usual 16. */
export function paramsPerDispatch(maxStorageBuffers: number): number {
  return Math.max(1, Math.floor(maxStorageBuffers / 5))
}

export class SgdMomentumProgram implements TinylabProgram {
  readonly outputShape: number[]
  readonly dispatchLayout: { x: number[] }
  readonly dispatch: [number, number, number]
  readonly workgroupSize: [number, number, number] = [256, 1, 1]
  readonly uniforms: string
  readonly extraOutputNames: readonly string[]
  readonly variableNames: string[]
  shaderKey: string
  private readonly count: number

  /** `sizes`: the element counts of the parameters (all > 0); `outputShape`: the first parameter's shape. */
  constructor(sizes: number[], outputShape: number[]) {
    this.count = sizes.length
    const total = sizes.reduce((a, b) => a + b, 0)
    this.outputShape = outputShape
    this.dispatchLayout = { x: outputShape.map((_, i) => i) }
    this.dispatch = [Math.ceil(total / 256), 1, 1]
    const ids = sizes.map((_, i) => i)
    this.extraOutputNames = ids.flatMap((i) => (i === 0 ? ['nextBuffer0'] : [`nextParam${i}`, `nextBuffer${i}`]))
    this.variableNames = slotNames(ids.flatMap((i) => [`param${i}`, `grad${i}`, `buffer${i}`]), this.extraOutputNames)
    this.uniforms = `lr : f32, momentum : f32, dampening : f32, weightDecay : f32, nesterov : f32, ${ids.map((i) => `end${i} : i32,`).join(' ')}`
    this.shaderKey = `tinylabSgdMomentum${this.count}`
  }

  /** torch.optim.SGD (_single_tensor_sgd) in the composed path's operation order; momentum 0 reads no buffer. */
  getUserCode(): string {
    const ids = Array.from({ length: this.count }, (_, i) => i)
    const branches = ids.map((i) => {
      const start = i === 0 ? '0' : `uniforms.end${i - 1}`
      const writeParam = i === 0 ? 'result' : `nextParam${i}`
      return `if (index < uniforms.end${i}) {
          let j = index - ${start};
          let r = sgdStep(param${i}[j], grad${i}[j], buffer${i}[j]);
          ${writeParam}[j] = r.x;
          nextBuffer${i}[j] = r.y;
        }`
    })
    return `
    ${extraOutputDeclarations(this.count * 3, this.extraOutputNames)}
    // (param', buffer') of one element.
    fn sgdStep(p: f32, g: f32, b: f32) -> vec2<f32> {
      let d = g + p * uniforms.weightDecay;
      var buf = d;
      if (uniforms.momentum != 0.0) {
        buf = b * uniforms.momentum + d * (1.0 - uniforms.dampening);
      }
      var s = buf;
      if (uniforms.nesterov != 0.0) {
        s = d + buf * uniforms.momentum;
      }
      return vec2<f32>(p - s * uniforms.lr, buf);
    }
    fn main(index: i32) {
      ${branches.join(' else ')}
    }`
  }
}
