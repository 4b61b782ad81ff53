import { existsSync, readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'

export type Split = 'train' | 'val' | 'test'

/** Bounding box in pixels, as the dataset writes it: x0 y0 x1 y1. */
export type Box = [number, number, number, number]

/** One image: absolute path, class index (-1 for the unlabelled test split), its wnid, its box when known. */
export interface Sample {
  path: string
  label: number
  wnid: string | undefined
  box: Box | undefined
}

export interface ClassSelection {
  /** Keep only these wnids (any order; labels follow their sorted order). */
  classes?: string[]
  /** Keep the first `numClasses` wnids of wnids.txt (file order), e.g. 10 for the subset's fully populated classes. */
  numClasses?: number
}

export interface TinyImageNetClasses {
  /** Selected wnids, sorted: label i is `wnids[i]` (torchvision ImageFolder: `classes.sort()`). */
  wnids: string[]
  /** Human-readable names from words.txt, same order as `wnids`. */
  names: string[]
  /** wnid -> label for the selection. */
  index: Map<string, number>
  /** Every wnid of wnids.txt: val annotations naming a wnid outside it are errors, outside the selection are skipped. */
  all: Set<string>
}

export interface ReadSplitOptions extends ClassSelection {
  /** Skip (and count) listed files that are missing instead of failing. Default false. */
  skipBad?: boolean
}

export interface SplitListing {
  classes: TinyImageNetClasses
  samples: Sample[]
  /** Files skipped under `skipBad`, with the reason. */
  skipped: { file: string; reason: string }[]
}

function mustExist(p: string, what: string): void {
  if (!existsSync(p)) throw new Error(`${p}: ${what} not found (expected the Tiny-ImageNet layout: wnids.txt, words.txt, train/, val/, test/)`)
}

function readText(file: string): string[] {
  mustExist(file, 'file')
  return readFileSync(file, 'utf8').split(/\r?\n/)
}

/**
 * Classes of a Tiny-ImageNet folder: wnids.txt (one wnid per line), names from words.txt (`wnid<TAB>names`).
 * Labels follow the SORTED wnids, as ImageFolder assigns them, so a model trained here agrees with PyTorch's
 * `ImageFolder(root/train)`. With a selection, labels are 0..k-1 in the sorted order of the selected wnids.
 *
 * @example
 * ```ts
 * const c = readClasses('/data/tiny-imagenet-200', { numClasses: 10 })
 * c.wnids.length // 10; c.names[0] === 'European fire salamander, Salamandra salamandra'
 * ```
 */
export function readClasses(root: string, selection: ClassSelection = {}): TinyImageNetClasses {
  mustExist(root, 'dataset folder')
  const wnidsFile = path.join(root, 'wnids.txt')
  const listed: string[] = []
  readText(wnidsFile).forEach((raw, i) => {
    const line = raw.trim()
    if (line === '') return
    if (!/^n\d{8}$/.test(line)) throw new Error(`${wnidsFile}:${i + 1}: not a WordNet id: ${JSON.stringify(raw)}`)
    listed.push(line)
  })
  const all = new Set(listed)
  if (all.size !== listed.length) throw new Error(`${wnidsFile}: duplicate wnids`)
  let chosen = listed
  if (selection.classes) {
    for (const w of selection.classes) if (!all.has(w)) throw new Error(`classes: ${w} is not in ${wnidsFile}`)
    chosen = [...new Set(selection.classes)]
  } else if (selection.numClasses !== undefined) {
    const k = selection.numClasses
    if (!Number.isInteger(k) || k < 1 || k > listed.length) throw new Error(`numClasses must be an integer in [1, ${listed.length}], got ${k}`)
    chosen = listed.slice(0, k)
  }
  const wnids = [...chosen].sort()
  const wordsFile = path.join(root, 'words.txt')
  const words = new Map<string, string>()
  if (existsSync(wordsFile)) {
    for (const line of readText(wordsFile)) {
      const tab = line.indexOf('\t')
      if (tab > 0) words.set(line.slice(0, tab), line.slice(tab + 1))
    }
  }
  return { wnids, names: wnids.map((w) => words.get(w) ?? w), index: new Map(wnids.map((w, i) => [w, i])), all }
}

const isJpeg = (name: string): boolean => /\.jpe?g$/i.test(name)

function parseBox(parts: string[], where: string): Box {
  const nums = parts.map(Number)
  if (nums.length !== 4 || nums.some((n) => !Number.isInteger(n))) throw new Error(`${where}: expected 4 integer box coordinates, got ${JSON.stringify(parts.join(' '))}`)
  return nums as Box
}

/** `<wnid>_boxes.txt` -> file name -> box; a missing file gives no boxes (they are optional for classification). */
function readBoxes(file: string): Map<string, Box> {
  const boxes = new Map<string, Box>()
  if (!existsSync(file)) return boxes
  readText(file).forEach((line, i) => {
    if (line.trim() === '') return
    const [name, ...coords] = line.trim().split(/\s+/)
    boxes.set(name as string, parseBox(coords, `${file}:${i + 1}`))
  })
  return boxes
}

function listTrain(root: string, classes: TinyImageNetClasses, skipBad: boolean, skipped: SplitListing['skipped']): Sample[] {
  const samples: Sample[] = []
  const trainDir = path.join(root, 'train')
  mustExist(trainDir, 'train folder')
  const empty: string[] = []
  for (const wnid of classes.wnids) {
    const dir = path.join(trainDir, wnid, 'images')
    if (!existsSync(dir)) {
      if (!skipBad) throw new Error(`${dir}: folder of class ${wnid} not found`)
      skipped.push({ file: dir, reason: 'class folder not found' })
      continue
    }
    const boxes = readBoxes(path.join(trainDir, wnid, `${wnid}_boxes.txt`))
    // ImageFolder walks each class folder in sorted file-name order.
    const names = readdirSync(dir).filter(isJpeg).sort()
    if (names.length === 0) empty.push(wnid)
    for (const name of names) {
      samples.push({ path: path.join(dir, name), label: classes.index.get(wnid) as number, wnid, box: boxes.get(name) })
    }
  }
  // A class without images would keep its label and output unit but never be trained (ImageFolder refuses it too).
  if (empty.length > 0) {
    const where = empty.length === 1 ? path.join(trainDir, empty[0] as string, 'images') : trainDir
    if (!skipBad) throw new Error(`${where}: found no .JPEG file for the class${empty.length > 1 ? 'es' : ''} ${empty.join(', ')} (each class needs at least one image in train/<wnid>/images)`)
    for (const wnid of empty) skipped.push({ file: path.join(trainDir, wnid, 'images'), reason: 'class folder holds no .JPEG file' })
  }
  return samples
}

function listVal(root: string, classes: TinyImageNetClasses, skipBad: boolean, skipped: SplitListing['skipped']): Sample[] {
  const annotations = path.join(root, 'val', 'val_annotations.txt')
  const imagesDir = path.join(root, 'val', 'images')
  mustExist(imagesDir, 'val/images folder')
  const present = new Set(readdirSync(imagesDir))
  const seen = new Map<string, number>()
  const samples: Sample[] = []
  readText(annotations).forEach((line, i) => {
    if (line.trim() === '') return
    const where = `${annotations}:${i + 1}`
    const [name, wnid, ...coords] = line.split('\t')
    if (!name || !wnid) throw new Error(`${where}: expected "<file>\\t<wnid>\\t<x0>\\t<y0>\\t<x1>\\t<y1>", got ${JSON.stringify(line)}`)
    if (!classes.all.has(wnid)) throw new Error(`${where}: unknown wnid ${wnid} for ${name} (not in wnids.txt)`)
    const first = seen.get(name)
    if (first !== undefined) throw new Error(`${where}: ${name} is annotated twice (first on line ${first})`)
    seen.set(name, i + 1)
    const label = classes.index.get(wnid)
    if (label === undefined) return
    const box = coords.length > 0 ? parseBox(coords.map((c) => c.trim()), where) : undefined
    if (!present.has(name)) {
      if (!skipBad) throw new Error(`${where}: ${path.join(imagesDir, name)} not found`)
      skipped.push({ file: path.join(imagesDir, name), reason: `listed on ${where} but missing` })
      return
    }
    samples.push({ path: path.join(imagesDir, name), label, wnid, box })
  })
  return samples
}

function listTest(root: string): Sample[] {
  const dir = path.join(root, 'test', 'images')
  mustExist(dir, 'test/images folder')
  // Natural order (test_2 before test_10) so sample i is test_i, as the official submission format expects.
  const names = readdirSync(dir).filter(isJpeg).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
  return names.map((name) => ({ path: path.join(dir, name), label: -1, wnid: undefined, box: undefined }))
}

/**
 * The images of one split with their labels, read straight from the native layout (nothing is copied, so a read-only
 * dataset works): train from `train/<wnid>/images`, val from `val/val_annotations.txt`, test unlabelled (label -1).
 * A missing folder or file, an unknown wnid or a malformed line is an Error naming the file and line; with
 * `skipBad`, missing files are skipped and listed in `skipped` instead.
 *
 * @example
 * ```ts
 * const { samples, classes } = readSplit('/data/tiny-imagenet-200', 'val')
 * samples.length // 10000; samples[0] = { path: '.../val/images/val_0.JPEG', label: 107, wnid: 'n03444034', box: [0, 32, 44, 62] }
 * ```
 */
export function readSplit(root: string, split: Split, options: ReadSplitOptions = {}): SplitListing {
  const classes = readClasses(root, options)
  const skipped: SplitListing['skipped'] = []
  const skipBad = options.skipBad ?? false
  const samples = split === 'train' ? listTrain(root, classes, skipBad, skipped) : split === 'val' ? listVal(root, classes, skipBad, skipped) : listTest(root)
  return { classes, samples, skipped }
}
