/*
 * sockact.c: starts a program the way systemd's socket activation does,
 * for the tests: it listens on a unix socket, passes it as file descriptor
 * 3 with LISTEN_FDS=1 and LISTEN_PID set to the program's pid, and execs
 * the program.
 *
 *   sockact SOCKET_PATH PROGRAM [ARGS...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
    struct sockaddr_un sa;
    char pid[24];
    int fd;

    if (argc < 3) {
        fprintf(stderr, "usage: sockact SOCKET_PATH PROGRAM [ARGS...]\n");
        return 2;
    }
    if (strlen(argv[1]) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "sockact: socket path too long\n");
        return 2;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, argv[1]);
    unlink(argv[1]);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(fd, 128) != 0) {
        perror("sockact");
        return 1;
    }
    if (fd != 3) {
        if (dup2(fd, 3) < 0) {
            perror("sockact: dup2");
            return 1;
        }
        close(fd);
    }
    /* After exec the program keeps this pid. */
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    setenv("LISTEN_FDS", "1", 1);
    setenv("LISTEN_PID", pid, 1);
    execvp(argv[2], argv + 2);
    perror("sockact: exec");
    return 127;
}
