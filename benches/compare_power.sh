#!/usr/bin/env bash
# False alarms and detection power of `cargo coldbench --compare` with default settings.
#
# Builds a throwaway git repository holding one binary that spins for a few milliseconds, then
#   1. runs N A/A compares (`--compare HEAD` on an unchanged tree) and counts gating verdicts of
#      regressed, warning or failure (false alarms);
#   2. makes the binary do 10% more work (uncommitted) and runs N compares against HEAD, counting
#      the compares whose wall verdict is regressed, warning or failure (detections).
# Prints one line per compare and the two counts.
#
# usage: benches/compare_power.sh [N]        (default 20)
set -euo pipefail
n=${1:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
coldbench="$root/target/release/cargo-coldbench"

iterations=3000000
write_main() {
  cat > "$work/src/main.rs" <<RS
fn main() {
    let mut x: u64 = 1;
    for i in 0..$1u64 {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
    }
    if x == 42 {
        println!("unlikely");
    }
}
RS
}
mkdir -p "$work/src"
printf '[package]\nname = "work"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\n' > "$work/Cargo.toml"
printf '/target\n' > "$work/.gitignore"
write_main "$iterations"
(cd "$work" && cargo generate-lockfile --offline --quiet && git init -q -b main && git add -A &&
  git -c user.name=bench -c user.email=bench@example.invalid commit -qm A)

verdicts() {
  python3 - "$work/target/coldbench/latest.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
rows = [r for r in doc["comparison"]["rows"] if r["gating"]]
wall = [r for r in rows if r["metric"] == "wall"][0]
alarm = any(r["verdict"] in ("regressed", "warning", "failure") for r in rows)
print(f'{wall["verdict"]:13} ratio {wall["ratio"]:.4f} CI [{wall["ci95"][0]:.4f}, {wall["ci95"][1]:.4f}] '
      f'p(rank) {wall["mann_whitney_p"]:.2g} p(Welch) {wall.get("welch_p", wall["p_value"]):.2g} '
      f'n {len(doc["benchmarks"][0]["samples"]["wall"])} alarm={int(alarm)}')
PY
}

alarms=0
for i in $(seq 1 "$n"); do
  (cd "$work" && "$coldbench" coldbench --compare HEAD -q > /dev/null)
  line=$(verdicts)
  echo "A/A $i: $line"
  [[ $line == *alarm=1 ]] && alarms=$((alarms + 1))
done

write_main $((iterations * 11 / 10))
detected=0
for i in $(seq 1 "$n"); do
  (cd "$work" && "$coldbench" coldbench --compare HEAD -q > /dev/null)
  line=$(verdicts)
  echo "+10% $i: $line"
  [[ $line == *alarm=1 ]] && detected=$((detected + 1))
done

echo "false alarms in $n A/A compares: $alarms"
echo "detections of a 10% slowdown in $n compares: $detected"
