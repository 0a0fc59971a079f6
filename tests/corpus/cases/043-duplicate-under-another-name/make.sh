# make.sh TARGET: the bytes of case 019 (processed ok earlier) under another name.
cp "$CORPUS/cases/019-crlf/input" "$1"
