/**
 * Whether a classifier trained on one selection of classes can go on with another: labels follow the sorted wnids
 * (torchvision ImageFolder, `readClasses`), so a head's row k means the k-th wnid of the selection it was trained on.
 */

/** The wnids a checkpoint records (a list of strings under its `classes` key), or undefined for anything else. */
export function classesOf(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((c) => typeof c === 'string') ? (value as string[]) : undefined
}

/** Two selections label alike exactly when their sorted wnid lists match. */
export function sameClasses(a: readonly string[], b: readonly string[]): boolean {
  const sa = [...a].sort()
  const sb = [...b].sort()
  return sa.length === sb.length && sa.every((w, i) => w === sb[i])
}

function listSome(wnids: string[]): string {
  return wnids.length <= 4 ? wnids.join(', ') : `${wnids.slice(0, 4).join(', ')} and ${wnids.length - 4} more`
}

/**
 * What `selected` changes from `saved`, in words for an error: `adds n01, n02 and drops n03` (four wnids named, then a
 * count); '' when the two label alike.
 *
 * @example
 * classChange(['n01', 'n02'], ['n02', 'n03']) // 'adds n03 and drops n01'
 */
export function classChange(saved: readonly string[], selected: readonly string[]): string {
  if (sameClasses(saved, selected)) return ''
  const added = selected.filter((w) => !saved.includes(w))
  const dropped = saved.filter((w) => !selected.includes(w))
  return [added.length ? `adds ${listSome(added)}` : '', dropped.length ? `drops ${listSome(dropped)}` : ''].filter(Boolean).join(' and ')
}
