{
  "variables": {
    "has_dnnl%": "<!(test -f /usr/include/oneapi/dnnl/dnnl.h && echo 1 || echo 0)"
  },
  "targets": [
    {
      "target_name": "gan_studio_native",
      "sources": ["src/native.c"],
      "cflags": ["-O3", "-std=c11", "-ffp-contract=off", "-fno-trapping-math", "-fno-math-errno", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"],
      "libraries": ["-lopenblas"],
      "ldflags": ["-Wl,-z,nodelete"],
      "conditions": [
        ["has_dnnl==1", {"defines": ["GAN_STUDIO_DNNL=1"], "libraries": ["-ldnnl", "-lgomp"]}]
      ]
    }
  ]
}
