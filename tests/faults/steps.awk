# Splits an strace log of one banger run (update or --recover) into steps:
# prints "STEP NAME N" for each system call, N counting the calls of that
# name from the start (what strace's inject=NAME:when=N counts).
#
#   awk -v first=STEP -v rules='REGEX=>STEP;...' -f steps.awk TRACE
#
# banger's progress lines ("banger: [ N ms] STEP: ...", one write(2) for
# the prefix, one for the text) mostly say a step is done, some that one
# begins ("restart: ...", "rollback: <why>"). Each rule maps the text of a
# progress line (an ERE, tried in order, the first that matches wins) to
# the step that the calls after it belong to; a line no rule matches
# changes nothing. The updater's health check begins with its first
# connection to the daemon's socket after the restart began: socket(2) of
# a stream AF_UNIX socket in step "restart" moves to "health" (nothing in
# the restart itself opens one: systemctl runs in a child, untraced).
BEGIN {
	cur = first
	n = split(rules, pairs, ";")
	for (i = 1; i <= n; i++) {
		k = index(pairs[i], "=>")
		re[i] = substr(pairs[i], 1, k - 1)
		to[i] = substr(pairs[i], k + 2)
	}
}
/^[a-z_0-9]+\(/ {
	name = substr($0, 1, index($0, "(") - 1)
	if (NR == 1 && name == "execve")
		next	# made by strace to start banger, not by banger
	count[name]++
	if (cur == "restart" && $0 ~ /^socket\(AF_UNIX, SOCK_STREAM/)
		cur = "health"
	print cur, name, count[name]
	if (name == "write" && $0 ~ /^write\(2, "banger: \[ *[0-9]+ ms\] "/) {
		prefix = 1
	} else if (prefix && name == "write" && $0 ~ /^write\(2, "/) {
		line = $0
		sub(/^write\(2, "/, "", line)
		for (i = 1; i <= n; i++)
			if (line ~ re[i]) {
				cur = to[i]
				break
			}
		prefix = 0
	}
}
