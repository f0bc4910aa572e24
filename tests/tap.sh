# tap.sh - TAP helpers for the shell tests, which source it:
#   ok STATUS DESCRIPTION   one test line; STATUS 0 passes, others fail
#   show FILE...            the files as TAP comments (# lines)
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
