import { describe, expect, it } from 'vitest'
import { formatFixed2, formatThousands } from './_format'

// Expected strings are what CPython 3 prints for '{:,}'.format(n) and '%0.2f' % x.
describe('formatThousands', () => {
  it.each([
    [0, '0'],
    [128, '128'],
    [9408, '9,408'],
    [11279112, '11,279,112'],
    [-1234567, '-1,234,567'],
  ])('%d -> %s', (n, s) => expect(formatThousands(n)).toBe(s))
})

describe('formatFixed2', () => {
  it.each([
    [0.046875, '0.05'],
    [43.02639770507812, '43.03'],
    [0.125, '0.12'], // exact tie: half to even, where (0.125).toFixed(2) says '0.13'
    [0.375, '0.38'],
    [2.675, '2.67'], // not a tie: the double is 2.67499999…
    [1.005, '1.00'],
    [5.125, '5.12'],
    [0, '0.00'],
  ])('%d -> %s', (x, s) => expect(formatFixed2(x)).toBe(s))
})
