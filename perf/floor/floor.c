/*
 * The floors that bench-e2e measures eventd against, driven by the same load generator:
 *
 *   floor count   --listen HOST:PORT [--frames]   accept connections, count newlines (or
 *                                                 length-prefixed binary frames) and do nothing
 *                                                 else: the most any reader of this sender can do.
 *   floor forward --listen HOST:PORT --to HOST:PORT
 *                                                 for every accepted connection, connect to the
 *                                                 target (TCP_NODELAY on both) and copy bytes
 *                                                 without looking at them: the least latency any
 *                                                 hop between sender and receiver can add.
 *
 * One thread per connection with blocking reads, as eventd's stream sources do, so the
 * comparison is of the work done per byte and not of the I/O model.
 *
 * Prints "listening" once bound, then (count) every 100 ms "<CLOCK_MONOTONIC ns> <events> <bytes>"
 * so the harness reads a rate over exactly the window it chooses. Exits on SIGTERM/SIGINT.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* 256 KiB reads: the same order as the sender's batches, so a read is rarely split. */
#define READ_BYTES (256 * 1024)

static _Atomic long long g_events;
static _Atomic long long g_bytes;
static int g_frames;
static struct sockaddr_in g_target;

static void die(const char *what)
{
    fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void parse_address(const char *text, struct sockaddr_in *addr)
{
    char host[64];
    const char *colon = strrchr(text, ':');
    if (colon == NULL || (size_t)(colon - text) >= sizeof host) {
        fprintf(stderr, "floor: '%s' is not HOST:PORT\n", text);
        exit(2);
    }
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &addr->sin_addr) != 1) {
        fprintf(stderr, "floor: '%s' is not an IPv4 address\n", host);
        exit(2);
    }
}

static void no_delay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void *count_connection(void *arg)
{
    int fd = (int)(intptr_t)arg;
    unsigned char *buf = malloc(READ_BYTES);
    /* Binary frames: bytes of the current frame still to skip, and a length prefix split across reads. */
    long long skip = 0;
    unsigned char prefix[4];
    int have = 0;
    for (;;) {
        ssize_t n = read(fd, buf, READ_BYTES);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            break;
        }
        long long events = 0;
        if (!g_frames) {
            const unsigned char *p = buf;
            const unsigned char *end = buf + n;
            while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
                events++;
                p++;
            }
        } else {
            ssize_t at = 0;
            while (at < n) {
                if (skip > 0) {
                    ssize_t take = (n - at) < skip ? (n - at) : (ssize_t)skip;
                    skip -= take;
                    at += take;
                    continue;
                }
                prefix[have++] = buf[at++];
                if (have == 4) {
                    skip = (long long)((uint32_t)prefix[0] | (uint32_t)prefix[1] << 8 |
                                       (uint32_t)prefix[2] << 16 | (uint32_t)prefix[3] << 24);
                    have = 0;
                    events++;
                }
            }
        }
        atomic_fetch_add_explicit(&g_events, events, memory_order_relaxed);
        atomic_fetch_add_explicit(&g_bytes, n, memory_order_relaxed);
    }
    close(fd);
    free(buf);
    return NULL;
}

static int write_all(int fd, const unsigned char *p, ssize_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, (size_t)n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += w;
        n -= w;
    }
    return 0;
}

static void *forward_connection(void *arg)
{
    int in = (int)(intptr_t)arg;
    int out = socket(AF_INET, SOCK_STREAM, 0);
    if (out < 0 || connect(out, (struct sockaddr *)&g_target, sizeof g_target) != 0) {
        fprintf(stderr, "floor: connect to the target: %s\n", strerror(errno));
        close(in);
        if (out >= 0) {
            close(out);
        }
        return NULL;
    }
    no_delay(in);
    no_delay(out);
    unsigned char *buf = malloc(READ_BYTES);
    for (;;) {
        ssize_t n = read(in, buf, READ_BYTES);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0 || write_all(out, buf, n) != 0) {
            break;
        }
        atomic_fetch_add_explicit(&g_bytes, n, memory_order_relaxed);
    }
    close(in);
    close(out);
    free(buf);
    return NULL;
}

static void *report(void *arg)
{
    (void)arg;
    struct timespec period = {0, 100 * 1000 * 1000};
    for (;;) {
        nanosleep(&period, NULL);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        printf("%lld %lld %lld\n", (long long)now.tv_sec * 1000000000LL + now.tv_nsec,
               atomic_load_explicit(&g_events, memory_order_relaxed),
               atomic_load_explicit(&g_bytes, memory_order_relaxed));
        fflush(stdout);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *listen_at = NULL;
    const char *to = NULL;
    int forward;
    if (argc < 2 || (strcmp(argv[1], "count") != 0 && strcmp(argv[1], "forward") != 0)) {
        fprintf(stderr, "usage: floor count --listen HOST:PORT [--frames]\n"
                        "       floor forward --listen HOST:PORT --to HOST:PORT\n");
        return 2;
    }
    forward = strcmp(argv[1], "forward") == 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            listen_at = argv[++i];
        } else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc) {
            to = argv[++i];
        } else if (strcmp(argv[i], "--frames") == 0) {
            g_frames = 1;
        } else {
            fprintf(stderr, "floor: unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (listen_at == NULL || (forward && to == NULL)) {
        fprintf(stderr, "floor: --listen is required (and --to for forward)\n");
        return 2;
    }
    if (forward) {
        parse_address(to, &g_target);
    }

    struct sockaddr_in addr;
    parse_address(listen_at, &addr);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    if (lfd < 0) {
        die("socket");
    }
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        die("bind");
    }
    if (listen(lfd, 64) != 0) {
        die("listen");
    }
    printf("listening\n");
    fflush(stdout);

    pthread_t t;
    if (!forward) {
        pthread_create(&t, NULL, report, NULL);
        pthread_detach(t);
    }
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR) {
                continue;
            }
            die("accept");
        }
        pthread_create(&t, NULL, forward ? forward_connection : count_connection, (void *)(intptr_t)fd);
        pthread_detach(t);
    }
}
