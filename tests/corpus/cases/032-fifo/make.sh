# make.sh TARGET: a named pipe with no writer. Opening it for reading would block: the agent must not.
mkfifo "$1"
