export { formatPython, pyFormat } from './python-format'
export { AverageMeter, Summary } from './average-meter'
export type { SummaryType } from './average-meter'
export { ProgressMeter } from './progress-meter'
