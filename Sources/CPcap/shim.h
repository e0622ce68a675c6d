#ifndef KNETCAP_CPCAP_SHIM_H
#define KNETCAP_CPCAP_SHIM_H

#include <pcap/pcap.h>
#include <signal.h>
#include <pthread.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>

/* The stop-signal state and handler live in CSignals (one definition in a .c file: a static
   in this header was copied into every module that inlined a caller, so the handler and the
   code that set its state disagreed in release builds). */

#endif
