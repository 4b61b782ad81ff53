// `tsc --noEmit` on a consumer's file alone (fixtures/consumer-types.ts, with the workspace's compiler options):
// `model.loadStateDict(await loadCheckpoint(p))` type-checks with no cast, and a non-dict is rejected. Slow: one full
// tsc run (~20 s).
import { typecheckAlone } from '@tinylab/test-utils/tsc'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

it('tsc accepts model.loadStateDict(await loadCheckpoint(p)) with no cast, and rejects a non-dict', async () => {
  expect(await typecheckAlone(fileURLToPath(new URL('./fixtures/consumer-types.ts', import.meta.url)))).toEqual({ code: 0, stdout: '' })
})
