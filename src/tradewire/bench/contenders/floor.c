/*
 * floor.c - the machine's own tick-to-trade floor for `tradewire bench`.
 *
 * Why it exists: the bench compares engines against each other, but without a lower bound
 * nobody knows how much of a figure is the engine and how much is the kernel, loopback and
 * the simulator. This contender does the least work that still answers the bench protocol
 * (src/tradewire/sim/triggers.py): no JSON library, no allocation on the hot path, one
 * pre-formatted HTTP request per trigger, written on one kept-alive connection.
 *
 * Build:  cc -O2 -Wall -Wextra -o floor floor.c
 * Usage:  floor FEED_HOST:PORT BROKER_HOST:PORT SYMBOLS [--busy-poll] [--path /stocks]
 *               [--trigger-symbol TRIG] [--key test-key] [--secret test-secret] [--tag T]
 *
 * FEED may also be given as ws://host:port/path and BROKER as http://host:port (the URLs
 * `tradewire sim` prints). SYMBOLS is the comma list of background symbols; the trigger
 * symbol is always added.
 *
 * Broker responses are parsed just enough to stay in sync (status line, Content-Length) so
 * that rejected orders are counted and reported on exit; a response without Content-Length
 * (chunked) switches the reader to "drain only", which still keeps the connection usable
 * because the floor never waits for an answer before sending the next order.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag = 0;

static void on_signal(int sig) {
    (void)sig;
    stop_flag = 1;
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

/* ---- growable byte buffer ------------------------------------------------------------- */

typedef struct {
    unsigned char *data;
    size_t len, cap;
} buf_t;

static void buf_reserve(buf_t *b, size_t extra) {
    if (b->len + extra <= b->cap) return;
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < b->len + extra) cap *= 2;
    unsigned char *p = realloc(b->data, cap);
    if (!p) die("realloc");
    b->data = p;
    b->cap = cap;
}

static void buf_append(buf_t *b, const void *src, size_t n) {
    buf_reserve(b, n);
    memcpy(b->data + b->len, src, n);
    b->len += n;
}

static void buf_consume(buf_t *b, size_t n) {
    if (n >= b->len) {
        b->len = 0;
    } else if (n) {
        memmove(b->data, b->data + n, b->len - n);
        b->len -= n;
    }
}

/* ---- sockets ---------------------------------------------------------------------------- */

static void split_hostport(const char *arg, const char *scheme, char *host, size_t hostlen,
                           char *port, size_t portlen, char *path, size_t pathlen) {
    const char *s = arg;
    size_t sl = strlen(scheme);
    if (strncmp(s, scheme, sl) == 0) s += sl;
    const char *slash = strchr(s, '/');
    const char *end = slash ? slash : s + strlen(s);
    const char *colon = memrchr(s, ':', (size_t)(end - s));
    if (!colon) {
        fprintf(stderr, "floor: %s: expected host:port\n", arg);
        exit(2);
    }
    snprintf(host, hostlen, "%.*s", (int)(colon - s), s);
    snprintf(port, portlen, "%.*s", (int)(end - colon - 1), colon + 1);
    if (path && slash) snprintf(path, pathlen, "%s", slash);
}

static int tcp_connect(const char *host, const char *port) {
    struct addrinfo hints, *res, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "floor: %s:%s: %s\n", host, port, gai_strerror(rc));
        exit(1);
    }
    int fd = -1;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) die("connect");
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) die("TCP_NODELAY");
    return fd;
}

/* Write everything; a non-blocking socket that is momentarily full is spun on, not polled:
 * with requests of a few hundred bytes that never happens on a healthy connection. */
static void send_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
            die("send");
        }
        c += w;
        n -= (size_t)w;
    }
}

/* ---- WebSocket client frames -------------------------------------------------------------- */

/* Client frames must be masked (RFC 6455 5.3); a fixed key is allowed to be predictable
 * here, it only defeats proxy cache poisoning, which loopback has none of. */
