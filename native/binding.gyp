{
  "targets": [
    {
      "target_name": "tsbuild_native",
      "sources": ["src/addon.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"]
    },
    {
      "target_name": "tsbuild_deflate",
      "sources": ["src/deflate.cc", "vendor/libdeflate/lib/deflate_compress.c", "vendor/libdeflate/lib/utils.c"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "vendor/libdeflate"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"],
      "cflags": ["-O2"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"]
    },
    {
      "target_name": "tsbuild-run",
      "type": "executable",
      "sources": ["src/run.c"],
      "libraries": ["-lseccomp"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-O2"],
      "cflags!": ["-fno-exceptions"]
    }
  ]
}
