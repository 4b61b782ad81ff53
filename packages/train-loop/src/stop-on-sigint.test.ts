import { afterEach, describe, expect, it, vi } from 'vitest'
import { StopOnSigint } from './stop-on-sigint'

afterEach(() => vi.restoreAllMocks())

describe('StopOnSigint', () => {
  it('first Ctrl-C requests a stop, the second exits with 130; nothing is caught before listen() or after close()', () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never)
    const s = new StopOnSigint({ first: 'stopping after this step', second: 'aborting' })
    const before = process.listenerCount('SIGINT')
    s.listen()
    expect(process.listenerCount('SIGINT')).toBe(before + 1)
    process.emit('SIGINT')
    expect(s.requested).toBe(true)
    expect(exit).not.toHaveBeenCalled()
    process.emit('SIGINT')
    expect(exit).toHaveBeenCalledWith(130)
    expect(errors.mock.calls.map((c) => c[0])).toEqual(['stopping after this step', 'aborting'])
    s.close()
    expect(process.listenerCount('SIGINT')).toBe(before)
  })
})
