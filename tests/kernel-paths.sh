#!/bin/sh
# kernel-paths.sh LOG... - the closing lines of `make check` (its
# check-local): which kernel paths the tests ran and which they skipped,
# and why, from the TAP diagnostics the kernel tests print:
#   # kernel path: NAME ran
#   # kernel path: NAME skipped: REASON
# A path that one test ran and another skipped counts as run.  Fails when
# the logs hold no such line at all, so that the summary cannot silently
# print nothing.

[ $# -gt 0 ] || { echo "usage: kernel-paths.sh LOG..." >&2; exit 2; }
awk '
/^# kernel path: [^ ]+ ran$/ {
	if (!($4 in ran))
		runs = runs " " $4
	ran[$4] = 1
	next
}
/^# kernel path: [^ ]+ skipped: / {
	if (!($4 in why))
		order[++n] = $4
	why[$4] = substr($0, index($0, " skipped: ") + 10)
}
END {
	if (runs == "" && n == 0)
		exit 1
	print "kernel paths run:" (runs == "" ? " none" : runs)
	for (i = 1; i <= n; i++) {
		p = order[i]
		if ((p in ran) || (why[p] in done))
			continue
		done[why[p]] = 1
		line = ""
		for (j = i; j <= n; j++)
			if (!(order[j] in ran) && why[order[j]] == why[p])
				line = line " " order[j]
		print "kernel paths skipped (" why[p] "):" line
	}
}' "$@" && exit 0
echo "kernel-paths.sh: no '# kernel path:' line in $*" >&2
exit 1
