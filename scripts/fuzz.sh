#!/usr/bin/env bash
# make fuzz: run every Go fuzz target in the module, one at a time, each for
# FUZZTIME (default 10m), and print a summary table. Targets are found, not
# listed: every `func FuzzXxx(f *testing.F)` that `go test -list` reports in a
# package whose tests declare one, so a new target is never forgotten.
#
#   FUZZTIME          -fuzztime per target: a duration (10m, 30s) or a count (1000x)
#   FUZZPARALLEL      fuzzing workers per target (-parallel), default 1
#   FUZZMINIMIZETIME  -fuzzminimizetime, default 100x (the seeds are 1–20 KB:
#                     the default 60s stalls a run on every new input)
#   FUZZTARGETS       extended regexp on "dir:FuzzName" to run only some
#                     (e.g. FUZZTARGETS=internal/pypi: or FUZZTARGETS=':FuzzParse$')
#   FUZZLOGDIR        where each target's go test output goes (.cache/fuzz)
#
# A crasher fails the run: go test writes the failing input to
# <package>/testdata/fuzz/<FuzzName>/<hash>, where plain `go test` (and so
# `make unit`) replays it as a seed-corpus regression test until it is fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto}
FUZZTIME=${FUZZTIME:-10m}
FUZZPARALLEL=${FUZZPARALLEL:-1}
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-100x}
FUZZTARGETS=${FUZZTARGETS:-}
FUZZLOGDIR=${FUZZLOGDIR:-${CACHE:-$PWD/.cache}/fuzz}
mkdir -p "$FUZZLOGDIR"
gocache=$(go env GOCACHE)

# seconds DURATION: a Go duration made of h/m/s parts in whole seconds, or
# nothing when it is not one (a count such as 1000x).
seconds() {
	local d=$1 total=0 n unit
	[[ $d =~ ^([0-9]+[hms])+$ ]] || return 0
	while [[ $d =~ ^([0-9]+)([hms])(.*)$ ]]; do
		n=${BASH_REMATCH[1]} unit=${BASH_REMATCH[2]} d=${BASH_REMATCH[3]}
		case $unit in h) total=$((total + n * 3600)) ;; m) total=$((total + n * 60)) ;; s) total=$((total + n)) ;; esac
	done
	echo "$total"
}

count_files() { if [ -d "$1" ]; then find "$1" -maxdepth 1 -type f | wc -l; else echo 0; fi; }

# Packages whose tests declare a fuzz target (dot-directories, testdata and
# vendor left out), then the targets go test actually builds there (build
# tags respected), each with its package's import path.
mapfile -t dirs < <(find . \( -path '*/.*' -o -name testdata -o -name vendor \) -prune -o -name '*_test.go' -print0 |
	xargs -0 -r grep -lE '^func Fuzz[A-Z0-9_][A-Za-z0-9_]*\(' | xargs -r -n1 dirname | sort -u)
if [ ${#dirs[@]} -eq 0 ]; then
	echo "fuzz: no fuzz targets found" >&2
	exit 1
fi
if ! listing=$(go test -list '^Fuzz' "${dirs[@]}" 2>&1); then
	echo "$listing" >&2
	echo "fuzz: go test -list failed (see above)" >&2
	exit 1
fi
targets=() # "dir import/path FuzzName"
pending=()
while IFS= read -r line; do
	if [[ $line =~ ^Fuzz[A-Za-z0-9_]*$ ]]; then
		pending+=("$line")
	elif [[ $line =~ ^ok[[:space:]]+([^[:space:]]+) ]]; then
		pkg=${BASH_REMATCH[1]}
		dir=$(go list -f '{{.Dir}}' "$pkg")
		dir=./${dir#"$PWD"/}
		for t in "${pending[@]}"; do
			if [ -z "$FUZZTARGETS" ] || [[ "${dir#./}:$t" =~ $FUZZTARGETS ]]; then
				targets+=("$dir $pkg $t")
			fi
		done
		pending=()
	fi
done <<<"$listing"
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz: no fuzz target matches FUZZTARGETS=$FUZZTARGETS" >&2
	exit 1
fi

limit=$(seconds "$FUZZTIME")
echo "fuzz: ${#targets[@]} targets, -fuzztime $FUZZTIME each, -parallel $FUZZPARALLEL, -fuzzminimizetime $FUZZMINIMIZETIME (logs in $FUZZLOGDIR)"
rows=()
failed=0
total_start=$(date +%s)
for entry in "${targets[@]}"; do
	read -r dir pkg t <<<"$entry"
	name=${dir#./}
	log="$FUZZLOGDIR/${name//\//_}.$t.log"
	printf '  %-46s ' "${dir#./} $t"
	cmd=(go test -run '^$' -fuzz "^$t\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZETIME" -parallel "$FUZZPARALLEL" "$dir")
	if [ -n "$limit" ]; then
		# A hung fuzz function is not interrupted by -fuzztime: allow the
		# fuzzing time plus five minutes for the build and the seed corpus.
		cmd=(timeout --signal=TERM --kill-after=30s "$((limit + 300))s" "${cmd[@]}")
	fi
	start=$(date +%s.%N)
	rc=0
	"${cmd[@]}" >"$log" 2>&1 || rc=$?
	elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
	# "execs: N" once fuzzing proper has started; a short FUZZTIME on a big
	# corpus may end while the baseline coverage is still being gathered.
	execs=$(grep -oE 'execs: [0-9]+' "$log" | tail -1 | awk '{print $2}' || true)
	if [ -z "$execs" ]; then
		execs=$(grep -oE 'baseline coverage: [0-9]+/[0-9]+' "$log" | tail -1 | awk '{print "0 (baseline " $3 ")"}' || true)
	fi
	seeds=$(count_files "$dir/testdata/fuzz/$t")
	cached=$(count_files "$gocache/fuzz/$pkg/$t")
	crasher=$(sed -nE 's/.*Failing input written to (testdata\/fuzz\/[^ ]+).*/\1/p' "$log" | tail -1)
	if [ $rc -eq 0 ]; then
		result=ok
	elif [ -n "$crasher" ]; then
		result="CRASHER ${dir#./}/$crasher"
	elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		result="TIMEOUT (hung past $((limit + 300))s)"
	else
		result="FAIL (exit $rc)"
	fi
	echo "${elapsed}s, execs ${execs:-0}: $result"
	if [ "$result" != ok ]; then
		failed=$((failed + 1))
		echo "    ---- $log (last 40 lines) ----"
		tail -n 40 "$log" | sed 's/^/    /'
	fi
	rows+=("| \`$t\` | \`${dir#./}\` | ${elapsed} s | ${execs:-0} | $seeds | $cached | $result |")
done
total=$(($(date +%s) - total_start))

echo
echo "fuzz summary: -fuzztime $FUZZTIME per target, -parallel $FUZZPARALLEL, $(go env GOVERSION), $(nproc) CPUs, ${total} s in all"
echo
echo "| target | package | time | execs | seed corpus (testdata/fuzz) | generated corpus (GOCACHE) | result |"
echo "|---|---|---:|---:|---:|---:|---|"
printf '%s\n' "${rows[@]}"
if [ $failed -gt 0 ]; then
	echo
	echo "fuzz: $failed of ${#targets[@]} targets failed; a crasher is now a seed-corpus regression test in the file named above" >&2
	exit 1
fi
