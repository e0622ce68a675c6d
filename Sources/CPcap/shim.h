#ifndef KNETCAP_CPCAP_SHIM_H
#define KNETCAP_CPCAP_SHIM_H

#include <pcap/pcap.h>
#include <signal.h>
#include <pthread.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>

/* Set by the SIGINT/SIGTERM handler; the capture loop polls it between packets.
   Kept in C so the handler is async-signal-safe. */
static volatile sig_atomic_t knetcap_stop_requested = 0;
static pcap_t *volatile knetcap_active_handle = NULL;

static void knetcap_on_signal(int sig) {
    /* A second signal means "now": a single packet's work (say a pathological -Y regex) may
       never return to the loop that checks the flag. */
    if (knetcap_stop_requested) _exit(128 + sig);
    knetcap_stop_requested = 1;
    pcap_t *h = knetcap_active_handle;
    if (h != NULL) pcap_breakloop(h);
}

/* Installs the handler for SIGINT and SIGTERM without SA_RESTART, so a blocked read returns. */
static inline int knetcap_install_stop_handler(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = knetcap_on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0) return -1;
    if (sigaction(SIGTERM, &sa, NULL) != 0) return -1;
    /* A parent may have started us with these signals blocked (the mask is inherited). */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return pthread_sigmask(SIG_UNBLOCK, &set, NULL) == 0 ? 0 : -1;
}

static inline void knetcap_set_active_handle(pcap_t *h) { knetcap_active_handle = h; }
static inline int knetcap_stop_was_requested(void) { return knetcap_stop_requested != 0; }
static inline void knetcap_request_stop(void) { knetcap_stop_requested = 1; }

#endif
