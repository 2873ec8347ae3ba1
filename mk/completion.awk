# mk/completion.awk - the bash completion of krigd, generated from the one
# option table and the command table:
#   awk -f mk/completion.awk src/cli/options.def src/cli/main.c > krigd.bash
# options.def rows: FLAG(ID, "name", COMMANDS, ...), STR(ID, "name", "METAVAR",
# DEFAULT, COMMANDS, ...), NUM(ID, "name", "METAVAR", MIN, MAX, DEFAULT,
# COMMANDS, ...); COMMANDS is OPTC_* bits.  main.c: { "name", cmd_x, "..." }.
BEGIN {
	split("render listen submit drain serve ops legend config", bitname, " ")
	ops = "jobs show retry cancel purge stats"
}
# Strip the string literals out of s (help texts may hold parentheses).
function unquote(s,    out, i, c, instr) {
	out = ""; instr = 0
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (instr && c == "\\") { i++; continue }
		if (c == "\"") { instr = !instr; out = out "\"\""; continue }
		if (!instr) out = out c
	}
	return out
}
function row(text,    kind, name, bare, n, t, i, b, cmd, value) {
	kind = substr(text, 1, index(text, "(") - 1)
	match(text, /"[a-z0-9-]+"/)
	name = substr(text, RSTART + 1, RLENGTH - 2)
	value = kind != "FLAG"
	bare = unquote(text)
	n = split(bare, t, /[^A-Z_]+/)
	for (i = 1; i <= n; i++) {
		if (t[i] !~ /^OPTC_/ || t[i] == "OPTC_NOKEY") continue
		cmd = tolower(substr(t[i], 6))
		if (cmd == "ops") {
			split(ops, b, " ")
			for (k in b) add(b[k], name, value)
		} else
			add(cmd, name, value)
	}
}
function add(cmd, name, value) {
	if (index(" " opts[cmd] " ", " --" name " ")) return
	opts[cmd] = opts[cmd] " --" name
	if (value) vals[cmd] = vals[cmd] " --" name
}
FILENAME ~ /options\.def$/ {
	if (cur == "" && $0 !~ /^(FLAG|STR|NUM) *\(/) next
	cur = cur " " $0
	# a row ends where its parentheses balance (outside strings)
	b = unquote(cur)
	if (gsub(/\(/, "(", b) == gsub(/\)/, ")", b)) { sub(/^ /, "", cur); row(cur); cur = "" }
	next
}
FILENAME ~ /main\.c$/ && /^\t\{ "[a-z]+", cmd_/ {
	match($0, /"[a-z]+"/)
	commands = commands " " substr($0, RSTART + 1, RLENGTH - 2)
}
END {
	print "# krigd(1) bash completion: commands and each command's options."
	print "# Generated from src/cli/options.def and src/cli/main.c by"
	print "# mk/completion.awk at build time - do not edit."
	print "_krigd() {"
	print "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} opts= vals="
	print "\tCOMPREPLY=()"
	print "\tif [ \"$COMP_CWORD\" -eq 1 ]; then"
	print "\t\tCOMPREPLY=($(compgen -W \"" substr(commands, 2) " --help --version\" -- \"$cur\"))"
	print "\t\treturn 0"
	print "\tfi"
	print "\tcase ${COMP_WORDS[1]} in"
	n = split(substr(commands, 2), c, " ")
	for (i = 1; i <= n; i++)
		printf "\t%s) opts=\"%s\"; vals=\"%s\" ;;\n", c[i], substr(opts[c[i]], 2), substr(vals[c[i]], 2)
	print "\t*) return 0 ;;"
	print "\tesac"
	print "\t# the value of an option: a file name, say"
	print "\tcase \" $vals --config \" in"
	print "\t*\" $prev \"*) COMPREPLY=($(compgen -f -- \"$cur\")); return 0 ;;"
	print "\tesac"
	print "\tCOMPREPLY=($(compgen -W \"$opts --config --help\" -- \"$cur\"))"
	print "}"
	print "complete -o default -F _krigd krigd"
}
