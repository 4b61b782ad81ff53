/** WGSL of TinylabBatchNormRunningStats (kernels/BatchNormRunningStats.ts): one thread per channel, both outputs. */
import { extraOutputDeclarations, slotNames } from './_program'
import type { TinylabProgram } from './_program'

export class BatchNormRunningStatsProgram implements TinylabProgram {
  readonly outputShape: number[]
  readonly dispatchLayout = { x: [0] }
  readonly dispatch: [number, number, number]
  readonly workgroupSize: [number, number, number] = [64, 1, 1]
  readonly size = true
  readonly uniforms = 'momentum : f32, unbias : f32,'
  readonly extraOutputNames = ['nextVar'] as const
  readonly variableNames = slotNames(['runningMean', 'runningVar', 'mean', 'variance'], this.extraOutputNames)
  shaderKey = 'tinylabBatchNormRunningStats'

  constructor(channels: number) {
    this.outputShape = [channels]
    this.dispatch = [Math.ceil(channels / 64), 1, 1]
  }

  /** The composed update's operations in its order: keep·running + (batch·unbias)·momentum. */
  getUserCode(): string {
    return `
    ${extraOutputDeclarations(4, this.extraOutputNames)}
    fn main(index: i32) {
      if (index < uniforms.size) {
        let keep = 1.0 - uniforms.momentum;
        result[index] = runningMean[index] * keep + mean[index] * uniforms.momentum;
        nextVar[index] = runningVar[index] * keep + (variance[index] * uniforms.unbias) * uniforms.momentum;
      }
    }`
  }
}
