# tap.sh - TAP helpers for the shell tests, which source it:
#   ok STATUS DESCRIPTION   one test line; STATUS 0 passes, others fail
#   show FILE...            the files as TAP comments (# lines)
#   on_tty INPUT CMD...     CMD with a terminal for stdin, stdout and
#                           stderr (util-linux script(1)), INPUT typed on
#                           it, then Ctrl-D; prints what the terminal
#                           shows, CRs dropped; status 77 without script(1)
#   mkqwen2 PATH [OPTION...] tests/mkmodel's qwen2 model on $vocab at PATH:
#                           F32, seed 1, unless the mkmodel OPTIONs say
#                           otherwise; bails out (exit 99) when it fails
#   serve_port FILE         the port `r1chat serve` says it listens on in
#                           FILE (its stderr), waiting 30 s at most; nothing
#                           when it never says
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
mkqwen2() {
	out=$1
	shift
	if ! "$MKMODEL" --arch qwen2 --type F32 --seed 1 --vocab "$vocab" "$@" \
	    -o "$out" >"$out.err" 2>&1; then
		show "$out.err"
		echo "Bail out! mkmodel failed"
		exit 99
	fi
	rm -f "$out.err"
}
serve_port() {
	sp_i=0
	while [ $sp_i -lt 300 ]; do
		sp_port=$(sed -n 's|.* on http://[0-9.]*:\([0-9]*\)/v1$|\1|p' \
		    "$1" 2>/dev/null)
		[ -n "$sp_port" ] && break
		sleep 0.1
		sp_i=$((sp_i + 1))
	done
	printf '%s' "$sp_port"
}
