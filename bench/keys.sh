#!/usr/bin/env bash
# make bench-keys: the key-count sweep (issue 11). Elec2's rows, repeated to ROWS records, dealt
# to N keys uniformly (round robin) or by Zipf(1.1) (seeded), replayed through the Flink operator
# (Replay, batch 128, the model's window) with the default model; per run: records/s, p50/p99
# operator latency, the cache hit rate (per key and call), the cache's and the state's bytes per key
# against cache.max-bytes, and the JVM's peak RSS; into
# build/bench/keys/results-BUDGET.md and .json, and under "keys", BUDGET in build/bench/results.json.
# Variables: KEYS_MODEL (build/models/elec), KEYS_COUNTS ("1 100 10000 100000"), KEYS_ROWS (100000),
# KEYS_CACHE_BYTES (cache.max-bytes, the job's default 268435456).
set -euo pipefail
cd "$(dirname "$0")/.."
model=${KEYS_MODEL:-build/models/elec}
counts=${KEYS_COUNTS:-1 100 10000 100000}
rows=${KEYS_ROWS:-100000}
out=build/bench/keys
mkdir -p "$out"
py=${VENV:-$HOME/.cache/npt-stream/venv}/bin/python
[ -f "$model/manifest.pb" ] || make model
command -v /usr/bin/time > /dev/null || { echo "bench-keys: needs /usr/bin/time (apt-get install time) for the peak RSS" >&2; exit 1; }

# One CSV per (keys, spread): the same records in the same order, only the key column differs.
"$py" - "$ELEC_CSV" "$out" "$rows" $counts <<'PY'
import csv, os, sys
import numpy as np
src, out, rows, counts = sys.argv[1], sys.argv[2], int(sys.argv[3]), [int(c) for c in sys.argv[4:]]
with open(src) as f:
    r = csv.reader(f)
    header, data = next(r), list(r)
for n in counts:
    rng = np.random.default_rng(11)
    # Zipf(1.1) over n keys: key k (1-based) with probability proportional to k^-1.1.
    p = np.arange(1, n + 1, dtype=np.float64) ** -1.1
    zipf = rng.choice(n, size=rows, p=p / p.sum())
    for spread, keys in (("uniform", np.arange(rows) % n), ("zipf", zipf)):
        path = os.path.join(out, f"elec-{n}-{spread}-{rows}.csv")
        if os.path.exists(path):
            continue
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header + ["key"])
            for i in range(rows):
                w.writerow(data[i % len(data)] + [f"k{keys[i]}"])
PY

budget=${KEYS_CACHE_BYTES:-268435456}
table=$out/results-$budget.md
tsv=$out/results-$budget.tsv
: > "$tsv"
for n in $counts; do
  for spread in uniform zipf; do
    log=$out/replay-$n-$spread.log
    /usr/bin/time -v bin/npt-stream replay --csv "$out/elec-$n-$spread-$rows.csv" --key key --model.dir "$model" --batch.size 128 \
      --cache.max-bytes "$budget" --out "$out/predictions.csv" > "$log" 2>&1
    line=$(grep -a "records/s" "$log" | head -1) || { echo "bench-keys: replay of $n keys ($spread) failed, see $log" >&2; exit 1; }
    field() { grep -aoE "$1" <<< "$line" | grep -oE '[0-9.]+' | tail -1 || echo nan; }
    rps=$(field '[0-9]+ records/s')
    p50=$(field 'p50 [0-9]+ us')
    p99=$(field 'p99 [0-9]+ us')
    hit=$(field 'cache hit rate [0-9.]+%')
    rss=$(awk '/Maximum resident set size/ {print $6}' "$log")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$spread" "$rps" "$p50" "$p99" "$hit" "$rss" >> "$tsv"
  done
done

# The table (results-BUDGET.md, printed), its JSON, and the same under "keys", BUDGET in make bench's results.json.
"$py" - "$model" "$rows" "$budget" "$tsv" "$table" "$out/results-$budget.json" "$(dirname "$out")/results.json" <<'PY'
import json, os, sys
model, rows, budget, tsv, table, own, bench = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:]
m = json.load(open(os.path.join(model, "manifest.json")))
a = m["architecture"]
window, layers, dc = m["context"]["max_window"], a["abd_layers"], a.get("cache_dim") or a["row_dim"]
row_bytes = sum(4 if f["kind"] == "NUMERIC" else 8 for f in m["features"]) + 4 + 8   # features, label, event time
# As deploy/README.md, "Sizing a TaskManager for N keys", counts them (KvCache.entryBytes, ContextHistory):
cache_bytes = 8 * layers * window * dc + 96          # keys and values, float32, and the entry's overhead
state_bytes = m["context"]["history_layers"] * window * row_bytes + 24
cached = budget // cache_bytes
runs = []
for line in open(tsv):
    n, spread, rps, p50, p99, hit, rss_kb = line.split("\t")
    number = lambda v: None if v == "nan" else float(v)      # a figure the replay could not give: null in JSON
    runs.append({"keys": int(n), "spread": spread, "records_per_second": number(rps), "p50_latency_us": number(p50),
                 "p99_latency_us": number(p99), "cache_hit_rate": None if hit == "nan" else float(hit) / 100,
                 "keys_cached": min(cached, int(n)), "peak_rss_mb": round(int(rss_kb) / 1024)})
one = {r["spread"]: r["records_per_second"] for r in runs if r["keys"] == 1 and r["records_per_second"]}
shown = lambda v, fmt: "-" if v is None else fmt.format(v)
ms = lambda us: shown(us if us is None else us / 1000, "{:.1f} ms")
sweep = {"model": model, "window": window, "rows": rows, "batch_size": 128, "cache_max_bytes": budget,
         "cache_bytes_per_key": cache_bytes, "state_bytes_per_key": state_bytes, "runs": runs}
with open(own, "w") as f:
    json.dump(sweep, f, indent=2)
if os.path.exists(bench):
    results = json.load(open(bench))
    results.setdefault("keys", {})[str(budget)] = sweep
    with open(bench, "w") as f:
        json.dump(results, f, indent=2)
with open(table, "w") as f:
    f.write(f"model {model}, W {window}, {rows} records a run, batch 128: per key {cache_bytes} bytes of cache "
            f"({layers} layers x W x {dc} keys and values, float32) and {state_bytes} bytes of state "
            f"({m['context']['history_layers']} x W rows and 24); cache.max-bytes {budget}: {cached} keys cached\n\n")
    f.write("| keys | spread | records/s | of 1 key's | p50 latency | p99 latency | cache hit rate | keys cached / keys | peak RSS |\n")
    f.write("|---:|---|---:|---:|---:|---:|---:|---:|---:|\n")
    for r in runs:
        share = f"{100 * r['records_per_second'] / one[r['spread']]:.0f}%" if r["records_per_second"] and r["spread"] in one else "-"
        f.write(f"| {r['keys']} | {r['spread']} | {shown(r['records_per_second'], '{:.0f}')} | {share} | "
                f"{ms(r['p50_latency_us'])} | {ms(r['p99_latency_us'])} | "
                f"{shown(r['cache_hit_rate'] and 100 * r['cache_hit_rate'], '{:.1f}%')} | {r['keys_cached']} / {r['keys']} | "
                f"{r['peak_rss_mb']} MB |\n")
PY
cat "$table"
