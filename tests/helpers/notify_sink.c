/* notify_sink.c: test helper: bind a NOTIFY_SOCKET datagram socket and print each sd_notify message, one line per field. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static volatile sig_atomic_t done;

static void on_term(int sig)
{
    (void)sig;
    done = 1;
}

int main(int argc, char **argv)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (argc != 2 || strlen(argv[1]) >= sizeof sa.sun_path) {
        fprintf(stderr, "usage: notify_sink SOCKET-PATH\n");
        return 2;
    }
    strcpy(sa.sun_path, argv[1]);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    unlink(argv[1]);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("notify_sink: socket/bind");
        return 1;
    }
    struct sigaction act = {.sa_handler = on_term};
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);
    char buf[4096];
    while (!done) {
        ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
        if (n < 0)
            continue; /* EINTR: check done */
        buf[n] = '\0';
        for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
            printf("%s\n", line);
    }
    unlink(argv[1]);
    return 0;
}
