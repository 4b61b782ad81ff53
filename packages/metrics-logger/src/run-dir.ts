import { hostname } from 'node:os'

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const
const two = (n: number) => String(n).padStart(2, '0')

/**
 * The reference's run folder name, `<Mon><dd>_<HH-MM-SS>_<suffix>` in local time: torch's SummaryWriter default is
 * `datetime.now().strftime('%b%d_%H-%M-%S') + '_' + socket.gethostname() + comment`; the reference uses the arch.
 *
 * @example
 * runDirName('resnet18', new Date(2026, 10, 28, 1, 2, 3))  // 'Nov28_01-02-03_resnet18'
 */
export function runDirName(suffix: string, date: Date = new Date()): string {
  const stamp = `${MONTHS[date.getMonth()]}${two(date.getDate())}_${two(date.getHours())}-${two(date.getMinutes())}-${two(date.getSeconds())}`
  return suffix ? `${stamp}_${suffix}` : stamp
}

/**
 * TensorBoard's event file name as torch writes it: `events.out.tfevents.<10-digit secs>.<host>.<pid>.<uid>`
 * (tensorboard/summary/writer/event_file_writer.py). TensorBoard only requires the `events.out.tfevents` prefix.
 */
export function eventFileName(wallTimeSecs: number, host = hostname(), pid = process.pid, uid = 0): string {
  return `events.out.tfevents.${String(Math.floor(wallTimeSecs)).padStart(10, '0')}.${host}.${pid}.${uid}`
}
