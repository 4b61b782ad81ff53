import { ProtoWriter, readProtoFields } from './_protobuf'

// Field numbers from TensorBoard's protos (tensorboard/compat/proto/event.proto, summary.proto, histogram.proto,
// tensor.proto, tensor_shape.proto; tensorboard/plugins/hparams/plugin_data.proto, api.proto; google/protobuf/struct.proto).

/** One `Summary.Value`, already encoded. */
export type SummaryValue = ProtoWriter

/** `Event { wall_time = 1; step = 2; file_version = 3 | summary = 5 }`. */
export function encodeEvent(event: { wallTime: number; step?: number; fileVersion?: string; values?: readonly SummaryValue[] }): Uint8Array {
  const w = new ProtoWriter().double(1, event.wallTime)
  if (event.step) w.int(2, event.step)
  if (event.fileVersion !== undefined) w.string(3, event.fileVersion)
  if (event.values) {
    const summary = new ProtoWriter()
    for (const v of event.values) summary.message(1, v)
    w.message(5, summary)
  }
  return w.finish()
}

function pluginMetadata(pluginName: string, content: Uint8Array = new Uint8Array(0)): ProtoWriter {
  const pluginData = new ProtoWriter().string(1, pluginName)
  if (content.length) pluginData.bytes(2, content)
  return new ProtoWriter().message(1, pluginData)
}

/** `Summary.Value { tag = 1; simple_value = 2 }`, what torch's `add_scalar` writes. */
export function scalarValue(tag: string, value: number): SummaryValue {
  return new ProtoWriter().string(1, tag).float(2, value)
}

/**
 * A text summary as torch.utils.tensorboard writes it: tag `<tag>/text_summary`, plugin "text", and a DT_STRING
 * tensor of shape [1] (TensorProto dtype = 1, tensor_shape = 2 { dim = 2 { size = 1 } }, string_val = 8).
 */
export function textValue(tag: string, text: string): SummaryValue {
  const tensor = new ProtoWriter()
    .int(1, 7) // DT_STRING
    .message(2, new ProtoWriter().message(2, new ProtoWriter().int(1, 1)))
    .string(8, text)
  return new ProtoWriter().string(1, `${tag}/text_summary`).message(9, pluginMetadata('text')).message(8, tensor)
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
  const histo = new ProtoWriter().double(1, min).double(2, max).double(3, values.length).double(4, sum).double(5, sumSq)
    .packedDoubles(6, limits).packedDoubles(7, counts)
  return new ProtoWriter().string(1, tag).message(5, histo)
}

export type HParamValue = string | number | boolean

function structValue(v: HParamValue): ProtoWriter {
  // google.protobuf.Value: number_value = 2, string_value = 3, bool_value = 4
  if (typeof v === 'number') return new ProtoWriter().double(2, v)
  if (typeof v === 'boolean') return new ProtoWriter().int(4, v)
  return new ProtoWriter().string(3, v)
}

/**
 * The three hparams-plugin summaries torch's `SummaryWriter.add_hparams` produces (tensorboard plugin "hparams",
 * content = HParamsPluginData { version = 1; experiment = 2 | session_start_info = 3 | session_end_info = 4 }):
 * `_hparams_/experiment`, `_hparams_/session_start_info`, `_hparams_/session_end_info`.
 */
export function hparamsValues(hparams: Record<string, HParamValue>, metricTags: readonly string[], startTimeSecs: number): SummaryValue[] {
  const experiment = new ProtoWriter()
  for (const [name, v] of Object.entries(hparams)) {
    // HParamInfo { name = 1; type = 4 (DATA_TYPE_STRING 1, BOOL 2, FLOAT64 3) }
    experiment.message(4, new ProtoWriter().string(1, name).int(4, typeof v === 'number' ? 3 : typeof v === 'boolean' ? 2 : 1))
  }
  for (const tag of metricTags) experiment.message(5, new ProtoWriter().message(1, new ProtoWriter().string(2, tag))) // MetricInfo { name { tag } }
  const start = new ProtoWriter()
  for (const [name, v] of Object.entries(hparams)) start.message(1, new ProtoWriter().string(1, name).message(2, structValue(v))) // map entry
  start.double(5, startTimeSecs)
  const end = new ProtoWriter().int(1, 1) // STATUS_SUCCESS
  const wrap = (field: number, m: ProtoWriter) => new ProtoWriter().int(1, 0).message(field, m).finish()
  return [
    new ProtoWriter().string(1, '_hparams_/experiment').message(9, pluginMetadata('hparams', wrap(2, experiment))),
    new ProtoWriter().string(1, '_hparams_/session_start_info').message(9, pluginMetadata('hparams', wrap(3, start))),
    new ProtoWriter().string(1, '_hparams_/session_end_info').message(9, pluginMetadata('hparams', wrap(4, end))),
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
  let wallTime = 0
  let step = 0
  const out: ScalarEvent[] = []
  const summaries: Uint8Array[] = []
  for (const f of readProtoFields(event)) {
    if (f.field === 1 && f.wire === 1) wallTime = new DataView(f.value.buffer, f.value.byteOffset, 8).getFloat64(0, true)
    else if (f.field === 2 && f.wire === 0) step = Number(BigInt.asIntN(64, f.value))
    else if (f.field === 5 && f.wire === 2) summaries.push(f.value)
  }
  for (const s of summaries) {
    for (const v of readProtoFields(s)) {
      if (v.field !== 1 || v.wire !== 2) continue
      let tag = ''
      let value: number | undefined
      for (const f of readProtoFields(v.value)) {
        if (f.field === 1 && f.wire === 2) tag = new TextDecoder().decode(f.value)
        if (f.field === 2 && f.wire === 5) value = new DataView(f.value.buffer, f.value.byteOffset, 4).getFloat32(0, true)
      }
      if (value !== undefined) out.push({ tag, step, value, wallTime })
    }
  }
  return out
}
