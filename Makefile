# NPT Stream: `make demo` runs the main job end to end, `make test` runs every test.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

ROOT := $(abspath .)
# torch is GBs: the venv is cached outside the clone and only updated when requirements change.
VENV ?= $(HOME)/.cache/npt-stream/venv
PY := $(VENV)/bin/python
PYPATH := $(ROOT)/model-export:$(ROOT)/proto/target/python
MVN := mvn -B -ntp
FIXTURES := $(ROOT)/build/fixtures

export ORT_DISABLE_TELEMETRY := 1
export PYTHONUNBUFFERED := 1

.PHONY: model prior demo cluster-demo test test-python test-java test-e2e check-alerts chaos bench bench-keys bench-quick bench-smoke bench-build bench-classpath venv proto fixtures jars clean

venv: $(VENV)/.requirements
$(VENV)/.requirements: model-export/requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r $<
	cp $< $@

# Java classes and Python modules from proto/ (protoc comes from Maven Central).
proto: proto/target/python/nptstream/v1/manifest_pb2.py
proto/target/python/nptstream/v1/manifest_pb2.py: $(wildcard proto/src/main/proto/nptstream/v1/*.proto) proto/pom.xml pom.xml
	$(MVN) -q -pl proto -am install -DskipTests

# Tiny real models, trained for a few steps and exported with their golden files; the Java tests use them.
fixtures: $(FIXTURES)/.done
$(FIXTURES)/.done: venv proto $(shell find model-export/npt_export -name '*.py' 2>/dev/null)
	PYTHONPATH=$(PYPATH) $(PY) -m npt_export.fixtures $(FIXTURES)
	touch $@

# The default Elec2 model (CAUSAL, trained on rows 0:9062; both architectures of `--arch auto`, about 5
# minutes on 2 cores, and Elec2 keeps the deep one, W 256); kept once built.
export ELEC_CSV ?= $(ROOT)/../shared/data/streams/electricity.csv
model: $(ROOT)/build/models/elec/manifest.pb
$(ROOT)/build/models/elec/manifest.pb: | venv proto
	cd model-export && PYTHONPATH=$(PYPATH) nice -n 10 $(PY) -m npt_export.train --csv $(ELEC_CSV) \
		--target target --rows 0:9062 --out $(ROOT)/build/models/elec

# The prior model (model-export/npt_export/prior.py), pretrained on synthetic drifting streams and
# shipped in models/prior; this trains it again, deterministic by seed (CPU: about 23 minutes on
# 2 cores shared with two other jobs). On a GPU: make prior PRIOR_ARGS="--device cuda --steps 20000 --batch 32"; `--init
# models/prior/checkpoint.pt` pretrains the shipped one further. On a lent GPU machine, which has no Java or venv for
# this target: model-export/prior_on_gpu.sh (model-export/README.md).
prior: | venv proto
	cd model-export && PYTHONPATH=$(PYPATH) $(PY) -m npt_export.prior --out $(ROOT)/models/prior $(PRIOR_ARGS)

test-python: venv proto
	cd model-export && PYTHONPATH=$(PYPATH) $(PY) -m pytest -q tests

test-java: fixtures
	$(MVN) install

# Across modules: the Java job's replay mode against the Python reference, on the fixtures.
test-e2e: fixtures
	$(MVN) -q -pl flink-job dependency:build-classpath -Dmdep.outputFile=$(ROOT)/build/flink-job.classpath
	PYTHONPATH=$(PYPATH) $(PY) -m pytest -q tests

# The Prometheus alert rules parse and fire when they should, and the dashboard's queries parse (promtool).
check-alerts:
	deploy/prometheus/check.sh

# test-java has installed every module, so the bench smoke run needs no second Maven build.
test: test-python test-java test-e2e bench-smoke check-alerts

# Failure injection on 100,000 records over 100 keys, exactly-once, through a real broker and a
# MiniCluster (make test runs the same test on 10,000): ends with its one-line summary.
CHAOS_RECORDS ?= 100000
chaos: fixtures
	$(MVN) -q install -DskipTests
	$(MVN) -q -pl flink-job test -Dtest='ChaosTest#injectedFailures*' -Dchaos.records=$(CHAOS_RECORDS) > build/chaos.log 2>&1 \
		|| { tail -40 build/chaos.log; exit 1; }
	grep '^chaos:' build/chaos.log

# The bench runs in its own JVM on the bench module's classpath (MOA, a local Flink, ONNX Runtime).
BENCH := $(ROOT)/build/bench
BENCH_RUN = java -Xmx6g -Djava.io.tmpdir=$(BENCH)/tmp -cp "bench/target/classes:$$(cat $(BENCH)/classpath.txt)" \
	io.nptstream.bench.Bench --python $(PY) --electricity $(ELEC_CSV)

bench-build: proto
	$(MVN) -q -pl bench -am install -DskipTests

bench-classpath:
	mkdir -p $(BENCH)/tmp
	$(MVN) -q -pl bench dependency:build-classpath -Dmdep.outputFile=$(BENCH)/classpath.txt

# This machine's float32 peak is timed on a 1024 x 1024 MatMul, for the roofline ratio.
$(BENCH)/matmul.onnx: bench/matmul_onnx.py | venv
	mkdir -p $(BENCH)
	$(PY) $< $@ 1024

# NPT against MOA's learners on Elec2 and drifting synthetic streams, then NPT's speed figures and
# the key-count sweep: build/bench/results.md, results.json, accuracy-*.png, keys/ (models cached in
# build/bench/models; BENCH_ARGS=--no-speed skips the speed sweep, BENCH_KEYS=0 the key sweep;
# BENCH_ARGS="--stream 'NAME=MOA_STREAM'" runs the same comparison on a MOA stream of your own alone).
BENCH_ARGS ?=
BENCH_KEYS ?= 1
bench: bench-build bench-classpath $(BENCH)/matmul.onnx
	nice -n 10 $(BENCH_RUN) $(BENCH_ARGS)
	if [ "$(BENCH_KEYS)" != 0 ]; then $(MAKE) bench-keys; fi

# The key-count sweep (issue 11): 1 to 100,000 keys, uniform and Zipf, through Replay (bench/keys.sh).
bench-keys: jars
	bench/keys.sh

# Smoke run on the tiny fixture model (about a minute): fails when a figure is missing or NaN.
bench-quick: bench-build bench-smoke
bench-smoke: fixtures bench-classpath $(BENCH)/matmul.onnx
	$(BENCH_RUN) --quick

# One command: jars, a model, a real Kafka broker, the job on a local Flink, Elec2 through Kafka,
# progress and final figures, then everything stopped (deploy/README.md; DEMO_ROWS=5000 for a part of the stream).
demo: jars
	deploy/demo.sh

# The production shape on one machine: broker, a 2-TaskManager session cluster, a real Prometheus,
# the job at parallelism 2 upgraded by savepoint mid-stream, every dashboard query checked (deploy/README.md).
cluster-demo: jars
	deploy/cluster-demo.sh

jars:
	$(MVN) -q install -DskipTests

clean:
	rm -rf build
	$(MVN) -q clean
