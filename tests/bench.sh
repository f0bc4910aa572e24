#!/bin/sh
# bench.sh - `r1chat bench` measures what it says: a markdown table with
# one row per test (pp N, tg N), the thread count asked for, positive
# tokens/s with a deviation; -p 0 or -n 0 leaves a test out; bad numbers
# and a missing file are one-line errors.  r1chat sets GOMP_SPINCOUNT
# unless the user chose a wait policy.  Speed itself is never asserted.
set -u

: "${R1CHAT:?}" "${MKMODEL:?}" "${R1CHAT_TESTDATA:?}"
. "${top_srcdir:-.}/tests/tap.sh"

if [ ! -f "$R1CHAT_TESTDATA/vocab/deepseek-r1-qwen.gguf" ]; then
	echo "Bail out! no $R1CHAT_TESTDATA/vocab/deepseek-r1-qwen.gguf"
	exit 99
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM
OMP_WAIT_POLICY=passive
export OMP_WAIT_POLICY

M=$T/m.gguf
"$MKMODEL" --arch qwen2 --type Q8_0 --seed 7 --n-vocab 512 -o "$M" \
    >"$T/mk" 2>&1
ok $? "generate a tiny qwen2 Q8_0 model"

# row TEST: the t/s cell of that test's row, "MEAN SD"
row() {
	awk -F'|' -v t="$1" '{ g = $6; gsub(/ /, "", g) }
	    g == t { s = $7; sub(/\302\261/, "", s); print s }' "$T/out"
}
# positive "MEAN SD": mean > 0, sd >= 0
positive() {
	echo "$1" | awk 'NF == 2 && $1 > 0 && $2 >= 0 { ok = 1 }
	    END { exit !ok }'
}

