# mk/schema2c.awk - embed a text file as a C string: awk -v name=NAME -f mk/schema2c.awk FILE
# Each line becomes a string literal ending in \n; backslashes and quotes escaped.
BEGIN { printf "/* generated from schema/queue.sql by mk/schema2c.awk - do not edit */\n"
	printf "const char %s[] =\n", name }
{ gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, "\\t"); printf "\t\"%s\\n\"\n", $0 }
END { printf "\t\"\";\n" }
