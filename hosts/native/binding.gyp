{
  "targets": [
    {
      "target_name": "wopte_tap",
      "sources": ["tap.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lpthread"]
    },
    {
      "target_name": "wopte_peer",
      "sources": ["peer.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