# units FILE UNIT: bench's size and params cells of FILE ($cells) are the
# tensors' bytes in MiB (within the file's size) and their parameter
# count, summed from show --verbose's shapes, in UNIT (M: 1e6, K: 1e3)
units() {
	"$R1CHAT" bench "$1" -p 1 -n 0 -r 1 >"$T/u.out" 2>&1
	cells=$(awk -F'|' 'NR == 3 { print $3 "|" $4 }' "$T/u.out")
	want=$("$R1CHAT" show "$1" --verbose | awk -v u="$2" '
		/^  [^ ]/ { s = $0; next }
		s == "  Tensors" && NF >= 3 {
			e = 1; sh = $0; sub(/^[^[]*\[/, "", sh)
			sub(/\].*/, "", sh); k = split(sh, d, " ")
			for (i = 1; i <= k; i++) e *= d[i]
			n += e
		}
		END { printf "%.2f %s", n / (u == "M" ? 1e6 : 1e3), u }')
	bytes=$(wc -c <"$1")
	echo "$cells" | awk -F'|' -v want="$want" -v b="$bytes" '
		{ split($1, s, " "); p = $2; gsub(/^ +| +$/, "", p) }
		s[2] == "MiB" && s[1] * 1048576 <= b && s[1] * 1048576 > b / 2 &&
		    p == want { ok = 1 }
		END { exit !ok }'
}

"$R1CHAT" bench "$M" -p 16 -n 5 -r 3 -t 2 >"$T/out" 2>"$T/err"
ok $? "bench -p 16 -n 5 -r 3 -t 2 exits 0"
head -1 "$T/out" | grep -q '^| model  *| *size | *params | threads | *test | *t/s |$'
ok $? "the header names the columns"
sed -n 2p "$T/out" | grep -q '^| -* | -*: | -*: | -*: | -*: | -*: |$'
ok $? "the second line is the markdown rule"
[ "$(wc -l <"$T/out")" -eq 4 ]
ok $? "two rows"
positive "$(row pp16)"
ok $? "pp16 has a positive rate and a deviation: $(row pp16)"
positive "$(row tg5)"
ok $? "tg5 has a positive rate and a deviation: $(row tg5)"
awk -F'|' 'NR > 2 { g = $5; gsub(/ /, "", g); if (g != "2") bad = 1 }
    END { exit bad }' "$T/out"
ok $? "the threads column says 2"
awk -F'|' 'NR > 2 && $2 ~ /^ qwen2 Q8_0 / { k++ } END { exit k != 2 }' \
    "$T/out"
ok $? "the model column"
# units: size and params as llama-bench shows them, scaled to the model,
# never "0.00 GiB | 0.00 B"
units "$M" M
ok $? "a model of 1.6M parameters: MiB and M ($cells)"
"$MKMODEL" --arch qwen2 --type Q8_0 --seed 7 --n-vocab 512 --layers 1 \
    --embd 64 --ff 128 --heads 2 --kv-heads 1 -o "$T/k.gguf" >"$T/mk" 2>&1
units "$T/k.gguf" K
ok $? "a model of 140K parameters: MiB and K ($cells)"
# every row is as wide as the header (the +- sign is one character)
[ "$(sed 's/\xc2\xb1/+/' "$T/out" | awk '{ print length($0) }' |
    sort -u | wc -l)" -eq 1 ]
ok $? "rows line up with the header"

"$R1CHAT" bench "$M" -p 0 -n 3 -r 1 >"$T/out" 2>"$T/err"
ok $? "bench -p 0 exits 0"
[ "$(wc -l <"$T/out")" -eq 3 ] && [ -n "$(row tg3)" ]
ok $? "-p 0 measures generation only"
"$R1CHAT" bench "$M" -p 4 -n 0 -r 1 >"$T/out" 2>"$T/err"
[ "$(wc -l <"$T/out")" -eq 3 ] && [ -n "$(row pp4)" ]
ok $? "-n 0 measures the prompt only"
# -d N: the tests run after N tokens in the cache, rows named as
# llama-bench names them
"$R1CHAT" bench "$M" -p 8 -n 3 -r 1 -d 40 >"$T/out" 2>"$T/err"
ok $? "bench -d 40 exits 0"
positive "$(row pp8@d40)" && positive "$(row tg3@d40)" &&
    [ "$(wc -l <"$T/out")" -eq 4 ]
ok $? "-d 40: rows pp8 @ d40 and tg3 @ d40"

# bad input: usage errors exit 2, a bad file 1, one line each
bad() {
	want=$1
	shift
	"$R1CHAT" bench "$@" >"$T/out" 2>"$T/err"
	rc=$?
	[ "$rc" -eq "$want" ] && [ "$(wc -l <"$T/err")" -eq 1 ] &&
	    grep -q '^r1chat: ' "$T/err" && [ ! -s "$T/out" ]
}
bad 2 "$M" -r 0
ok $? "-r 0 is a usage error: $(cat "$T/err")"
bad 2 "$M" -p -1
ok $? "-p -1 is a usage error: $(cat "$T/err")"
bad 2 "$M" -p 0 -n 0
ok $? "nothing to measure is a usage error: $(cat "$T/err")"
bad 2 "$M" -d -1
ok $? "-d -1 is a usage error: $(cat "$T/err")"
bad 2 "$M" -t 0
ok $? "-t 0 is a usage error: $(cat "$T/err")"
bad 1 "$T/missing.gguf"
ok $? "a missing file is an error: $(cat "$T/err")"
printf 'not a gguf file' >"$T/bad.gguf"
bad 1 "$T/bad.gguf"
ok $? "a malformed file is an error: $(cat "$T/err")"

# The threads' wait: GOMP_SPINCOUNT=3000 in r1chat's environment once it
# runs (it re-executes itself to set it), unless the user chose a policy.
# spin ENV...: r1chat's GOMP_SPINCOUNT, read from /proc once it waits for
# its message on a fifo (so past its start-up).
spin() {
	rm -f "$T/in"
	mkfifo "$T/in" || return 1
	env "$@" "$R1CHAT" "$M" -n 1 <"$T/in" >/dev/null 2>&1 &
	pid=$!
	exec 3>"$T/in"
	k=0
	while [ $k -lt 100 ] && ! grep -q pipe "/proc/$pid/wchan" 2>/dev/null
	do
		sleep 0.1
		k=$((k + 1))
	done
	if grep -q pipe "/proc/$pid/wchan" 2>/dev/null; then
		tr '\0' '\n' <"/proc/$pid/environ" |
		    sed -n 's/^GOMP_SPINCOUNT=//p'
	else
		echo "r1chat did not start"
	fi
	exec 3>&-
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}
if [ -r /proc/self/environ ]; then
	s=$(spin -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT)
	[ "$s" = 3000 ]
	ok $? "no wait policy given: GOMP_SPINCOUNT=3000 ($s)"
	s=$(spin -u GOMP_SPINCOUNT OMP_WAIT_POLICY=passive)
	[ -z "$s" ]
	ok $? "OMP_WAIT_POLICY given: GOMP_SPINCOUNT left unset ($s)"
	s=$(spin -u OMP_WAIT_POLICY GOMP_SPINCOUNT=77)
	[ "$s" = 77 ]
	ok $? "GOMP_SPINCOUNT given: kept ($s)"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
