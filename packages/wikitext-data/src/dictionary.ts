/**
 * Word <-> id table, as `Dictionary` in pytorch/examples word_language_model/data.py: ids are given in order of first
 * appearance, so the same files always give the same ids (`<eos>` is 0 on WikiText-2 because the first line is empty).
 *
 * @example
 * ```ts
 * const d = new Dictionary()
 * d.addWord('hello') // 0
 * d.addWord('world') // 1
 * d.addWord('hello') // 0
 * d.length           // 2
 * ```
 */
export class Dictionary {
  readonly word2idx = new Map<string, number>()
  readonly idx2word: string[] = []

  /** Id of `word`, adding it at the end when new (data.py `add_word`). */
  addWord(word: string): number {
    let id = this.word2idx.get(word)
    if (id === undefined) {
      id = this.idx2word.length
      this.idx2word.push(word)
      this.word2idx.set(word, id)
    }
    return id
  }

  /** Id of a known word; throws for unknown words (data.py raises KeyError too). */
  idOf(word: string): number {
    const id = this.word2idx.get(word)
    if (id === undefined) throw new Error(`word not in dictionary: ${JSON.stringify(word)}`)
    return id
  }

  /** Vocabulary size (data.py `__len__`). */
  get length(): number {
    return this.idx2word.length
  }
}
