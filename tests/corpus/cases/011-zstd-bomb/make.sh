# make.sh TARGET: a zstd file of 256 MB of zeros (8 KB, a ratio of 30000), past max_decoded_size (64M).
head -c 268435456 /dev/zero | zstd -q -c > "$1"