static void ws_send(int fd, int opcode, const void *payload, size_t n) {
    static const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
    unsigned char hdr[14];
    size_t h = 0;
    hdr[h++] = (unsigned char)(0x80 | opcode);
    if (n < 126) {
        hdr[h++] = (unsigned char)(0x80 | n);
    } else if (n <= 0xffff) {
        hdr[h++] = 0x80 | 126;
        hdr[h++] = (unsigned char)(n >> 8);
        hdr[h++] = (unsigned char)n;
    } else {
        hdr[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--) hdr[h++] = (unsigned char)((uint64_t)n >> (8 * i));
    }
    memcpy(hdr + h, mask, 4);
    h += 4;
    buf_t out = {0};
    buf_append(&out, hdr, h);
    buf_reserve(&out, n);
    const unsigned char *src = payload;
    for (size_t i = 0; i < n; i++) out.data[out.len + i] = src[i] ^ mask[i & 3];
    out.len += n;
    send_all(fd, out.data, out.len);
    free(out.data);
}

/* ---- state ----------------------------------------------------------------------------- */

static int feed_fd = -1, broker_fd = -1;
static int busy = 0;
static char trig_needle[64]; /* "sym":"TRIG" */
static char tag[64];
static char broker_hostport[300];
static char api_key[128] = "test-key", api_secret[128] = "test-secret";
static char trigger_symbol[32] = "TRIG";
static long triggers_seen = 0, orders_sent = 0, responses_ok = 0, responses_bad = 0;
static int subscribed = 0;
static char sub_ack[64]; /* subscribed to: Q.TRIG */

static buf_t feed_in, msg, broker_in;
static int msg_opcode = 0;
static int broker_drain_only = 0;

/* The value text of "key": inside [obj, end): digits copied verbatim, so the limit price
 * is the exact decimal the simulator wrote and never goes through a double. */
