{
  "targets": [
    {
      "target_name": "zerocopy",
      "sources": [
        "native/addon.cc",
        "native/cached_io.cc",
        "native/syscalls.cc",
        "native/copy_worker.cc",
        "native/relay_worker.cc",
        "native/fd_watcher.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-O2"],
      "conditions": [
        ["OS!='linux'", { "defines": ["ZEROCOPY_UNSUPPORTED_OS"] }]
      ]
    }
  ]
}
