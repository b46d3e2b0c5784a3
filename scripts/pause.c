/*
 * The pod sandbox ("pause") process of the test node: it holds the pod's namespaces open, reaps
 * the zombies that end up as its children when it is the pod's PID 1, and exits on SIGTERM or
 * SIGINT. Built static (gcc -static) so its image needs no libraries: scripts/test-images.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig) {
    (void)sig;
    _exit(0);
}

static void on_child(int sig) {
    (void)sig;
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

static void handle(int sig, void (*fn)(int)) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = fn;
    action.sa_flags = SA_RESTART | (sig == SIGCHLD ? SA_NOCLDSTOP : 0);
    sigemptyset(&action.sa_mask);
    if (sigaction(sig, &action, NULL) != 0) {
        perror("sigaction");
        _exit(2);
    }
}

int main(void) {
    if (getpid() != 1) {
        fprintf(stderr, "pause: not PID 1; orphans will not be reaped here\n");
    }
    handle(SIGTERM, on_stop);
    handle(SIGINT, on_stop);
    handle(SIGCHLD, on_child);
    for (;;) {
        pause();
    }
}
