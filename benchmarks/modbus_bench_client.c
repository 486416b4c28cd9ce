/* libmodbus C client for the benchmark: sequential 50-register reads on one connection.
 * Prints "reads seconds cpu_seconds". This is the floor a client can reach on loopback.
 * Build: gcc -O2 -o modbus_bench_client modbus_bench_client.c $(pkg-config --cflags --libs libmodbus)
 */
#include <modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static double cpu(void) { struct rusage r; getrusage(RUSAGE_SELF, &r);
    return r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6; }

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s PORT READS COUNT\n", argv[0]); return 2; }
    int port = atoi(argv[1]), reads = atoi(argv[2]), count = atoi(argv[3]);
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", port);
    if (modbus_connect(ctx) < 0) { perror("connect"); return 1; }
    uint16_t regs[125];
    double t0 = now(), c0 = cpu();
    for (int i = 0; i < reads; i++) {
        modbus_set_slave(ctx, 1 + i % 20);
        if (modbus_read_registers(ctx, 0, count, regs) != count) { fprintf(stderr, "read failed\n"); return 1; }
    }
    printf("%d %.6f %.6f\n", reads, now() - t0, cpu() - c0);
    modbus_close(ctx); modbus_free(ctx);
    return 0;
}
