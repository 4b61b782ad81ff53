import protobuf from 'protobufjs'

// The messages TensorBoard reads from an event file, field for field from tensorflow/tensorboard's own protos
// (Apache-2.0): compat/proto/event.proto, summary.proto, histogram.proto, tensor.proto, tensor_shape.proto,
// plugins/hparams/plugin_data.proto, api.proto, and google/protobuf/struct.proto's Value. Only the fields TinyLab
// writes or reads are listed; enums are their int32 wire values (DataType DT_STRING = 7, HParamInfo.type
// DATA_TYPE_STRING 1 / BOOL 2 / FLOAT64 3, Status STATUS_SUCCESS = 1).
const PROTO = `
syntax = "proto3";
package tensorboard;
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what { string file_version = 3; Summary summary = 5; }
}
message SummaryMetadata {
  message PluginData { string plugin_name = 1; bytes content = 2; }
  PluginData plugin_data = 1;
}
message HistogramProto {
  double min = 1; double max = 2; double num = 3; double sum = 4; double sum_squares = 5;
  repeated double bucket_limit = 6 [packed = true]; repeated double bucket = 7 [packed = true];
}
message TensorShapeProto { message Dim { int64 size = 1; } repeated Dim dim = 2; }
message TensorProto { int32 dtype = 1; TensorShapeProto tensor_shape = 2; repeated bytes string_val = 8; }
message Summary {
  message Value {
    string tag = 1; SummaryMetadata metadata = 9;
    oneof value { float simple_value = 2; HistogramProto histo = 5; TensorProto tensor = 8; }
  }
  repeated Value value = 1;
}
message ProtoValue { oneof kind { double number_value = 2; string string_value = 3; bool bool_value = 4; } }
message MetricName { string tag = 2; }
message MetricInfo { MetricName name = 1; }
message HParamInfo { string name = 1; int32 type = 4; }
message Experiment { repeated HParamInfo hparam_infos = 4; repeated MetricInfo metric_infos = 5; }
message SessionStartInfo { map<string, ProtoValue> hparams = 1; double start_time_secs = 5; }
message SessionEndInfo { int32 status = 1; }
message HParamsPluginData {
  int32 version = 1;
  oneof data { Experiment experiment = 2; SessionStartInfo session_start_info = 3; SessionEndInfo session_end_info = 4; }
}
`

const root = protobuf.parse(PROTO, { keepCase: true }).root

export const EventType = root.lookupType('tensorboard.Event')
export const HParamsPluginDataType = root.lookupType('tensorboard.HParamsPluginData')