static int field_text(const char *obj, const char *end, const char *key, char *out,
                      size_t outlen) {
    const char *p = memmem(obj, (size_t)(end - obj), key, strlen(key));
    if (!p) return 0;
    p += strlen(key);
    while (p < end && (*p == ' ' || *p == ':')) p++;
    const char *s = p;
    while (p < end && ((*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == 'e' ||
                       *p == 'E' || *p == '+'))
        p++;
    size_t n = (size_t)(p - s);
    if (n == 0 || n >= outlen) return 0;
    memcpy(out, s, n);
    out[n] = 0;
    return 1;
}

static void send_order(const char *q, const char *bp, const char *ap) {
    long k = strtol(q, NULL, 10);
    int buy = (k % 2) == 0;
    char body[320];
    int blen = snprintf(body, sizeof body,
                        "{\"symbol\":\"%s\",\"qty\":\"1\",\"side\":\"%s\",\"type\":\"limit\","
                        "\"time_in_force\":\"day\",\"limit_price\":\"%s\","
                        "\"client_order_id\":\"%s-t%ld\"}",
                        trigger_symbol, buy ? "buy" : "sell", buy ? ap : bp, tag, k);
    char req[1024];
    int rlen = snprintf(req, sizeof req,
                        "POST /v2/orders HTTP/1.1\r\n"
                        "Host: %s\r\n"
                        "APCA-API-KEY-ID: %s\r\n"
                        "APCA-API-SECRET-KEY: %s\r\n"
                        "Content-Type: application/json\r\n"
                        "Content-Length: %d\r\n"
                        "Connection: keep-alive\r\n"
                        "\r\n%s",
                        broker_hostport, api_key, api_secret, blen, body);
    if (rlen <= 0 || (size_t)rlen >= sizeof req) {
        fprintf(stderr, "floor: order request too long\n");
        return;
    }
    send_all(broker_fd, req, (size_t)rlen);
    orders_sent++;
}

/* Quote events have no nested objects, so the trigger's object is the nearest braces. */
static void scan_text(const char *p, size_t n) {
    const char *end = p + n;
    size_t nl = strlen(trig_needle);
    const char *cur = p;
    while (cur < end) {
        const char *hit = memmem(cur, (size_t)(end - cur), trig_needle, nl);
        if (!hit) break;
        const char *obj = hit;
        while (obj > p && *obj != '{') obj--;
        const char *close = memchr(hit, '}', (size_t)(end - hit));
        if (!close) break;
        char q[32], bp[32], ap[32];
        if (field_text(obj, close, "\"q\"", q, sizeof q) &&
            field_text(obj, close, "\"bp\"", bp, sizeof bp) &&
            field_text(obj, close, "\"ap\"", ap, sizeof ap)) {
            triggers_seen++;
            send_order(q, bp, ap);
        }
        cur = close + 1;
    }
    if (!subscribed) {
        if (memmem(p, n, "auth_failed", 11)) {
            fprintf(stderr, "floor: feed authentication failed\n");
            exit(1);
        }
        if (memmem(p, n, sub_ack, strlen(sub_ack))) {
            subscribed = 1;
            printf("floor ready\n");
            fflush(stdout);
        }
    }
}

/* Parse every complete frame in feed_in; a partial frame stays for the next read. */
static void parse_frames(void) {
    size_t pos = 0;
    for (;;) {
        size_t avail = feed_in.len - pos;
        unsigned char *f = feed_in.data + pos;
        if (avail < 2) break;
        int fin = f[0] & 0x80;
        int opcode = f[0] & 0x0f;
        int masked = f[1] & 0x80;
        uint64_t plen = f[1] & 0x7f;
        size_t h = 2;
        if (plen == 126) {
            if (avail < 4) break;
            plen = ((uint64_t)f[2] << 8) | f[3];
            h = 4;
        } else if (plen == 127) {
            if (avail < 10) break;
            plen = 0;
            for (int i = 0; i < 8; i++) plen = (plen << 8) | f[2 + i];
            h = 10;
        }
        unsigned char mkey[4] = {0};
        if (masked) {
            if (avail < h + 4) break;
            memcpy(mkey, f + h, 4);
            h += 4;
        }
        if (avail - h < plen) break;
        unsigned char *payload = f + h;
        if (masked)
            for (uint64_t i = 0; i < plen; i++) payload[i] ^= mkey[i & 3];
        switch (opcode) {
        case 0x9: /* ping */
            ws_send(feed_fd, 0xA, payload, (size_t)plen);
            break;
        case 0x8: /* close: answer and stop */
            ws_send(feed_fd, 0x8, payload, plen >= 2 ? 2 : 0);
            fprintf(stderr, "floor: feed closed the connection\n");
            stop_flag = 1;
            break;
        case 0xA:
            break;
        case 0x0: /* continuation of a fragmented message */
            buf_append(&msg, payload, (size_t)plen);
            if (fin) {
                if (msg_opcode == 0x1 || msg_opcode == 0x2) scan_text((char *)msg.data, msg.len);
                msg.len = 0;
            }
            break;
        default: /* text or binary (Polygon sends JSON as text) */
            if (fin) {
                scan_text((char *)payload, (size_t)plen);
            } else {
                msg.len = 0;
                msg_opcode = opcode;
                buf_append(&msg, payload, (size_t)plen);
            }
        }
        pos += h + (size_t)plen;
    }
    buf_consume(&feed_in, pos);
}

/* Returns 0 when nothing was readable (non-blocking), -1 on EOF, 1 otherwise. */
static int read_feed(void) {
    buf_reserve(&feed_in, 262144);
    ssize_t r = recv(feed_fd, feed_in.data + feed_in.len, feed_in.cap - feed_in.len,
                     busy ? MSG_DONTWAIT : 0);
    if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
        die("recv feed");
    }
    if (r == 0) return -1;
    feed_in.len += (size_t)r;
    parse_frames();
    return 1;
}

