#!/bin/sh
# run-bench.sh - `make bench`: r1chat against llama.cpp and against the
# machine, on the models people run: DeepSeek-R1-Distill-Qwen-1.5B's exact
# shapes (BENCH_TYPES: Q4_K_M, Q8_0, IQ2_XXS) and a V3/R1-shaped MoE
# (BENCH_MOE_TYPES: Q4_K_M; MLA, 128 experts of which 8 are used, a
# shared expert, ~2 GB; 32768 tokens, as llref's bench ids reach 21000),
# each from an empty cache and after 4096 tokens
# in it (BENCH_DEPTHS: `bench -d`), as R1 reasons for thousands of tokens
# before it answers.
#
# The models (mkmodel, seed 1) are generated once and cached in
# $BENCH_DIR (default $XDG_CACHE_HOME/r1chat/bench).  bench-probe measures the memory read
# bandwidth (all threads) and the bytes of weights a token reads; their
# ratio is the roofline of generation.  Then, BENCH_ROUNDS times,
# `r1chat bench -r 1` and `llref bench -r 1` (each warms up, then measures
# once) run one after the other, their order alternating, and the median
# of the rounds is quoted for each; BENCH_PAUSE seconds (2) pass before
# each run, as a run started right after the other program's (llref's
# 1.7 GB of pages, on a shared host) was seen to be slower.  The
# bandwidth of a shared host moves by a third from one second to the
# next, so the probe runs once at the start (printed) and again just
# before and just after every run; a model's roofline is the median of
# all those probes, printed with their range, and a program's share is
# its median generation rate over that roofline.  (Setting each run
# against its own two probes instead scattered more: a run and the
# probes two seconds either side of it were seen to move apart.)  Peak RSS is
# the largest /usr/bin/time saw over the rounds; start-up is the wall time of
# `r1chat --raw MODEL Hello -n 1` (launch, load, the prompt, one token,
# exit: an upper bound of launch to first prompt token), best of three,
# and its CPU time (user + system, best of three more runs), which other
# work on the machine inflates less.
#
# Methods differ in one point: llref's tg continues after its pp (the
# cache holds p tokens more), r1chat's starts from an empty cache as
# llama-bench's does; at p = 128 that is under 1 % of a token's reads.
#
# The roofline (and the shares of it) is given at depth 0 only: deeper,
# a token reads the cache too, which the weights' bytes leave out.
#
# Environment: R1CHAT, MKMODEL, PROBE (set by make), LLREF (default
# /tmp/ref/llref; when absent only r1chat's figures are printed),
# BENCH_THREADS (2), BENCH_ROUNDS (5), BENCH_P (128), BENCH_N (64),
# BENCH_TYPES ("Q4_K_M Q8_0 IQ2_XXS"), BENCH_MOE_TYPES ("Q4_K_M"; empty:
# no MoE), BENCH_DEPTHS ("0 4096"), BENCH_PAUSE (2), BENCH_DIR.
set -u

: "${R1CHAT:?}" "${MKMODEL:?}" "${PROBE:?}"
LLREF=${LLREF:-/tmp/ref/llref}
THREADS=${BENCH_THREADS:-2}
ROUNDS=${BENCH_ROUNDS:-5}
P=${BENCH_P:-128}
N=${BENCH_N:-64}
PAUSE=${BENCH_PAUSE:-2}
TYPES=${BENCH_TYPES-Q4_K_M Q8_0 IQ2_XXS}
MOE_TYPES=${BENCH_MOE_TYPES-Q4_K_M}
DEPTHS=${BENCH_DEPTHS:-0 4096}
DIR=${BENCH_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/r1chat/bench}
TIME=/usr/bin/time

die() {
	echo "run-bench: $*" >&2
	exit 1
}

mkdir -p "$DIR" || die "cannot create $DIR"
T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
have_ref=1
if [ ! -x "$LLREF" ]; then
	echo "llama.cpp reference: $LLREF not found (set LLREF=...):" \
	    "r1chat's figures only"
	have_ref=0
fi
[ -x "$TIME" ] || TIME=

# median: the median of the numbers on stdin
median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan"; exit }
		if (NR % 2) print v[(NR + 1) / 2]
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# timed OUT RSS CMD...: runs CMD, stdout to OUT, its peak RSS (KiB) to RSS
timed() {
	out=$1 rss=$2
	shift 2
	if [ -n "$TIME" ]; then
		"$TIME" -f %M -o "$rss" "$@" >"$out" 2>"$T/err"
	else
		echo 0 >"$rss"
		"$@" >"$out" 2>"$T/err"
	fi || die "$* failed: $(cat "$T/err")"
}

