#!/bin/sh
# malformed.sh - `r1chat show` refuses every malformed GGUF cleanly: exit
# status 1, nothing on stdout, exactly one line "r1chat: FILE: reason" on
# stderr (so no sanitizer report either), in bounded time and memory.
#
# The corpus comes from tests/mkbad: files cut at every byte of a valid
# model's metadata, and one file per validation rule with the reason it
# must give (tests/mkbad writes them to DIR/cases).

: "${R1CHAT:?R1CHAT not set}"
MKBAD=${MKBAD:-$(dirname "$R1CHAT")/tests/mkbad}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/r1chat-malformed.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
dir=$tmp/corpus
if ! "$MKBAD" corpus "$dir"; then
	echo "Bail out! $MKBAD corpus failed"
	exit 99
fi

# ASan reserves terabytes of address space: a limit on it would only
# break the sanitizer, which bounds memory itself.
limit_vm=yes
if grep -q __asan_init "$R1CHAT" 2>/dev/null; then
	limit_vm=no
fi

# Extra cases not written by mkbad: FILE<TAB>reason.
tab=$(printf '\t')
{
	cat "$dir/cases"
	printf 'no-such-file.gguf\tNo such file or directory\n'
	printf '.\tnot a regular file\n'
} >"$tmp/cases"

n=0
failed=0
echo "1..$(wc -l <"$tmp/cases")"
while IFS=$tab read -r file expect; do
	n=$((n + 1))
	path=$dir/$file
	(
		if [ $limit_vm = yes ]; then
			ulimit -v 1048576 || exit 98
		fi
		exec timeout 10 "$R1CHAT" show "$path"
	) >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	why=
	if [ $rc -ne 1 ]; then
		why="exit status $rc"
	elif [ -s "$tmp/out" ]; then
		why="output on stdout"
	elif [ "$(wc -l <"$tmp/err")" -ne 1 ]; then
		why="stderr is not one line"
	else
		line=$(cat "$tmp/err")
		case $line in
		"r1chat: $path: "?*)
			reason=${line#"r1chat: $path: "}
			if ! printf '%s\n' "$reason" | grep -qF -- "$expect"; then
				why="reason is not '$expect'"
			fi
			;;
		*)
			why="not 'r1chat: FILE: reason'"
			;;
		esac
	fi
	if [ -z "$why" ]; then
		echo "ok $n - $file: $(sed 's/^r1chat: [^ ]*: //' "$tmp/err")"
	else
		echo "not ok $n - $file: $why"
		sed 's/^/# /' "$tmp/err" | head -20
		failed=$((failed + 1))
	fi
done <"$tmp/cases"
[ $failed -eq 0 ]
