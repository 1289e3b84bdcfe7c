#!/usr/bin/env bash
# JMH micro-benchmarks of the hot path (decode, series resolution, COPY encoding).
#   bench/jmh.sh                 # all of them
#   bench/jmh.sh decodeStreaming # those matching a regex
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B -DskipTests test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test >/dev/null
java -cp "target/test-classes:target/classes:$(cat target/bench.classpath)" org.openjdk.jmh.Main \
  "io.prom2pg.bench.HotPathBenchmark.${1:-}" -rf text -rff target/jmh.txt
