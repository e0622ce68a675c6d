// PCRE2 with 8-bit code units (libpcre2-8), the library Wireshark's `matches` uses.
// pcre2.h names its functions through macros (pcre2_compile -> pcre2_compile_8) that Swift
// does not import; Swift calls the _8 names. PCRE2_ZERO_TERMINATED is a cast Swift does not
// import either: knetcap always passes lengths.
#ifndef KNETCAP_CPCRE2_SHIM_H
#define KNETCAP_CPCRE2_SHIM_H
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#endif
