# make.sh TARGET SCRATCH: a good file with a second hard link outside the inbox.
printf '%s\td_sid=33\n%s\td_sid=34\n' "$U" "$U" > "$1"
ln "$1" "$2/other-link"
