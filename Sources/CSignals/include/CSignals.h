#ifndef KNETCAP_CSIGNALS_H
#define KNETCAP_CSIGNALS_H
/* SIGINT/SIGTERM/SIGHUP/SIGPIPE: what knetcap does at a stop signal (README, "Stopping").
   One definition for the whole program, in signals.c: the handler and the code that sets its
   state must share it (a static in a header was copied into each module that inlined a
   caller). */

/* Installs the handler for SIGINT, SIGTERM and SIGPIPE, and for SIGHUP unless it is ignored
   (nohup), as tcpdump does; without SA_RESTART, so a blocked read returns. 0, or -1. */
int knetcap_install_stop_handler(void);
/* The stop level (0 none, 1 stop, 2 stop now) and the signal that asked for it. */
int knetcap_stop_level(void);
int knetcap_stop_signal_number(void);
/* Every -w file is complete: a second signal may now end the process at once. */
void knetcap_mark_exit_safe(void);
/* A temporary file being written (a comment pass): a second signal then asks that pass to
   stop and remove it (NULL: none). */
void knetcap_set_exit_unlink(const char *path);
/* Whether SIGPIPE stops reading (1, the default, as tcpdump) or is left to the write's EPIPE
   (0: `-r FILE -w -`, whose diagnosis must cover the whole file). */
void knetcap_set_sigpipe_stops(int stops);
/* The live libpcap handle (a pcap_t *) a stop signal breaks out of, or NULL. */
void knetcap_set_active_handle(void *handle);
int knetcap_stop_was_requested(void);
void knetcap_request_stop(void);
#endif
