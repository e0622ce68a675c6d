// zlib, libzstd and liblz4's frame API (apt zlib1g-dev, libzstd-dev, liblz4-dev): libwiretap
// decompresses capture files itself; knetcap calls these only to say why a compressed file
// wiretap could not open is broken (KnetcapCapture/Compression.swift).
#include <zlib.h>
#include <zstd.h>
#include <lz4frame.h>
