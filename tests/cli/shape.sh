#!/bin/sh
# tests/cli/shape.sh FILE... - the shape of the C code: prints one line
# "LINES FILE:LINE NAME" per function body (from its opening brace to its
# closing one, both counted).  The tree's style (Linux kernel) puts a
# function's braces alone at column 0, and nothing else starts a line with
# them, so a brace at column 0 is a function's; a brace inside a comment or
# string at column 0 would be miscounted, which the style never does.
# The name is the identifier before the first "(" of the last line before
# the body that starts at column 0 with a letter (the declaration's head).
awk '
FNR == 1 { head = ""; start = 0 }
/^[A-Za-z_]/ && !start { head = $0; headline = FNR }
/^\{/ && !start { start = FNR; next }
/^\}/ && start {
	name = head
	if (match(name, /[A-Za-z_][A-Za-z0-9_]*[ \t]*\(/))
		name = substr(name, RSTART, RLENGTH - 1)
	sub(/[ \t]+$/, "", name)
	printf "%d %s:%d %s\n", FNR - start + 1, FILENAME, headline, name
	start = 0
}
' "$@"
