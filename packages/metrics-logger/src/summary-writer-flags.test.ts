import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { SummaryWriter } from './summary-writer'

const tmp = mkdtempSync(path.join(tmpdir(), 'writer-flags-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('SummaryWriter.addFlags', () => {
  it('writes hparams.json (camelCase flags, then the extra values) and the args text table', () => {
    const writer = new SummaryWriter({ runDir: path.join(tmp, 'run'), flushOnExit: false })
    writer.addFlags({ batch_size: 32, lr_schedule: 'cosine', resume: undefined }, { numClasses: 3, resumedFrom: null })
    writer.close()
    expect(readFileSync(path.join(tmp, 'run', 'hparams.json'), 'utf8')).toBe('{\n  "batchSize": 32,\n  "lrSchedule": "cosine",\n  "numClasses": 3,\n  "resumedFrom": null\n}\n')
    const events = readFileSync(writer.eventFile).toString('latin1')
    expect(events).toContain('| flag | value |\n|---|---|\n| batchSize | 32 |\n| lrSchedule | "cosine" |\n| resume | undefined |')
  })
})