static void parse_responses(void) {
    if (broker_drain_only) {
        broker_in.len = 0;
        return;
    }
    for (;;) {
        char *d = (char *)broker_in.data;
        char *hend = memmem(d, broker_in.len, "\r\n\r\n", 4);
        if (!hend) return;
        size_t hlen = (size_t)(hend - d) + 4;
        int status = 0;
        if (broker_in.len > 12 && strncmp(d, "HTTP/1.", 7) == 0) status = atoi(d + 9);
        long clen = -1;
        for (char *line = memchr(d, '\n', hlen); line && line < hend;
             line = memchr(line + 1, '\n', (size_t)(hend - line))) {
            if (strncasecmp(line + 1, "content-length:", 15) == 0) clen = atol(line + 16);
        }
        if (status >= 200 && status < 300)
            responses_ok++;
        else
            responses_bad++;
        if (clen < 0) { /* chunked or close-delimited: stop counting, just drain */
            broker_drain_only = 1;
            broker_in.len = 0;
            return;
        }
        if (broker_in.len < hlen + (size_t)clen) return;
        if (status < 200 || status >= 300)
            fprintf(stderr, "floor: broker answered %d: %.*s\n", status, (int)clen, d + hlen);
        buf_consume(&broker_in, hlen + (size_t)clen);
    }
}

static int read_broker(void) {
    buf_reserve(&broker_in, 65536);
    ssize_t r = recv(broker_fd, broker_in.data + broker_in.len, broker_in.cap - broker_in.len,
                     MSG_DONTWAIT);
    if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
        die("recv broker");
    }
    if (r == 0) return -1;
    broker_in.len += (size_t)r;
    parse_responses();
    return 1;
}

/* ---- setup ----------------------------------------------------------------------------- */

static void ws_handshake(const char *host, const char *port, const char *path) {
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s:%s\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "\r\n",
                     path, host, port);
    send_all(feed_fd, req, (size_t)n);
    for (;;) {
        buf_reserve(&feed_in, 4096);
        ssize_t r = recv(feed_fd, feed_in.data + feed_in.len, feed_in.cap - feed_in.len, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) die("websocket handshake");
        feed_in.len += (size_t)r;
        char *hend = memmem(feed_in.data, feed_in.len, "\r\n\r\n", 4);
        if (!hend) continue;
        if (feed_in.len < 12 || memcmp(feed_in.data + 9, "101", 3) != 0) {
            fprintf(stderr, "floor: websocket upgrade refused: %.*s\n",
                    (int)(hend - (char *)feed_in.data), (char *)feed_in.data);
            exit(1);
        }
        /* Frames the server sent right behind its 101 stay in the buffer. */
        buf_consume(&feed_in, (size_t)(hend - (char *)feed_in.data) + 4);
        return;
    }
}

