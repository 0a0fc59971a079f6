# make.sh TARGET: one line of 10 MB (a user ID, a TAB and 10 MB of items), newline-terminated.
{ printf '%s\t' "$U"; head -c 10485760 /dev/zero | tr '\0' x | sed 's/x\{9\}/d_sid=24,/g'; printf '\n'; } > "$1"
