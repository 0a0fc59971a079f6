# make.sh TARGET SCRATCH: a 1 MB gzip file (ten members of 100 MB of zeros each) that inflates to 1 GB,
# past max_decoded_size (64M in t_corpus.sh). Generated, not stored: it is binary noise in git.
head -c 104857600 /dev/zero | gzip -n -9 > "$2/member.gz"
for i in 1 2 3 4 5 6 7 8 9 10; do cat "$2/member.gz"; done > "$1"
rm -f "$2/member.gz"
