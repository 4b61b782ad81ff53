import { EventType, HParamsPluginDataType } from './_tensorboard-proto'

// Messages as plain objects with the protos' field names (src/_tensorboard-proto.ts); protobufjs encodes them.

/** One `Summary.Value { tag = 1; metadata = 9; simple_value = 2 | histo = 5 | tensor = 8 }`. */
export interface SummaryValue {
  tag: string
  metadata?: { plugin_data: { plugin_name: string; content?: Uint8Array } }
  simple_value?: number
  histo?: { min: number; max: number; num: number; sum: number; sum_squares: number; bucket_limit: number[]; bucket: number[] }
  tensor?: { dtype: number; tensor_shape: { dim: { size: number }[] }; string_val: Uint8Array[] }
}

/** `Event { wall_time = 1; step = 2; file_version = 3 | summary = 5 }`. */
export function encodeEvent(event: { wallTime: number; step?: number; fileVersion?: string; values?: readonly SummaryValue[] }): Uint8Array {
  const message: Record<string, unknown> = { wall_time: event.wallTime }
  // proto3 leaves a zero step out, as TensorBoard's writers do.
  if (event.step) message.step = event.step
  if (event.fileVersion !== undefined) message.file_version = event.fileVersion
  if (event.values) message.summary = { value: event.values }
  return EventType.encode(EventType.fromObject(message)).finish()
}

function pluginMetadata(pluginName: string, content?: Uint8Array): SummaryValue['metadata'] {
  return { plugin_data: content === undefined ? { plugin_name: pluginName } : { plugin_name: pluginName, content } }
}

/** `Summary.Value { tag = 1; simple_value = 2 }`, what torch's `add_scalar` writes. */
export function scalarValue(tag: string, value: number): SummaryValue {
  return { tag, simple_value: value }
}

/**
 * A text summary as torch.utils.tensorboard writes it: tag `<tag>/text_summary`, plugin "text", and a DT_STRING
 * tensor of shape [1].
 */
export function textValue(tag: string, text: string): SummaryValue {
  const tensor = { dtype: 7 /* DT_STRING */, tensor_shape: { dim: [{ size: 1 }] }, string_val: [new TextEncoder().encode(text)] }
  return { tag: `${tag}/text_summary`, metadata: pluginMetadata('text'), tensor }
}

/**
 * `HistogramProto { min, max, num, sum, sum_squares, bucket_limit (packed), bucket (packed) }`: counts per bucket,
 * bucket i covering (bucket_limit[i-1], bucket_limit[i]]. Buckets default to `bins` equal-width bins over [min, max].
 */
export function histogramValue(tag: string, values: ArrayLike<number>, bins = 30): SummaryValue {
  let min = Infinity
  let max = -Infinity
  let sum = 0
  let sumSq = 0
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number
    min = Math.min(min, v)
    max = Math.max(max, v)
    sum += v
    sumSq += v * v
  }
  if (values.length === 0) min = max = 0
  const limits: number[] = []
  const counts = new Array<number>(bins).fill(0)
  const width = (max - min) / bins || 1
  for (let b = 0; b < bins; b++) limits.push(b === bins - 1 ? max : min + width * (b + 1))
  for (let i = 0; i < values.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.ceil(((values[i] as number) - min) / width) - 1))
    counts[b] = (counts[b] ?? 0) + 1
  }
  return { tag, histo: { min, max, num: values.length, sum, sum_squares: sumSq, bucket_limit: limits, bucket: counts } }
}

export type HParamValue = string | number | boolean

/** google.protobuf.Value: number_value, string_value or bool_value. */
function structValue(v: HParamValue): Record<string, HParamValue> {
  if (typeof v === 'number') return { number_value: v }
  if (typeof v === 'boolean') return { bool_value: v }
  return { string_value: v }
}

/**
 * The three hparams-plugin summaries torch's `SummaryWriter.add_hparams` produces (tensorboard plugin "hparams",
 * content = HParamsPluginData { version = 0; experiment | session_start_info | session_end_info }):
 * `_hparams_/experiment`, `_hparams_/session_start_info`, `_hparams_/session_end_info`.
 */
export function hparamsValues(hparams: Record<string, HParamValue>, metricTags: readonly string[], startTimeSecs: number): SummaryValue[] {
  const entries = Object.entries(hparams)
  // HParamInfo.type: DATA_TYPE_STRING 1, DATA_TYPE_BOOL 2, DATA_TYPE_FLOAT64 3
  const experiment = {
    hparam_infos: entries.map(([name, v]) => ({ name, type: typeof v === 'number' ? 3 : typeof v === 'boolean' ? 2 : 1 })),
    metric_infos: metricTags.map((tag) => ({ name: { tag } })),
  }
  const start = { hparams: Object.fromEntries(entries.map(([name, v]) => [name, structValue(v)])), start_time_secs: startTimeSecs }
  const end = { status: 1 } // STATUS_SUCCESS
  // torch writes version = 0 explicitly; so do we.
  const content = (data: Record<string, unknown>) => HParamsPluginDataType.encode(HParamsPluginDataType.fromObject({ version: 0, ...data })).finish()
  return [
    { tag: '_hparams_/experiment', metadata: pluginMetadata('hparams', content({ experiment })) },
    { tag: '_hparams_/session_start_info', metadata: pluginMetadata('hparams', content({ session_start_info: start })) },
    { tag: '_hparams_/session_end_info', metadata: pluginMetadata('hparams', content({ session_end_info: end })) },
  ]
}

/** A scalar read back from an event file. */
export interface ScalarEvent {
  tag: string
  step: number
  value: number
  wallTime: number
}

/** Extracts `simple_value` scalars from one encoded Event (read-back for reports and tests). */
export function scalarsFromEvent(event: Uint8Array): ScalarEvent[] {
  const e = EventType.toObject(EventType.decode(event), { longs: Number }) as { wall_time?: number; step?: number; summary?: { value?: SummaryValue[] } }
  return (e.summary?.value ?? [])
    .filter((v) => v.simple_value !== undefined)
    .map((v) => ({ tag: v.tag ?? '', step: e.step ?? 0, value: v.simple_value as number, wallTime: e.wall_time ?? 0 }))
}
