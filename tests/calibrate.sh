#!/bin/sh
# calibrate.sh - the kernels chosen by measuring (quant-calib.c) and their
# cache ($XDG_CACHE_HOME/r1chat/kernels, quant-wisdom.c): the first run
# measures and writes it, the next reads it and leaves it be; a damaged
# or foreign file is measured again and replaced; an unwritable cache
# directory costs the measure, nothing else; `bench --calibrate` prints a
# row for each type and rewrites the cache; R1CHAT_ISA and
# R1CHAT_CALIBRATE=0 neither read nor write it.  Every run here has a
# cache directory of its own; make check sets R1CHAT_CALIBRATE=0, unset
# here.

: "${R1CHAT:?R1CHAT not set}"
MKBAD=${MKBAD:-$(dirname "$R1CHAT")/tests/mkbad}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/r1chat-calibrate.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
. "${top_srcdir:-.}/tests/tap.sh"
unset R1CHAT_CALIBRATE R1CHAT_ISA

"$MKBAD" good "$tmp/m.gguf" || { echo "Bail out! mkbad good"; exit 99; }

# kernels_line OUT: show's Kernels section's row
kernels_line() { sed -n '/^  Kernels$/{n;s/^    //p;}' "$1"; }
# show_in DIR [VAR=VALUE...]: r1chat show with XDG_CACHE_HOME=DIR into
# $tmp/out and $tmp/err; its status
show_in() {
	dir=$1
	shift
	env XDG_CACHE_HOME="$dir" "$@" "$R1CHAT" show "$tmp/m.gguf" \
	    >"$tmp/out" 2>"$tmp/err"
}

# shaped FILE: FILE is a cache as the first run's, but for the paths
# (another measure may choose others where two are close)
shaped() {
	cut -d' ' -f1-2 "$1" >"$tmp/shape.1"
	cut -d' ' -f1-2 "$tmp/first" >"$tmp/shape.2"
	cmp -s "$tmp/shape.1" "$tmp/shape.2"
}

c=$tmp/a
f=$c/r1chat/kernels
show_in "$c"
ok $? "first run: exit 0"
[ -s "$f" ] && [ "$(sed -n 1p "$f")" = "r1chat-kernels 1" ] &&
    sed -n 2p "$f" | grep -q '^key r1chat [^ ]*, .*'
ok $? "first run: the cache written, keyed by version and CPU"
show "$f"
kernels_line "$tmp/out" | grep -Eq '^[a-z0-9-]+ \(measured in [0-9]+ ms'
ok $? "first run: show says the kernels were measured ($(kernels_line \
    "$tmp/out"))"
grep -Eq '^Q4_K tokens [a-z0-9-]+$' "$f" &&
    grep -Eq '^Q8_0 prompts [a-z0-9-]+$' "$f"
ok $? "the cache holds a path for Q4_K's tokens and Q8_0's prompts"
[ ! -s "$tmp/err" ]
ok $? "first run: nothing on stderr"

cp "$f" "$tmp/first"
inode=$(ls -i "$f" | cut -d' ' -f1)
show_in "$c"
ok $? "second run: exit 0"
[ "$(ls -i "$f" | cut -d' ' -f1)" = "$inode" ] && cmp -s "$f" "$tmp/first"
ok $? "second run: the cache read, not rewritten (same inode, same bytes)"
kernels_line "$tmp/out" | grep -q '(measured, cached'
ok $? "second run: show says the choice came from the cache"

# damaged and foreign files: measured again, replaced
for bad in "garbage" "r1chat-kernels 1" \
    "$(sed 's/^key r1chat [^,]*,/key r1chat 0.0.0-other,/' "$tmp/first")" \
    "$(sed 's/^Q4_K tokens .*/Q4_K tokens no-such-path/' "$tmp/first")" \
    "$(sed 's/^Q4_K tokens .*/Q4_K sideways scalar/' "$tmp/first")" \
    "$(sed '/^Q4_K tokens/d' "$tmp/first")" \
    "$(cat "$tmp/first" "$tmp/first")"; do
	printf '%s\n' "$bad" >"$f"
	show_in "$c"
	rc=$?
	[ $rc -eq 0 ] && shaped "$f" &&
	    kernels_line "$tmp/out" | grep -q '(measured in'
	ok $? "a cache of '$(printf '%s' "$bad" | head -c 30 | tr '\n' '|')...' ($rc): measured again and rewritten"