# the models, a line each: LABEL FILE MKMODEL-ARGUMENTS...
for ty in $TYPES; do
	echo "1.5B-$ty r1-qwen-1.5b-$ty --arch qwen2 --preset r1-qwen-1.5b" \
	    "--type $ty"
done >"$T/models"
for ty in $MOE_TYPES; do
	echo "V3-MoE-$ty v3-moe-$ty --arch ds2-v3 --layers 9 --embd 2048" \
	    "--heads 16 --experts 128 --experts-used 8 --ff-exp 512" \
	    "--n-vocab 32768 --type $ty"
done >>"$T/models"
while read -r label f args; do
	f=$DIR/$f.gguf
	[ -f "$f" ] && continue
	echo "generating $f (once; minutes)"
	# shellcheck disable=SC2086 # args is a list
	"$MKMODEL" $args --seed 1 -o "$f.tmp" </dev/null >"$T/err" 2>&1 ||
	    die "mkmodel: $(cat "$T/err")"
	mv "$f.tmp" "$f" || exit 1
done <"$T/models"

# other work on the machine skews everything: say how much there was
loadavg() {
	[ -r /proc/loadavg ] && echo "load average $1: $(cut -d' ' -f1-3 \
	    /proc/loadavg) ($(getconf _NPROCESSORS_ONLN) processors)"
}
# recache FILE: drops FILE from the page cache and reads it back in, so
# that both programs find it as reading a model from disk leaves it, not as
# mkmodel's writes did: on kernels that cache files in large folios, a read
# leaves 2 MiB folios, which a map then takes whole (one TLB entry each),
# where writing had left mostly 4 KiB pages.  Both programs' generation
# was measured 10-15 % faster on the file read back; the state is the same
# for both.
recache() {
	dd if="$1" iflag=nocache count=0 2>/dev/null ||
	    die "cannot drop $1 from the page cache"
	cat "$1" >/dev/null || die "cannot read $1"
}

# probe FILE: measures the bandwidth, appends its GB/s to FILE
probe() {
	b=$("$PROBE" bandwidth) || die "bench-probe bandwidth failed"
	echo "${b%% *}" >>"$1"
}

loadavg before
bw=$("$PROBE" bandwidth) || die "bench-probe bandwidth failed"
echo "memory read bandwidth at the start: $bw"
echo "threads: $THREADS, rounds: $ROUNDS (median quoted)," \
    "$("$R1CHAT" --version)"
echo

# run1 WHO FILE DEPTH: one run of r1chat's or llref's bench, its
# "pp RATE" and "tg RATE" lines to $T/run
run1() {
	if [ "$1" = r1 ]; then
		timed "$T/out" "$T/rss" "$R1CHAT" bench "$2" -p "$P" -n "$N" \
		    -r 1 -d "$3" -t "$THREADS" </dev/null
		awk -F'|' '{ t = $6; gsub(/ /, "", t) }
		    t ~ /^(pp|tg)[0-9]+(@d[0-9]+)?$/ { split($7, v, " ")
			print substr(t, 1, 2), v[1] }' "$T/out" >"$T/run"
	else
		timed "$T/out" "$T/rss" "$LLREF" bench "$2" -p "$P" -n "$N" \
		    -r 1 -d "$3" -t "$THREADS" </dev/null
		for k in pp tg; do
			sed -n "s/.*\"${k}_tps\":\([0-9.]*\).*/$k \1/p" "$T/out"
		done >"$T/run"
	fi
}

