/** WGSL of TinylabSGDMomentum (kernels/SgdMomentum.ts): one thread per element, param' in result, buffer' extra. */
import { extraOutputDeclarations, slotNames } from './_program'
import type { TinylabProgram } from './_program'

export class SgdMomentumProgram implements TinylabProgram {
  readonly outputShape: number[]
  readonly dispatchLayout: { x: number[] }
  readonly dispatch: [number, number, number]
  readonly workgroupSize: [number, number, number] = [256, 1, 1]
  readonly size = true
  readonly uniforms = 'lr : f32, momentum : f32, dampening : f32, weightDecay : f32, nesterov : f32,'
  readonly extraOutputNames = ['nextBuffer'] as const
  readonly variableNames = slotNames(['param', 'grad', 'buffer'], this.extraOutputNames)
  shaderKey = 'tinylabSgdMomentum'

  constructor(shape: number[]) {
    this.outputShape = shape
    this.dispatchLayout = { x: shape.map((_, i) => i) }
    this.dispatch = [Math.ceil(shape.reduce((a, b) => a * b, 1) / 256), 1, 1]
  }

  /** torch.optim.SGD (_single_tensor_sgd) with a momentum buffer, in the composed path's operation order. */
  getUserCode(): string {
    return `
    ${extraOutputDeclarations(3, this.extraOutputNames)}
    fn main(index: i32) {
      if (index < uniforms.size) {
        let p = param[index];
        let d = grad[index] + p * uniforms.weightDecay;
        let buf = buffer[index] * uniforms.momentum + d * (1.0 - uniforms.dampening);
        var step = buf;
        if (uniforms.nesterov != 0.0) {
          step = d + buf * uniforms.momentum;
        }
        result[index] = p - step * uniforms.lr;
        nextBuffer[index] = buf;
      }
    }`
  }
}
