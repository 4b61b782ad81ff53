import { describe, expect, it } from 'vitest'
import { runEpochs, type RunEpochsOptions } from './run-epochs'
import type { LoopPosition } from './training-state'

/** A scripted run: epochs of `total` batches with the given validation accuracies; records every call in `log`. */
/** `stopAt`: the logged event after which Ctrl-C arrives ('train 1' stops that epoch at batch 2). */
function scripted(accs: (number | undefined)[], total = 4, stopAt?: string) {
  const log: string[] = []
  let stopped = false
  const saves: [LoopPosition, boolean][] = []
  let lr = 0.1
  const o: RunEpochsOptions = {
    position: { epoch: 0, batch: 0, globalStep: 0, bestAcc1: 0, meters: undefined },
    epochs: accs.length,
    lr: () => lr,
    scheduler: { step: () => void (lr /= 10) },
    stop: () => stopped,
    train: async (epoch, startBatch, sums) => {
      log.push(`train ${epoch} from ${startBatch}${sums ? ` sums ${sums.count}` : ''}`)
      if (stopAt === `train ${epoch}`) stopped = true
      const batch = stopped ? 2 : total
      o.position.globalStep += batch - startBatch
      return { batch, total, loss: 1, acc1: 50, sums: { loss: 1, acc1: 2, acc5: 3, count: batch } }
    },
    validate: async () => {
      const acc1 = accs[Number(log.at(-1)?.split(' ')[1])]
      log.push(`validate ${acc1}`)
      return acc1 === undefined ? undefined : { loss: 1, acc1 }
    },
    save: async (p, isBest) => void saves.push([{ ...p }, isBest]),
    onEpochEnd: (epoch, _t, val, epochLr) => {
      log.push(`end ${epoch} acc ${val.acc1} lr ${epochLr}`)
      if (stopAt === `end ${epoch}`) stopped = true
    },
  }
  return { o, log, saves }
}

describe('runEpochs', () => {
  it('trains, validates, steps the schedule and saves each epoch; tracks the best accuracy', async () => {
    const { o, log, saves } = scripted([10, 30, 20])
    expect(await runEpochs(o)).toEqual({ stopped: undefined })
    expect(log).toEqual(['train 0 from 0', 'validate 10', 'end 0 acc 10 lr 0.1', 'train 1 from 0', 'validate 30', 'end 1 acc 30 lr 0.01', 'train 2 from 0', 'validate 20', 'end 2 acc 20 lr 0.001'])
    expect(saves.map(([p, best]) => [p.epoch, p.batch, p.globalStep, p.bestAcc1, best])).toEqual([[1, 0, 4, 10, true], [2, 0, 8, 30, true], [3, 0, 12, 30, false]])
    expect(o.position.bestAcc1).toBe(30)
  })

  it('resumes mid-epoch with the saved meters, and only the first epoch starts late', async () => {
    const { o, log } = scripted([10, 30])
    o.position = { epoch: 0, batch: 3, globalStep: 3, bestAcc1: 5, meters: { loss: 3, acc1: 3, acc5: 3, count: 3 } }
    await runEpochs(o)
    expect(log.filter((l) => l.startsWith('train'))).toEqual(['train 0 from 3 sums 3', 'train 1 from 0 sums 3'])
  })

  it('a stop during training saves the next batch and its meters; the epoch and schedule stay', async () => {
    const { o, log, saves } = scripted([10, 30], 4, 'train 1')
    expect(await runEpochs(o)).toEqual({ stopped: 'training', epoch: 1, batch: 2 })
    expect(log.at(-1)).toBe('train 1 from 0')
    expect(saves.at(-1)).toEqual([{ epoch: 1, batch: 2, globalStep: 6, bestAcc1: 10, meters: { loss: 1, acc1: 2, acc5: 3, count: 2 } }, false])
    expect(o.lr()).toBe(0.01)
  })

  it('a stop during validation saves batch = total (validation redone on resume); a stop after an epoch ends after its save', async () => {
    const v = scripted([10, undefined])
    expect(await runEpochs(v.o)).toEqual({ stopped: 'validation', epoch: 1, batch: 4 })
    expect(v.saves.at(-1)?.[0]).toMatchObject({ epoch: 1, batch: 4, meters: { count: 4 } })
    const a = scripted([10, 30], 4, 'end 0')
    expect(await runEpochs(a.o)).toEqual({ stopped: 'after-epoch', epoch: 0, batch: 0 })
    expect(a.saves.map(([p]) => p.epoch)).toEqual([1])
  })
})
