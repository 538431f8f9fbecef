module github.com/synod/synod/bench/peers

go 1.26.0

require (
	github.com/hashicorp/go-hclog v1.6.3
	github.com/hashicorp/raft v1.8.0
	github.com/hashicorp/raft-boltdb/v2 v2.3.1
)

require github.com/pmezard/go-difflib v1.0.1-0.20181226105442-5d4384ee4fb2 // indirect

require (
	github.com/armon/go-metrics v0.4.1 // indirect
	github.com/boltdb/bolt v1.3.1 // indirect
	github.com/fatih/color v1.13.0 // indirect
	github.com/hashicorp/go-immutable-radix v1.3.1 // indirect
	github.com/hashicorp/go-metrics v0.7.0 // indirect
	github.com/hashicorp/go-msgpack/v2 v2.1.5 // indirect
	github.com/hashicorp/golang-lru v1.0.2 // indirect
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
	github.com/synod/synod/bench/harness v0.0.0
	go.etcd.io/bbolt v1.5.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

replace github.com/synod/synod => ../..

// raft-boltdb/v2 v2.3.1 (the newest tag on the proxy) imports
// github.com/hashicorp/go-metrics/compat, which go-metrics v0.7.0 (the
// version raft v1.8.0 requires) removed. v0.6.1 still has compat and the
// root package raft uses. Drop this once a raft-boltdb/v2 tag without the
// shim is published (upstream hashicorp/raft-boltdb#67).
replace github.com/hashicorp/go-metrics => github.com/hashicorp/go-metrics v0.6.1

replace github.com/synod/synod/bench/harness => ../harness
