#!/bin/sh
# faults.sh - what the world does to a running r1chat: the disk full while
# quantize writes (tests/faultshim.so: the old file intact, one line), the
# model file truncated while mapped (SIGBUS: one line naming it, exit 1,
# no crash), stdout closed early in one-shot (| head -c 10: a quiet exit,
# SIGPIPE's or, when SIGPIPE is ignored, EPIPE's).  The TUI's faults
# (/save on a full disk or killed mid-write, SIGHUP, SIGTERM, SIGBUS) are
# in tui.sh.

: "${R1CHAT:?R1CHAT must name the r1chat binary}"
: "${MKMODEL:?MKMODEL must name tests/mkmodel}"
: "${FAULTSHIM:?FAULTSHIM must name tests/faultshim.so}"
vocab="${R1CHAT_TESTDATA:-${top_srcdir:-.}/tests/data}/vocab/deepseek-r1-qwen.gguf"
if [ ! -f "$vocab" ]; then
	echo "Bail out! no test data ($vocab)"
	exit 99
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/r1chat-faults.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
LC_ALL=C.UTF-8
export LC_ALL
OMP_WAIT_POLICY=passive
export OMP_WAIT_POLICY
# A sanitized build's runtime need not come first for the shim.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
export ASAN_OPTIONS

. "${top_srcdir:-.}/tests/tap.sh"

model="$tmp/m.gguf"
mkqwen2 "$model"

# wait_size FILE SECONDS: polls until FILE holds something.
wait_size() {
	deadline=$(( $(date +%s) + $2 ))
	while [ "$(date +%s)" -le "$deadline" ]; do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# --- the disk full while quantize writes -----------------------------------------

if [ -w /dev/full ]; then
	"$R1CHAT" quantize "$model" "$tmp/q.gguf" Q8_0 >/dev/null 2>&1
	cp "$tmp/q.gguf" "$tmp/q.before"
	LD_PRELOAD="$FAULTSHIM" R1CHAT_FAULT=full R1CHAT_FAULT_PATH=q.gguf \
	    "$R1CHAT" quantize "$model" "$tmp/q.gguf" Q4_0 >"$tmp/out" \
	    2>"$tmp/err"
	rc=$?
	[ $rc -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
	    grep -q "q\.gguf.*No space left on device" "$tmp/err"
	ok $? "quantize on a full disk: exit 1, one line (status $rc)"
	show "$tmp/err"
	cmp -s "$tmp/q.gguf" "$tmp/q.before"
	ok $? "quantize on a full disk: the old file is intact"
	[ -z "$(ls "$tmp" | grep '^q\.gguf\.')" ]
	ok $? "quantize on a full disk: no temporary file left"
else
	for t in "exit 1, one line" "the old file is intact" \
	    "no temporary file left"; do
		n=$((n + 1))
		echo "ok $n # SKIP quantize on a full disk: $t (no /dev/full)"
	done
fi

# --- the model truncated while mapped: SIGBUS ----------------------------------------

cp "$model" "$tmp/cut.gguf"
"$R1CHAT" --template deepseek-r1 --temp 0 -n 100000 --think-budget 8 \
    "$tmp/cut.gguf" hello >"$tmp/cut.out" 2>"$tmp/cut.err" &
pid=$!
wait_size "$tmp/cut.out" 30
: >"$tmp/cut.gguf"
wait $pid
rc=$?
[ $rc -eq 1 ]
ok $? "the model truncated mid-answer: exit 1 (status $rc)"
tail -n 1 "$tmp/cut.err" | grep -qx \
    "r1chat: $tmp/cut.gguf: the file was truncated while in use"
ok $? "the model truncated mid-answer: one line naming the file"
tail -n 1 "$tmp/cut.err" | show
[ -z "$(ls "$tmp" | grep '^core')" ]
ok $? "the model truncated mid-answer: no core"

# --- stdout closed early ----------------------------------------------------------

chat() {
	"$R1CHAT" --template deepseek-r1 --temp 0 -n 2000 --think-budget 8 \
	    --hidethinking "$model" "$@"
}
{ chat hello 2>"$tmp/pipe.err"; echo $? >"$tmp/pipe.rc"; } | head -c 10 \
    >"$tmp/pipe.out"
[ "$(wc -c <"$tmp/pipe.out")" -eq 10 ] && [ ! -s "$tmp/pipe.err" ] &&
    [ "$(cat "$tmp/pipe.rc")" -eq 141 ]
ok $? "| head -c 10: quiet, SIGPIPE's status ($(cat "$tmp/pipe.rc"))"
show "$tmp/pipe.err"
# SIGPIPE ignored (as some parents leave it): EPIPE ends the answer at once.
(
	trap '' PIPE
	{ chat hello 2>"$tmp/epipe.err"; echo $? >"$tmp/epipe.rc"; } |
	    head -c 10 >/dev/null
)
[ ! -s "$tmp/epipe.err" ] && [ "$(cat "$tmp/epipe.rc")" -eq 141 ]
ok $? "| head -c 10, SIGPIPE ignored: quiet, stopped, 141 ($(cat "$tmp/epipe.rc"))"
show "$tmp/epipe.err"
if [ -w /dev/full ]; then
	chat hello >/dev/full 2>"$tmp/full.err"
	rc=$?
	[ $rc -eq 1 ] && [ "$(cat "$tmp/full.err")" = \
	    "r1chat: write error: No space left on device" ]
	ok $? "stdout on a full disk: exit 1, one line (status $rc)"
	show "$tmp/full.err"
else
	n=$((n + 1))
	echo "ok $n # SKIP stdout on a full disk (no /dev/full)"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
