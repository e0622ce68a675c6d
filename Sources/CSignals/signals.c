/* knetcap's stop signals: one definition of the handler and its state for the whole program
   (Sources/CSignals/include/CSignals.h). */
#include "CSignals.h"
#include <pcap/pcap.h>
#include <signal.h>
#include <pthread.h>
#include <unistd.h>
#include <string.h>
#include <errno.h>

/* Set by the SIGINT/SIGTERM/SIGHUP/SIGPIPE handler; the capture loop polls it between
   packets. Kept in C so the handler is async-signal-safe. 1: stop reading (drain what the
   kernel holds, write the counts and the diagnosis); 2: a second signal came while the -w file
   was still open: close it and exit without the diagnosis. */
static volatile sig_atomic_t knetcap_stop_requested = 0;
/* Set once every -w file is closed (complete): from then on a second signal exits at once. */
static volatile sig_atomic_t knetcap_exit_is_safe = 0;
static volatile sig_atomic_t knetcap_stop_signal = 0;
static pcap_t *volatile knetcap_active_handle = NULL;
/* A temporary file (a -w file being rewritten with comments) the exit at a second signal
   removes first: unlink(2) is async-signal-safe. */
static volatile sig_atomic_t knetcap_exit_unlink_set = 0;
static char knetcap_exit_unlink_buffer[4096];
static char *knetcap_exit_unlink_path(void) { return knetcap_exit_unlink_buffer; }

/* 0 when a broken pipe must not stop reading (`-r FILE -w -`: the pcap on standard output
   stops, the diagnosis on standard error still covers the whole file): SIGPIPE is then
   ignored here and the write's EPIPE stops the writer alone. */
static volatile sig_atomic_t knetcap_sigpipe_stops = 1;

static void knetcap_on_signal(int sig) {
    if (sig == SIGPIPE && !knetcap_sigpipe_stops) return;
    if (knetcap_stop_requested) {
        /* SIGPIPE repeats on every write to a closed pipe: it never means "now". */
        if (sig == SIGPIPE) return;
        /* A second signal means "now" (tcpdump and kubectl users press Ctrl-C twice), but
           never cut a -w record: exit here only once the files are complete. */
        if (knetcap_exit_is_safe) {
            /* A comment pass is writing its temporary file: it stops at its next record,
               removes the file and exits (PcapngWriter.addComments), so the file never stays. */
            if (knetcap_exit_unlink_set) { knetcap_stop_requested = 2; knetcap_stop_signal = sig; return; }
            /* One line, with write(2) (async-signal-safe), so the ending is never silent. */
            static const char said[] = "knetcap: stopped by a second signal after the capture was read: the diagnosis or report was cut short; every -w file is complete\n";
            ssize_t ignored = write(2, said, sizeof said - 1);
            (void)ignored;
            _exit(128 + sig);
        }
        knetcap_stop_requested = 2;
    } else {
        knetcap_stop_requested = 1;
        knetcap_stop_signal = sig;
    }
    pcap_t *h = knetcap_active_handle;
    if (h != NULL) pcap_breakloop(h);
}

/* Installs the handler for SIGINT, SIGTERM and SIGPIPE, and for SIGHUP unless it is ignored
   (nohup), as tcpdump does; without SA_RESTART, so a blocked read returns. */
int knetcap_install_stop_handler(void) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = knetcap_on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0) return -1;
    if (sigaction(SIGTERM, &sa, NULL) != 0) return -1;
    if (sigaction(SIGPIPE, &sa, NULL) != 0) return -1;
    if (sigaction(SIGHUP, NULL, &old) == 0 && old.sa_handler != SIG_IGN) sigaction(SIGHUP, &sa, NULL);
    /* A parent may have started us with these signals blocked (the mask is inherited). */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGPIPE);
    return pthread_sigmask(SIG_UNBLOCK, &set, NULL) == 0 ? 0 : -1;
}

/* The stop level (0 none, 1 stop, 2 stop now) and the signal that asked for it. */
int knetcap_stop_level(void) { return knetcap_stop_requested; }
int knetcap_stop_signal_number(void) { return knetcap_stop_signal; }
/* Every -w file is complete: a second signal may now end the process at once. */
void knetcap_mark_exit_safe(void) { knetcap_exit_is_safe = 1; }

void knetcap_set_exit_unlink(const char *path) {
    knetcap_exit_unlink_set = 0;
    if (path == NULL || strlen(path) >= 4096) return;
    memcpy(knetcap_exit_unlink_path(), path, strlen(path) + 1);
    knetcap_exit_unlink_set = 1;
}

void knetcap_set_active_handle(void *h) { knetcap_active_handle = (pcap_t *)h; }
int knetcap_stop_was_requested(void) { return knetcap_stop_requested != 0; }
void knetcap_request_stop(void) { knetcap_stop_requested = 1; }


void knetcap_set_sigpipe_stops(int stops) { knetcap_sigpipe_stops = stops ? 1 : 0; }
