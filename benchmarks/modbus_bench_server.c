/* Minimal libmodbus TCP server for the Modbus collector benchmark.
 *
 * Listens on 127.0.0.1 ports BASE..BASE+N-1, answers every unit id from one
 * register mapping (holding and input registers 0..(REGS-1)), one select() loop,
 * so the Python collector, not this server, is the bottleneck.
 * Build: gcc -O2 -o modbus_bench_server modbus_bench_server.c $(pkg-config --cflags --libs libmodbus)
 * Run:   modbus_bench_server BASE_PORT N_PORTS   (register words read from stdin, one per line)
 */
#include <errno.h>
#include <modbus.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#define REGS 200

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s BASE_PORT N_PORTS\n", argv[0]); return 2; }
    int base = atoi(argv[1]), nports = atoi(argv[2]);
    modbus_mapping_t *map = modbus_mapping_new(0, 0, REGS, REGS);
    for (int i = 0; i < REGS; i++) {
        unsigned v;
        if (scanf("%u", &v) != 1) break;
        map->tab_registers[i] = map->tab_input_registers[i] = (uint16_t)v;
    }
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", base);
    int *listeners = calloc(nports, sizeof(int));
    fd_set all; FD_ZERO(&all);
    int maxfd = 0;
    for (int i = 0; i < nports; i++) {
        modbus_t *lc = modbus_new_tcp("127.0.0.1", base + i);
        listeners[i] = modbus_tcp_listen(lc, 64);
        if (listeners[i] < 0) { perror("listen"); return 1; }
        FD_SET(listeners[i], &all);
        if (listeners[i] > maxfd) maxfd = listeners[i];
    }
    printf("ready\n"); fflush(stdout);
    uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
    for (;;) {
        fd_set rd = all;
        if (select(maxfd + 1, &rd, NULL, NULL, NULL) < 0) { if (errno == EINTR) continue; break; }
        for (int fd = 0; fd <= maxfd; fd++) {
            if (!FD_ISSET(fd, &rd)) continue;
            int is_listener = 0;
            for (int i = 0; i < nports; i++) if (listeners[i] == fd) is_listener = 1;
            if (is_listener) {
                int c = accept(fd, NULL, NULL);
                if (c >= 0) { FD_SET(c, &all); if (c > maxfd) maxfd = c; }
                continue;
            }
            modbus_set_socket(ctx, fd);
            int rc = modbus_receive(ctx, query);
            if (rc > 0) modbus_reply(ctx, query, rc, map);
            else if (rc == -1) { close(fd); FD_CLR(fd, &all); }
        }
    }
    return 0;
}
