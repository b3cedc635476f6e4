{
  "targets": [
    {
      # The Node addon: mount/umount, spawning the shim, pid-reuse-safe signals.
      "target_name": "tsswarm_native",
      "sources": ["src/addon.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS", "NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"]
    },
    {
      # The per-container shim: a plain executable, no Node, so it starts in well under a millisecond.
      "target_name": "tsswarm-shim",
      "type": "executable",
      "sources": ["src/shim.cc"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-O2"],
      # Static: no dynamic loader or libstdc++ relocation on every container start (about 1ms), and
      # the shim never depends on the host's shared libraries after it pivots nothing but its child.
      "ldflags": ["-static"]
    }
  ]
}
