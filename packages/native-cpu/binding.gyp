{
  "targets": [
    {
      "target_name": "tinylab_native_cpu",
      "sources": ["csrc/addon.cc", "csrc/primitives.cc"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fopenmp"],
      "ldflags": ["-fopenmp", "-Wl,--disable-new-dtags", "-Wl,-rpath,'$$ORIGIN'"],
      "libraries": ["-ldnnl", "-lgomp"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