static void usage(void) {
    fprintf(stderr, "usage: floor FEED_HOST:PORT BROKER_HOST:PORT SYMBOLS [--busy-poll] "
                    "[--path /stocks] [--trigger-symbol TRIG] [--key K] [--secret S] "
                    "[--tag T]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *pos[3];
    int npos = 0;
    char path[256] = "/stocks";
    int path_given = 0;
    tag[0] = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--busy-poll") == 0) {
            busy = 1;
        } else if (i + 1 < argc && strcmp(a, "--path") == 0) {
            snprintf(path, sizeof path, "%s", argv[++i]);
            path_given = 1;
        } else if (i + 1 < argc && strcmp(a, "--trigger-symbol") == 0) {
            snprintf(trigger_symbol, sizeof trigger_symbol, "%s", argv[++i]);
        } else if (i + 1 < argc && strcmp(a, "--key") == 0) {
            snprintf(api_key, sizeof api_key, "%s", argv[++i]);
        } else if (i + 1 < argc && strcmp(a, "--secret") == 0) {
            snprintf(api_secret, sizeof api_secret, "%s", argv[++i]);
        } else if (i + 1 < argc && strcmp(a, "--tag") == 0) {
            snprintf(tag, sizeof tag, "%s", argv[++i]);
        } else if (a[0] == '-' && a[1] == '-') {
            usage();
        } else if (npos < 3) {
            pos[npos++] = a;
        } else {
            usage();
        }
    }
    if (npos != 3) usage();
    /* client_order_id must be unique per simulator: a fresh tag per process. */
    if (!tag[0]) snprintf(tag, sizeof tag, "floorc%ld", (long)getpid());
    snprintf(trig_needle, sizeof trig_needle, "\"sym\":\"%s\"", trigger_symbol);
    snprintf(sub_ack, sizeof sub_ack, "subscribed to: Q.%s", trigger_symbol);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: poll() must return EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    char fhost[256], fport[16], bhost[256], bport[16], urlpath[256] = "";
    split_hostport(pos[0], "ws://", fhost, sizeof fhost, fport, sizeof fport, urlpath,
                   sizeof urlpath);
    if (urlpath[0] && !path_given) snprintf(path, sizeof path, "%s", urlpath);
    split_hostport(pos[1], "http://", bhost, sizeof bhost, bport, sizeof bport, NULL, 0);
    snprintf(broker_hostport, sizeof broker_hostport, "%s:%s", bhost, bport);

    /* Broker first: the connection is open (and warm) before the first trigger can come. */
    broker_fd = tcp_connect(bhost, bport);
    feed_fd = tcp_connect(fhost, fport);
    ws_handshake(fhost, fport, path);

    char auth[256];
    int alen = snprintf(auth, sizeof auth, "{\"action\":\"auth\",\"params\":\"%s\"}", api_key);
    ws_send(feed_fd, 0x1, auth, (size_t)alen);
    buf_t sub = {0};
    const char *pre = "{\"action\":\"subscribe\",\"params\":\"";
    buf_append(&sub, pre, strlen(pre));
    const char *s = pos[2];
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        if (n) {
            buf_append(&sub, "Q.", 2);
            buf_append(&sub, s, n);
            buf_append(&sub, ",", 1);
        }
        s += n + (comma ? 1 : 0);
    }
    buf_append(&sub, "Q.", 2);
    buf_append(&sub, trigger_symbol, strlen(trigger_symbol));
    buf_append(&sub, "\"}", 2);
    ws_send(feed_fd, 0x1, sub.data, sub.len);
    free(sub.data);
    /* Frames that arrived with the handshake answer. */
    parse_frames();

    if (busy) {
        /* Non-blocking both ways: a spin must never park in the kernel. */
        fcntl(feed_fd, F_SETFL, fcntl(feed_fd, F_GETFL) | O_NONBLOCK);
        fcntl(broker_fd, F_SETFL, fcntl(broker_fd, F_GETFL) | O_NONBLOCK);
        while (!stop_flag) {
            if (read_feed() < 0) {
                fprintf(stderr, "floor: feed connection closed\n");
                break;
            }
            if (read_broker() < 0) {
                fprintf(stderr, "floor: broker connection closed\n");
                break;
            }
        }
    } else {
        struct pollfd pfd[2] = {{feed_fd, POLLIN, 0}, {broker_fd, POLLIN, 0}};
        while (!stop_flag) {
            int r = poll(pfd, 2, -1);
            if (r < 0) {
                if (errno == EINTR) continue;
                die("poll");
            }
            if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                if (read_feed() < 0) {
                    fprintf(stderr, "floor: feed connection closed\n");
                    break;
                }
            }
            if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
                if (read_broker() < 0) {
                    fprintf(stderr, "floor: broker connection closed\n");
                    break;
                }
            }
        }
    }
    fprintf(stderr,
            "floor: stopped; triggers %ld, orders sent %ld, responses ok %ld, not ok %ld%s\n",
            triggers_seen, orders_sent, responses_ok, responses_bad,
            broker_drain_only ? " (responses drained, not counted, after a chunked one)" : "");
    close(feed_fd);
    close(broker_fd);
    return 0;
}