# rows LABEL FILE BYTES DEPTH: ROUNDS alternating runs of both programs,
# then a row per test with the medians
rows() {
	: >"$T/r1"; : >"$T/ll"
	i=0
	while [ "$i" -lt "$ROUNDS" ]; do
		order="r1 ll"
		[ $((i % 2)) -eq 1 ] && order="ll r1"
		for who in $order; do
			[ "$who" = ll ] && [ "$have_ref" -eq 0 ] && continue
			probe "$T/bw.$1"
			sleep "$PAUSE"
			run1 "$who" "$2" "$4"
			probe "$T/bw.$1"
			cat "$T/run" >>"$T/$who"
			cat "$T/rss" >>"$T/$who.rss"
		done
		i=$((i + 1))
	done
	bw=$(median <"$T/bw.$1")
	roof=$(awk -v b="$bw" -v n="$3" 'BEGIN { print b * 1e9 / n }')
	for test in pp tg; do
		r=$(awk -v t="$test" '$1 == t { print $2 }' "$T/r1" | median)
		l=$(awk -v t="$test" '$1 == t { print $2 }' "$T/ll" | median)
		awk -v m="$1" -v t="$test" -v p="$P" -v n="$N" -v r="$r" \
		    -v l="$l" -v roof="$roof" -v d="$4" 'BEGIN {
			name = t == "pp" ? t p : t n
			if (d > 0)
				name = name " @ d" d
			rat = l == "nan" ? "-" : sprintf("%.2f", r / l)
			ls = l == "nan" ? "-" : sprintf("%.2f", l)
			if (t == "tg" && d == 0) {
				rf = sprintf("%.2f", roof)
				rp = sprintf("%.0f %%", 100 * r / roof)
				lp = l == "nan" ? "-" : \
				    sprintf("%.0f %%", 100 * l / roof)
			} else
				rf = rp = lp = ""
			printf "| %-15s | %-13s | %10.2f | %10s | %6s | %9s " \
			    "| %9s | %9s |\n", m, name, r, ls, rat, rf, rp, lp
		}'
	done
}

printf '| %-15s | %-13s | %10s | %10s | %6s | %9s | %9s | %9s |\n' \
    model test "r1chat t/s" "llama t/s" ratio roofline "r1chat %" "llama %"
echo "| --------------- | ------------- | ---------: | ---------: | -----: |" \
    "--------: | --------: | --------: |"
while read -r label f args; do
	f=$DIR/$f.gguf
	bytes=$("$PROBE" weights "$f") || die "bench-probe weights failed"
	bytes=${bytes%% *}
	recache "$f"
	: >"$T/r1.rss"; : >"$T/ll.rss"; : >"$T/bw.$label"
	for d in $DEPTHS; do
		rows "$label" "$f" "$bytes" "$d"
	done
	r=$(sort -n "$T/r1.rss" | tail -1)
	l=$(sort -n "$T/ll.rss" | tail -1)
	echo "$label $f $bytes $r ${l:-0} $(median <"$T/bw.$label")" \
	    "$(wc -l <"$T/bw.$label")" \
	    "$(sort -g "$T/bw.$label" | sed -n '1p;$p' | tr '\n' ' ')" \
	    >>"$T/summary"
done <"$T/models"
echo

while read -r ty f bytes r l bw np lo hi; do
	best= cpu=
	for k in 1 2 3; do
		t0=$(date +%s%N)
		timed /dev/null "$T/rss" "$R1CHAT" --raw "$f" Hello -n 1 \
		    -t "$THREADS"
		t1=$(date +%s%N)
		best=$(awk -v a="${best:-1e30}" -v d=$(((t1 - t0) / 1000)) \
		    'BEGIN { print (d < a ? d : a) }')
		[ -n "$TIME" ] && "$TIME" -f '%U %S' -o "$T/cpu" "$R1CHAT" \
		    --raw "$f" Hello -n 1 \
		    -t "$THREADS" >/dev/null 2>&1 &&
		    cpu=$(awk -v a="${cpu:-1e30}" '{ c = $1 + $2 }
			END { print (c < a ? c : a) }' "$T/cpu")
	done
	awk -v ty="$ty" -v b="$bytes" -v r="$r" -v l="$l" -v s="$best" \
	    -v c="${cpu:-}" -v ref="$have_ref" -v tm="${TIME:-}" -v bw="$bw" \
	    -v lo="$lo" -v hi="$hi" -v k="$np" 'BEGIN {
		printf "%s: bandwidth beside its runs %.2f GB/s (median of " \
		    "%d probes, %.2f-%.2f); ", ty, bw, k, lo, hi
		printf "weights read per token %.1f MiB; ", b / 1048576
		if (tm == "")
			printf "peak RSS: no %s; ", "/usr/bin/time"
		else if (ref)
			printf "peak RSS r1chat %.0f MiB, llama.cpp %.0f MiB " \
			    "(%.2f); ", r / 1024, l / 1024, r / l
		else
			printf "peak RSS r1chat %.0f MiB; ", r / 1024
		printf "start-up to first token %.3f s", s / 1e6
		if (c != "")
			printf " (CPU time %.2f s)", c
		printf "\n"
	}'
done <"$T/summary"
loadavg after
