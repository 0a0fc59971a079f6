# make.sh TARGET SCRATCH: a symbolic link to a good trait file outside the inbox. Never followed, never taken.
printf '%s\td_sid=30\n' "$U" > "$2/outside.sync"
ln -s "$2/outside.sync" "$1"
