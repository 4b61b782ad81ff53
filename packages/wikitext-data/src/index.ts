export { Dictionary } from './dictionary'
export { Corpus, lineWords, readLines, tokenize } from './corpus'
export { batchify, batchStarts, getBatch, getBatchArrays, numBatches, toTensor } from './batchify'
export type { TokenMatrix } from './batchify'
export { WIKITEXT2_FILES, WIKITEXT2_RAW_BASE_URL, downloadWikiText } from './download'
export type { DownloadWikiTextOptions, DownloadWikiTextResult } from './download'
// Moved to @tinylab/dataset-download; re-exported so code written against earlier releases keeps working.
export { downloadFile, extractZipAtomic, formatProgress, hashFile } from '@tinylab/dataset-download'
export type { DownloadFileOptions, DownloadFileResult, DownloadProgress, ExpectedFile, ExtractZipResult } from '@tinylab/dataset-download'
