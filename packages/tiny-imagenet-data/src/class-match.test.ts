import { describe, expect, it } from 'vitest'
import { classChange, classesOf, sameClasses } from './class-match'

describe('class selections', () => {
  it('classesOf reads a list of wnids and nothing else', () => {
    expect(classesOf(['n02', 'n01'])).toEqual(['n02', 'n01'])
    expect(classesOf(['n01', 3])).toBeUndefined()
    expect(classesOf('n01')).toBeUndefined()
    expect(classesOf(undefined)).toBeUndefined()
  })

  it('two selections label alike when their sorted lists match (ImageFolder order), whatever order they are given in', () => {
    expect(sameClasses(['n02', 'n01'], ['n01', 'n02'])).toBe(true)
    expect(sameClasses(['n01', 'n02'], ['n01', 'n02', 'n03'])).toBe(false)
    expect(sameClasses(['n01', 'n01'], ['n01', 'n02'])).toBe(false)
  })

  it('classChange names what is added and dropped, four wnids then a count', () => {
    expect(classChange(['n01', 'n02'], ['n02', 'n01'])).toBe('')
    expect(classChange(['n01', 'n02'], ['n02', 'n03'])).toBe('adds n03 and drops n01')
    expect(classChange(['n01'], ['n01', 'n02', 'n03', 'n04', 'n05', 'n06', 'n07'])).toBe('adds n02, n03, n04, n05 and 2 more')
    expect(classChange(['n01', 'n02', 'n03'], ['n03'])).toBe('drops n01, n02')
  })
})
