#!/usr/bin/env bash
# make bench-keys: the key-count sweep (issue 11). Elec2's rows, repeated to ROWS records, dealt
# to N keys uniformly (round robin) or by Zipf(1.1) (seeded), replayed through the Flink operator
# (Replay, batch 128, the model's window) with the default model; per run: records/s, p50/p99
# operator latency, the cache's size per key against cache.max-bytes, and the JVM's peak RSS.
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

read -r dc layers window <<< "$("$py" -c "import json; m = json.load(open('$model/manifest.json')); a = m['architecture']
print(a.get('cache_dim') or a['row_dim'], a['abd_layers'], m['context']['max_window'])")"
entry=$(( 8 * layers * window * dc + 96 ))
budget=${KEYS_CACHE_BYTES:-268435456}
table=$out/results-$budget.md
{
  echo "model $model: W $window, cache $entry bytes a key (8 x $layers layers x W x $dc), cache.max-bytes $budget: $(( budget / entry )) keys cached"
  echo
  echo "| keys | spread | records/s | p50 latency | p99 latency | keys cached / keys | peak RSS |"
  echo "|---:|---|---:|---:|---:|---:|---:|"
} > "$table"
for n in $counts; do
  for spread in uniform zipf; do
    log=$out/replay-$n-$spread.log
    /usr/bin/time -v bin/npt-stream replay --csv "$out/elec-$n-$spread-$rows.csv" --key key --model.dir "$model" --batch.size 128 \
      --cache.max-bytes "$budget" --out "$out/predictions.csv" > "$log" 2>&1
    line=$(grep -a "records/s" "$log" | head -1)
    rps=$(sed -E 's/.*\| ([0-9]+) records\/s.*/\1/' <<< "$line")
    p50=$(sed -E 's/.*p50 ([0-9]+) us.*/\1/' <<< "$line")
    p99=$(sed -E 's/.*p99 ([0-9]+) us.*/\1/' <<< "$line")
    rss=$(awk '/Maximum resident set size/ {printf "%.0f MB", $6 / 1024}' "$log")
    cached=$(( budget / entry < n ? budget / entry : n ))
    printf '| %s | %s | %s | %s ms | %s ms | %s / %s | %s |\n' "$n" "$spread" "$rps" "$(( p50 / 1000 ))" "$(( p99 / 1000 ))" \
      "$cached" "$n" "$rss" >> "$table"
  done
done
cat "$table"
