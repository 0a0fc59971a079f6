# make.sh TARGET: a symbolic link to nothing.
ln -s /nonexistent/batchdrop-corpus "$1"
