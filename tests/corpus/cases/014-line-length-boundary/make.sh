# make.sh TARGET: line 1 is exactly max_line_length (102400) bytes, line 2 one byte more (CRLF: the CR
# does not count). Padding is empty items (,,,), which the aam plugin skips.
l1=$(printf '%s\td_sid=24' "$U"); n=$((102400 - ${#l1}))
{ printf '%s' "$l1"; head -c $n /dev/zero | tr '\0' ,; printf '\r\n'
  printf '%s\td_sid=26' "$U"; head -c $((n + 1)) /dev/zero | tr '\0' ,; printf '\n'; } > "$1"
