# eventd — build, test, publish, benchmark. Every target installs what it needs.
SHELL := /bin/sh
CONFIG ?= Release
RID ?= linux-x64
ARTIFACTS := artifacts
RESULTS := $(ARTIFACTS)/test-results

.PHONY: all deps build test aot-smoke publish docs demo install bench-ring bench-micro bench-codec bench-stages bench-tap bench-journal bench-nats demo-cluster bench-e2e crash-loop profile fuzz fuzz-ci clean format

all: build

deps:
	@sh scripts/deps.sh

build: deps
	dotnet build EventDaemon.sln -c $(CONFIG) -nologo -clp:ErrorsOnly

# Unit and integration tests (trx results in artifacts/test-results; integration tests drive the
# published binary), then the AOT smoke run.
test: deps publish
	@rm -rf $(RESULTS)
	dotnet build EventDaemon.sln -c $(CONFIG) -nologo -clp:ErrorsOnly
	dotnet format EventDaemon.sln --verify-no-changes --no-restore
	@status=0; \
	dotnet test EventDaemon.sln -c $(CONFIG) --no-build -nologo \
	  --logger "trx" --results-directory $(RESULTS) -- RunConfiguration.TreatNoTestsAsError=false || status=1; \
	sh scripts/aot-smoke.sh || status=1; \
	exit $$status

aot-smoke: deps
	sh scripts/aot-smoke.sh

# Native AOT binary with symbols beside it for perf; any AOT or trim warning fails the publish.
publish: deps
	sh scripts/publish.sh

# docs/eventd.1 and docs/eventd.bash-completion from the binary's own command table (the tests compare them).
docs: publish
	sh scripts/docs.sh

# Runs the daemon on its embedded default, sends a few seconds of events, shows stats and output.
demo: publish
	sh scripts/demo.sh

bench-ring: deps
	sh scripts/bench-ring.sh

# BenchmarkDotNet micro-benchmarks of publish/consume with [MemoryDiagnoser] (JIT, several minutes).
bench-micro: deps
	dotnet run -c Release --project perf/EventDaemon.Benchmarks -- --filter '*' --artifacts artifacts/bench/micro

# Decode MB/s and events/s for JSON lines and binary frames against JsonSerializer POCOs.
bench-codec: deps
	sh scripts/bench-codec.sh

# Filter evaluation and aggregation per event against LINQ / Dictionary over POCOs.
bench-stages: deps
	sh scripts/bench-stages.sh

# The per-key pipeline flat out with no tap, a reading tap and a tap that never reads, interleaved; ratios to no tap.
bench-tap: deps
	sh scripts/bench-tap.sh

# The journal under kill -9, long run: the crash-loop integration test with 200 kills instead of the
# test path's 30 (a few minutes); the daemon must lose no frame it acknowledged.
crash-loop: deps publish
	EVENTD_CRASH_KILLS=200 dotnet test tests/EventDaemon.Daemon.Tests -c $(CONFIG) -nologo \
	  --filter "FullyQualifiedName~JournalCrashLoopTests"

# Journal write path: pwrite vs pwritev vs mmap (and a growing file) into segments on the real disk,
# records/s flat out and time to durable at 100k records/s beside a bare fdatasync; artifacts/bench/journal.json
# and .md; fails if the writer thread allocates. QUICK=1 for a ~30 s run, ROUNDS=N, METHODS=a,b.
bench-journal: deps
	sh scripts/bench-journal.sh

# nats -> filter -> aggregate -> nats through eventd against a plain NATS.Client loop, on one local
# nats-server and on a 3-node loopback cluster (R3 streams), in the same run; table and
# artifacts/bench/nats.json. STEADY=1: a 60 s steady state nats -> filter -> nats with eventd's GC
# collections and B/message (artifacts/bench/nats-steady.json).
bench-nats: deps
	sh scripts/bench-nats.sh

# Two tiers over a 3-node nats cluster on loopback: tcp -> nats sink by partition, then two
# aggregation instances sharing the partitions through leases; shows the aggregates and a kill -9.
demo-cluster: publish
	sh scripts/demo-cluster.sh

# End to end: eventd, load generator, floors and baseline in one run; table, artifacts/bench/e2e.json and
# e2e-latency.svg; fails if the 60 s steady state collects or allocates. E2E_QUICK=1 for a short run,
# E2E_WORKLOADS=per-key,per-key-1m,by-type,binary,latency,steady for a subset, E2E_ROUNDS=N for the best
# of N interleaved rounds, E2E_AGG_THREADS=N to split the aggregate over N threads.
bench-e2e: deps
	sh scripts/bench-e2e.sh

# eventd under load with perf: artifacts/profile/flamegraph.svg, top.txt, alloc.txt.
# PROFILE_PIPELINE=latency PROFILE_RATE=100000 profiles the latency pipeline (PROFILE_HANDOFF=0: with idle_handoff = false);
# PROFILE_PIPELINE=per-key (or per-key-1m, by-type; PROFILE_FORMAT=binary) the throughput workloads.
profile: deps
	sh scripts/profile.sh

# Fuzzes every decoder for FUZZ_SECONDS each (AFL++ with SharpFuzz when available, else the built-in mutator).
FUZZ_SECONDS ?= 60
fuzz: deps
	sh scripts/fuzz.sh $(FUZZ_SECONDS)

# CI's short fuzz run (.ci/run calls it after the tests): every decoder for FUZZ_CI_SECONDS each from
# its seed corpus, after replaying seeds and regressions; fails on any crash. The built-in mutator,
# not AFL++: AFL starts the .NET runtime for every input, too few executions to matter in 20 s.
FUZZ_CI_SECONDS ?= 20
fuzz-ci: deps
	FUZZ_ENGINE=mutate sh scripts/fuzz.sh $(FUZZ_CI_SECONDS)

install: publish
	sh scripts/install.sh

format:
	dotnet format EventDaemon.sln

clean:
	rm -rf $(ARTIFACTS)
	find src tests perf -type d \( -name bin -o -name obj \) -prune -exec rm -rf {} +
