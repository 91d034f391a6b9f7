/* portal-load N C program [args...]: runs the command N times, at most C at once (posix_spawn),
 * and prints one line: calls, concurrency, seconds, calls/s, p50 and p99 latency in ms, failures
 * (a non-zero exit status). Built static so the same binary runs on the host and in any guest. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: portal-load N C program [args...]\n");
        return 2;
    }
    int n = atoi(argv[1]), c = atoi(argv[2]);
    double *lat = calloc(n, sizeof *lat), *start = calloc(n, sizeof *start);
    pid_t *pids = calloc(n, sizeof *pids);
    int launched = 0, done = 0, running = 0, failures = 0;
    double t0 = now();
    while (done < n) {
        while (running < c && launched < n) {
            start[launched] = now();
            if (posix_spawnp(&pids[launched], argv[3], NULL, NULL, argv + 3, environ) != 0) {
                perror("posix_spawnp");
                return 2;
            }
            launched++, running++;
        }
        int status;
        pid_t pid = wait(&status);
        if (pid < 0) { perror("wait"); return 2; }
        double t = now();
        for (int i = 0; i < launched; i++)
            if (pids[i] == pid) { lat[i] = t - start[i]; pids[i] = 0; break; }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failures++;
        done++, running--;
    }
    double secs = now() - t0;
    qsort(lat, n, sizeof *lat, cmp);
    printf("calls=%d concurrency=%d seconds=%.3f rate=%.1f p50_ms=%.3f p99_ms=%.3f failures=%d\n",
           n, c, secs, n / secs, lat[n / 2] * 1000, lat[(int)(n * 0.99)] * 1000, failures);
    return 0;
}
