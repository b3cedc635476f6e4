{
  "targets": [
    {
      # The Node addon: mount/umount, spawning the runtime, pid-reuse-safe signals, network namespaces.
      "target_name": "tsswarm_native",
      "sources": ["src/addon.cc", "src/safe-path.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS", "NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"]
    },
    {
      # tsswarm-runtime: the OCI runtime (runc's command line) and the per-container shim in one plain
      # executable, no Node, so a container starts in a few milliseconds. The agent runs it too.
      "target_name": "tsswarm-runtime",
      "type": "executable",
      "sources": [
        "src/runtime-main.cc", "src/shim.cc", "src/container.cc", "src/oci-config.cc", "src/cgroup.cc",
        "src/state.cc", "src/safe-path.cc", "src/devices.cc", "src/seccomp.cc", "src/seccomp-cache.cc", "src/init.cc",
        "src/exec.cc", "src/privileges.cc", "src/hooks.cc", "src/log-relay.cc"
      ],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-O2"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      # Static (libseccomp.a from libseccomp-dev): no dynamic loader or libstdc++ relocation on every
      # container start (about 1ms), and no dependency on the host's shared libraries.
      "ldflags": ["-static"],
      "libraries": ["-lseccomp"]
    },
    {
      # tsswarm-esp: the ESP data path of encrypted overlay networks on kernels without ESP in xfrm
      # (agent/network/encryption/README.md). A long-lived daemon, so linked against the system's
      # libcrypto (libssl-dev) like any other program; AES-GCM runs on AES-NI there.
      "target_name": "tsswarm-esp",
      "type": "executable",
      "sources": ["src/esp-main.cc", "src/esp-sa.cc"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-O2"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "libraries": ["-lcrypto"]
    }
  ]
}
