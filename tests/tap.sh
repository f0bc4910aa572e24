# tap.sh - TAP helpers for the shell tests, which source it:
#   ok STATUS DESCRIPTION   one test line; STATUS 0 passes, others fail
#   show FILE...            the files as TAP comments (# lines)
#   on_tty INPUT CMD...     CMD with a terminal for stdin, stdout and
#                           stderr (util-linux script(1)), INPUT typed on
#                           it, then Ctrl-D; prints what the terminal
#                           shows, CRs dropped; status 77 without script(1)
# $n counts the tests and $failed the failures; a script ends with
# echo "1..$n" and [ "$failed" -eq 0 ].
n=0
failed=0
ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}
show() { sed 's/^/# /' "$@"; }
on_tty() {
	input=$1
	shift
	script -qec true /dev/null </dev/null >/dev/null 2>&1 || return 77
	cmd=
	for a; do
		cmd="$cmd '$(printf '%s' "$a" | sed "s/'/'\\\\''/g")'"
	done
	printf '%s\n' "$input" | script -qec "$cmd" /dev/null | tr -d '\r'
}
