# make.sh TARGET: a folder where a file is expected, with a file inside.
mkdir "$1"
printf '%s\td_sid=36\n' "$U" > "$1/ftp_dpm_478_1700000036.sync"