done
head -c 100000 /dev/urandom >"$f"
show_in "$c"
[ $? -eq 0 ] && shaped "$f"
ok $? "a cache of random bytes: measured again and rewritten"

# an unwritable cache directory: a measure every run, no complaint
printf 'x\n' >"$tmp/file"
show_in "$tmp/file"
[ $? -eq 0 ] && [ ! -s "$tmp/err" ] &&
    kernels_line "$tmp/out" | grep -q '(measured in'
ok $? "XDG_CACHE_HOME a file: measured, exit 0, nothing on stderr"
mkdir -p "$tmp/ro"
printf 'x\n' >"$tmp/ro/r1chat"
show_in "$tmp/ro"
[ $? -eq 0 ] && [ ! -s "$tmp/err" ] && [ "$(ls "$tmp/ro")" = r1chat ]
ok $? "\$XDG_CACHE_HOME/r1chat a file: measured, exit 0, nothing written"
env -u XDG_CACHE_HOME HOME="$tmp/home" "$R1CHAT" show "$tmp/m.gguf" \
    >/dev/null 2>&1 && [ -s "$tmp/home/.cache/r1chat/kernels" ]
ok $? "no XDG_CACHE_HOME: ~/.cache/r1chat/kernels"

# R1CHAT_ISA and R1CHAT_CALIBRATE=0: no measure, no cache
for v in R1CHAT_ISA=scalar R1CHAT_CALIBRATE=0; do
	d=$tmp/${v%%=*}
	show_in "$d" "$v"
	[ $? -eq 0 ] && [ ! -e "$d" ]
	ok $? "$v: no cache made"
	mkdir -p "$d/r1chat"
	printf 'garbage\n' >"$d/r1chat/kernels"
	show_in "$d" "$v"
	[ $? -eq 0 ] && [ "$(cat "$d/r1chat/kernels")" = garbage ]
	ok $? "$v: a cache there neither read nor rewritten"
done
show_in "$tmp/x" R1CHAT_ISA=scalar
[ "$(kernels_line "$tmp/out")" = "scalar (R1CHAT_ISA)" ]
ok $? "R1CHAT_ISA=scalar: show says so ($(kernels_line "$tmp/out"))"

# bench --calibrate: a row a type and use, the cache rewritten
cp "$tmp/first" "$f"
inode=$(ls -i "$f" | cut -d' ' -f1)
XDG_CACHE_HOME=$c "$R1CHAT" bench --calibrate >"$tmp/cal" 2>"$tmp/cal.err"
ok $? "bench --calibrate without a model: exit 0"
show "$tmp/cal"
miss=
for t in F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K \
    IQ2_XXS IQ2_XS IQ2_S IQ3_XXS IQ3_S IQ1_S IQ1_M IQ4_NL IQ4_XS; do
	for u in tokens prompts; do
		grep -Eq "^\| $t \| $u \| [a-z0-9-]+ \|( [0-9.]+ \|| - \|)+\$" \
		    "$tmp/cal" || miss="$miss $t/$u"
	done
done
[ -z "$miss" ]
ok $? "bench --calibrate: a row for each type and use (missing:${miss:- none})"
grep -q '^| Q4_K | tokens | [a-z0-9-]* | [0-9.]* |' "$tmp/cal"
ok $? "bench --calibrate: the scalar path timed too"
[ "$(ls -i "$f" | cut -d' ' -f1)" != "$inode" ] && [ -s "$f" ]
ok $? "bench --calibrate: the cache rewritten"
R1CHAT_ISA=scalar "$R1CHAT" bench --calibrate >/dev/null 2>"$tmp/e"
rc=$?
[ $rc -eq 2 ] && grep -q 'R1CHAT_ISA' "$tmp/e"
ok $? "bench --calibrate under R1CHAT_ISA: refused, exit 2 ($rc)"

echo "1..$n"
[ "$failed" -eq 0 ]
