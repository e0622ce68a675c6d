#ifndef KNETCAP_CWIRETAP_SHIM_H
#define KNETCAP_CWIRETAP_SHIM_H

/* Wireshark's capture-file library, libwiretap 4.0 (pkg-config `wireshark` for the include
   path and glib; the module links libwiretap). Thin helpers only: wiretap reads and writes
   the formats (pcap, pcapng, their gzip/zstd/lz4 forms); nothing here parses a file. */

#include <wiretap/wtap.h>
#include <wiretap/pcap-encap.h>
#include <wsutil/buffer.h>
#include <wsutil/wslog.h>
#include <string.h>
#include <pthread.h>
#include <fcntl.h>
#include <errno.h>
#include <unistd.h>
#include <sys/stat.h>

/* Weak, not static: Swift compiles this header into every object file that uses it, and
   wiretap's tables must be initialised once per process. */
__attribute__((weak)) pthread_once_t knetcap_wtap_once = PTHREAD_ONCE_INIT;
static void knetcap_wtap_init_now(void) {
    /* wiretap's own log (debug lines without ws_log_init) stays quiet: knetcap reports
       wiretap's errors itself, one line each. */
    ws_log_set_level(LOG_LEVEL_CRITICAL);
    wtap_init(FALSE);
}
/* wtap_init once per process (the file-type and encapsulation tables). */
static inline void knetcap_wtap_init(void) { pthread_once(&knetcap_wtap_once, knetcap_wtap_init_now); }


/* ---- reading ---------------------------------------------------------------------------- */

/* One open file, its current record and the record's bytes. */
typedef struct {
    wtap *wth;
    wtap_rec rec;
    Buffer buf;
    gint64 offset;    /* byte offset (in the uncompressed stream) of the last record read or tried */
    int err;
    gchar *err_info;
    int skipped;      /* records that are not packets (custom blocks, events) before this one */
    int report_others;/* set: knetcap_wtap_next returns those records too (2), in file order */
    /* pcapng sections: libwiretap 4.0 numbers a packet's interface within its section
       (rec.section_number), and lists every section's interfaces in one array, in order.
       section_base is the index in that array of the current section's first interface:
       the interfaces known at the last packet of the section before it. idbs counts the
       interfaces met so far (wtap_get_next_interface_description, drained at every packet:
       no allocation per packet). */
    guint section;
    guint section_base;
    gboolean uncompressed;  /* the file is read as it is (its position counts its own bytes) */
    guint idbs;
} knetcap_wtap_reader;

/* Opens `path` ("-" is standard input) in any format wiretap knows, compressed or not.
   NULL on failure, with wiretap's error code and detail (g_free the detail). */
static inline knetcap_wtap_reader *knetcap_wtap_open(const char *path, int *err, gchar **err_info) {
    knetcap_wtap_init();
    *err = 0; *err_info = NULL;
    wtap *w = wtap_open_offline(path, WTAP_TYPE_AUTO, err, err_info, FALSE);
    if (w == NULL) return NULL;
    knetcap_wtap_reader *r = g_new0(knetcap_wtap_reader, 1);
    r->wth = w;
    wtap_rec_init(&r->rec);
    ws_buffer_init(&r->buf, 65536);
    r->offset = -1;
    r->uncompressed = wtap_get_compression_type(w) == WTAP_UNCOMPRESSED;
    return r;
}

static inline void knetcap_wtap_close(knetcap_wtap_reader *r) {
    if (r == NULL) return;
    wtap_rec_cleanup(&r->rec);
    ws_buffer_free(&r->buf);
    g_free(r->err_info);
    wtap_close(r->wth);
    g_free(r);
}

/* Reads the next packet record: 1 a packet, 0 end of file, -1 an error (r->err, r->err_info,
   r->offset). Other records (pcapng custom blocks, events) are not packets, but tshark numbers
   them as frames: r->skipped counts those read before this packet. With r->report_others set,
   such a record is returned instead (2), and skipped stays 0. */
static inline int knetcap_wtap_next(knetcap_wtap_reader *r) {
    r->skipped = 0;
    for (;;) {
        wtap_rec_reset(&r->rec);
        g_free(r->err_info); r->err_info = NULL;
        r->err = 0;
        /* Where this read starts: a format's reader that fails before it sets the record's
           offset (Observer, and others that read the header first) leaves the last record's,
           or -1; for an uncompressed file the position wiretap had reached names the record
           instead (a compressed file's position counts compressed bytes: left as it is). */
        gint64 before = r->offset;
        gint64 at = r->uncompressed ? wtap_read_so_far(r->wth) : -1;
        if (!wtap_read(r->wth, &r->rec, &r->buf, &r->err, &r->err_info, &r->offset)) {
            if (r->err != 0 && r->offset == before && at >= 0) r->offset = at;
            return r->err == 0 ? 0 : -1;
        }
        if (r->rec.rec_type == REC_TYPE_PACKET) {
            guint before = r->idbs;
            while (wtap_get_next_interface_description(r->wth) != NULL) r->idbs++;
            if (r->rec.section_number != r->section) {  /* set by pcapng (4.0 sets no WTAP_HAS_SECTION_NUMBER), 0 elsewhere */
                r->section = r->rec.section_number;
                r->section_base = before;
            }
            return 1;
        }
        if (r->report_others) return 2;
        r->skipped++;
    }
}

static inline const guint8 *knetcap_wtap_data(knetcap_wtap_reader *r) { return ws_buffer_start_ptr(&r->buf); }
/* Bytes the buffer holds from its start (what a record read into it may fill). */
static inline gsize knetcap_wtap_buffer_length(knetcap_wtap_reader *r) { return r->buf.allocated - r->buf.start; }
static inline const wtap_rec *knetcap_wtap_record(knetcap_wtap_reader *r) { return &r->rec; }
static inline guint32 knetcap_wtap_caplen(const wtap_rec *rec) { return rec->rec_header.packet_header.caplen; }
static inline guint32 knetcap_wtap_len(const wtap_rec *rec) { return rec->rec_header.packet_header.len; }
/* A record that is not a packet: its length on the wire and captured, as tshark's frame.len
   and frame.cap_len (epan/frame_data.c, frame_data_init). */
static inline guint32 knetcap_wtap_other_len(const wtap_rec *rec) {
    switch (rec->rec_type) {
    case REC_TYPE_FT_SPECIFIC_EVENT: case REC_TYPE_FT_SPECIFIC_REPORT: return rec->rec_header.ft_specific_header.record_len;
    case REC_TYPE_SYSCALL: return rec->rec_header.syscall_header.event_len;
    case REC_TYPE_SYSTEMD_JOURNAL_EXPORT: return rec->rec_header.systemd_journal_export_header.record_len;
    case REC_TYPE_CUSTOM_BLOCK: return rec->rec_header.custom_block_header.length;
    default: return rec->rec_header.packet_header.len;
    }
}
static inline guint32 knetcap_wtap_other_caplen(const wtap_rec *rec) {
    switch (rec->rec_type) {
    case REC_TYPE_SYSCALL: return rec->rec_header.syscall_header.event_filelen;
    case REC_TYPE_PACKET: return rec->rec_header.packet_header.caplen;
    default: return knetcap_wtap_other_len(rec);
    }
}
static inline int knetcap_wtap_encap(const wtap_rec *rec) { return rec->rec_header.packet_header.pkt_encap; }
static inline int knetcap_wtap_has_interface(const wtap_rec *rec) { return (rec->presence_flags & WTAP_HAS_INTERFACE_ID) != 0; }
/* A pcapng simple packet block has no timestamp (tshark shows none). */
static inline int knetcap_wtap_has_ts(const wtap_rec *rec) { return (rec->presence_flags & WTAP_HAS_TS) != 0; }
static inline guint32 knetcap_wtap_interface(const wtap_rec *rec) {
    return (rec->presence_flags & WTAP_HAS_INTERFACE_ID) ? rec->rec_header.packet_header.interface_id : 0;
}
/* (The interface number within its section, as tshark's frame.interface_id; the writer maps
   it to its one section, knetcap_wtap_dump_record.) */
static inline gint64 knetcap_wtap_secs(const wtap_rec *rec) { return (gint64)rec->ts.secs; }
static inline int knetcap_wtap_nsecs(const wtap_rec *rec) { return rec->ts.nsecs; }
/* The record's packet comments (pcapng opt_comment): how many, and the nth (NULL if none). */
static inline guint knetcap_wtap_comment_count(const wtap_rec *rec) {
    return rec->block ? wtap_block_count_option(rec->block, OPT_COMMENT) : 0;
}
static inline const char *knetcap_wtap_comment(const wtap_rec *rec, guint i) {
    char *s = NULL;
    if (rec->block == NULL || wtap_block_get_nth_string_option_value(rec->block, OPT_COMMENT, i, &s) != WTAP_OPTTYPE_SUCCESS) return NULL;
    return s;
}

static inline int knetcap_wtap_file_encap(knetcap_wtap_reader *r) { return wtap_file_encap(r->wth); }
static inline guint knetcap_wtap_snaplen(knetcap_wtap_reader *r) { return wtap_snapshot_length(r->wth); }
static inline const char *knetcap_wtap_file_type(knetcap_wtap_reader *r) {
    return wtap_file_type_subtype_name(wtap_file_type_subtype(r->wth));
}
static inline const char *knetcap_wtap_compression(knetcap_wtap_reader *r) {
    return wtap_compression_type_description(wtap_get_compression_type(r->wth));
}

/* The interfaces read so far (pcapng IDBs; one for a pcap file): their count, and for
   interface i its WTAP_ENCAP_, snapshot length, time units per second (if_tsresol) and name. */
typedef struct {
    int encap;
    guint32 snaplen;
    guint64 units_per_second;
    char name[128];
    char description[256];
} knetcap_wtap_interface_info;

static inline guint knetcap_wtap_interfaces(knetcap_wtap_reader *r, knetcap_wtap_interface_info *out, guint max) {
    wtapng_iface_descriptions_t *info = wtap_file_get_idb_info(r->wth);
    if (info == NULL) return 0;
    guint n = info->interface_data->len;
    for (guint i = 0; i < n && i < max; i++) {
        wtap_block_t b = g_array_index(info->interface_data, wtap_block_t, i);
        wtapng_if_descr_mandatory_t *m = (wtapng_if_descr_mandatory_t *)wtap_block_get_mandatory_data(b);
        memset(&out[i], 0, sizeof out[i]);
        out[i].encap = m->wtap_encap;
        out[i].snaplen = m->snap_len;
        out[i].units_per_second = m->time_units_per_second;
        char *s = NULL;
        if (wtap_block_get_string_option_value(b, OPT_IDB_NAME, &s) == WTAP_OPTTYPE_SUCCESS && s)
            g_strlcpy(out[i].name, s, sizeof out[i].name);
        s = NULL;
        if (wtap_block_get_string_option_value(b, OPT_IDB_DESCRIPTION, &s) == WTAP_OPTTYPE_SUCCESS && s)
            g_strlcpy(out[i].description, s, sizeof out[i].description);
    }
    g_free(info);
    return n;
}

/* The DLT/LINKTYPE value of a WTAP_ENCAP_ (wiretap 4.0 does not export its own reverse
   mapping): the lowest pcap link type wiretap maps to it, -1 if none. */
static inline int knetcap_wtap_encap_to_dlt(int encap) {
    static int table[256];
    static int built = 0;
    if (!built) {
        knetcap_wtap_init();
        for (int i = 0; i < 256; i++) table[i] = -1;
        for (int dlt = 511; dlt >= 0; dlt--) {
            int e = wtap_pcap_encap_to_wtap_encap(dlt);
            if (e > 0 && e < 256) table[e] = dlt;
        }
        built = 1;
    }
    return (encap > 0 && encap < 256) ? table[encap] : -1;
}

static inline int knetcap_wtap_dlt_to_encap(int dlt) { knetcap_wtap_init(); return wtap_pcap_encap_to_wtap_encap(dlt); }
static inline const char *knetcap_wtap_encap_description(int encap) { return wtap_encap_description(encap); }
/* wiretap's short name of an encapsulation (`nettl-ethernet`, as `editcap -T` takes it). */
static inline const char *knetcap_wtap_encap_name(int encap) { return wtap_encap_name(encap); }
static inline const char *knetcap_wtap_strerror(int err) { return wtap_strerror(err); }

/* ---- writing pcapng --------------------------------------------------------------------- */

/* A pcapng file being written: wiretap's dumper, and the reader whose IDBs it copies (NULL
   when the packets come from libpcap and the one IDB is knetcap's own). */
typedef struct {
    wtap_dumper *pdh;
    knetcap_wtap_reader *copy_from;
    int err;
    gchar *err_info;
    guint idbs;       /* interfaces written (the first `idbs` of the reader's, in its order) */
    gchar *filter;    /* the capture filter the copied interfaces get as if_filter (NULL: as read) */
    int fd;           /* a duplicate of the file's descriptor (its offset shared with wiretap's),
                         to cut a failed file back to a record boundary; -1 for standard output */
} knetcap_wtap_writer;

/* Adds reader interface `idb` to `d`: as read, or with if_filter `filter` (the BPF filter the
   rewrite applied, as tcpdump and dumpcap record theirs). 1 ok, 0 error. */
static inline int knetcap_wtap_add_copied_idb(wtap_dumper *d, wtap_block_t idb, const gchar *filter, int *err, gchar **err_info) {
    if (filter == NULL || *filter == 0) return wtap_dump_add_idb(d, idb, err, err_info) ? 1 : 0;
    wtap_block_t copy = wtap_block_make_copy(idb);
    if_filter_opt_t f;
    f.type = if_filter_pcap;
    f.data.filter_str = (gchar *)filter;
    if (wtap_block_set_if_filter_option_value(copy, OPT_IDB_FILTER, &f) != WTAP_OPTTYPE_SUCCESS)
        wtap_block_add_if_filter_option(copy, OPT_IDB_FILTER, &f);
    int ok = wtap_dump_add_idb(d, copy, err, err_info) ? 1 : 0;
    wtap_block_unref(copy);
    return ok;
}

/* wtap_dump_open(path) unlinks `path` when it cannot finish opening the dump (file_access.c:
   "Get rid of the file we created"): as root, `-w /dev/null --pcapng` of an input it cannot
   write removed /dev/null. So knetcap opens the file itself (open(2), in place, as tcpdump
   and libpcap do) and hands wiretap the descriptor; on failure only a regular file it
   created is removed. What wiretap refuses before writing (the link type, wiretap's
   can_write_encap) is checked before the file is opened, so an existing file is never
   truncated for it. wiretap closes the descriptor it was given when it fails after
   wrapping it, so it is given a duplicate. "-" is standard output. On success *keep is the
   first descriptor, left open (the same open file, the same offset: where wiretap's writes
   have reached), -1 for standard output. */
static inline wtap_dumper *knetcap_wtap_dump_open_path(const char *path, int ft, wtap_dump_params *params, int *keep, int *err, gchar **err_info) {
    *keep = -1;
    if (!wtap_dump_can_write_encap(ft, params->encap)) { *err = WTAP_ERR_UNWRITABLE_ENCAP; *err_info = NULL; return NULL; }
    if (strcmp(path, "-") == 0) return wtap_dump_open_stdout(ft, WTAP_UNCOMPRESSED, params, err, err_info);
    struct stat before;
    int existed = stat(path, &before) == 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0) { *err = errno; *err_info = NULL; return NULL; }
    int wfd = dup(fd);
    if (wfd < 0) {
        *err = errno; *err_info = NULL;
        close(fd);
        if (!existed) unlink(path);
        return NULL;
    }
    wtap_dumper *d = wtap_dump_fdopen(wfd, ft, WTAP_UNCOMPRESSED, params, err, err_info);
    if (d == NULL) {
        struct stat st, now;
        int created = !existed && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)
            && stat(path, &now) == 0 && now.st_dev == st.st_dev && now.st_ino == st.st_ino;
        if (created) unlink(path);
        close(fd);
        return NULL;
    }
    *keep = fd;
    return d;
}

/* Opens `path` ("-": standard output) for pcapng with the SHB and IDBs of reader `src`
   (interfaces seen later are added as they appear). */
static inline knetcap_wtap_writer *knetcap_wtap_dump_open_like(const char *path, knetcap_wtap_reader *src, const char *filter, int *err, gchar **err_info) {
    knetcap_wtap_init();
    wtap_dump_params params = WTAP_DUMP_PARAMS_INIT;
    wtap_dump_params_init_no_idbs(&params, src->wth);
    params.encap = WTAP_ENCAP_PER_PACKET;
    int ft = wtap_pcapng_file_type_subtype();
    int keep;
    wtap_dumper *d = knetcap_wtap_dump_open_path(path, ft, &params, &keep, err, err_info);
    wtap_dump_params_cleanup(&params);
    if (d == NULL) return NULL;
    knetcap_wtap_writer *w = g_new0(knetcap_wtap_writer, 1);
    w->pdh = d;
    w->fd = keep;
    w->copy_from = src;
    w->filter = (filter && *filter) ? g_strdup(filter) : NULL;
    /* Every interface read so far (a rotated file starts with all of them); later ones are
       added by knetcap_wtap_dump_record as the reader meets them. */
    wtapng_iface_descriptions_t *info = wtap_file_get_idb_info(src->wth);
    if (info) {
        for (guint i = 0; i < info->interface_data->len; i++) {
            if (!knetcap_wtap_add_copied_idb(d, g_array_index(info->interface_data, wtap_block_t, i), w->filter, err, err_info)) {
                g_free(info);
                wtap_dump_close(d, NULL, &w->err, &w->err_info);
                if (w->fd >= 0) close(w->fd);
                g_free(w->err_info); g_free(w->filter); g_free(w);
                return NULL;
            }
            w->idbs++;
        }
        g_free(info);
    }
    return w;
}

/* An interface description block of pcap link type `dlt` (NULL for a link type wiretap
   cannot write): if_name `name`, if_filter `filter` (libpcap syntax, may be NULL),
   if_description `description` and one opt_comment per element of `comments` (each may be
   NULL/empty), if_tsresol 9 (ns). wtap_block_unref it. */
static inline wtap_block_t knetcap_wtap_make_idb(int dlt, guint32 snaplen, const char *name, const char *filter,
        const char *description, const char *const *comments, int ncomments) {
    int encap = wtap_pcap_encap_to_wtap_encap(dlt);
    if (encap == WTAP_ENCAP_UNKNOWN) return NULL;
    wtap_block_t idb = wtap_block_create(WTAP_BLOCK_IF_ID_AND_INFO);
    wtapng_if_descr_mandatory_t *m = (wtapng_if_descr_mandatory_t *)wtap_block_get_mandatory_data(idb);
    m->wtap_encap = encap;
    m->time_units_per_second = 1000000000;
    m->tsprecision = WTAP_TSPREC_NSEC;
    m->snap_len = snaplen;
    m->num_stat_entries = 0;
    m->interface_statistics = NULL;
    if (name && *name) wtap_block_add_string_option(idb, OPT_IDB_NAME, name, strlen(name));
    if (description && *description) wtap_block_add_string_option(idb, OPT_IDB_DESCRIPTION, description, strlen(description));
    if (filter && *filter) {
        if_filter_opt_t f;
        f.type = if_filter_pcap;
        f.data.filter_str = (gchar *)filter;
        wtap_block_add_if_filter_option(idb, OPT_IDB_FILTER, &f);
    }
    wtap_block_add_uint8_option(idb, OPT_IDB_TSRESOL, 9);
    for (int i = 0; i < ncomments; i++)
        if (comments[i] && *comments[i]) wtap_block_add_string_option(idb, OPT_COMMENT, comments[i], strlen(comments[i]));
    return idb;
}

/* Opens `path` for pcapng with `n` interfaces, interface k of pcap link type dlts[k],
   snaplen snaplens[k], if_name names[k], if_description descriptions[k] and the
   ncomments[k] next strings of `comments` as its opt_comments (see knetcap_wtap_make_idb);
   all with if_filter `filter`. One link type for all: the file's; else per packet. */
static inline knetcap_wtap_writer *knetcap_wtap_dump_open_many(const char *path, int n, const int *dlts, const guint32 *snaplens,
        const char *const *names, const char *filter, const char *const *descriptions, const char *const *comments,
        const int *ncomments, const char *userappl, int *err, gchar **err_info) {
    knetcap_wtap_init();
    if (n < 1) { *err = WTAP_ERR_UNWRITABLE_ENCAP; *err_info = NULL; return NULL; }
    int encap = wtap_pcap_encap_to_wtap_encap(dlts[0]);
    guint32 snap = 0;
    wtapng_iface_descriptions_t idbs;
    idbs.interface_data = g_array_new(FALSE, FALSE, sizeof(wtap_block_t));
    int used = 0;
    for (int k = 0; k < n; k++) {
        wtap_block_t idb = knetcap_wtap_make_idb(dlts[k], snaplens[k], names[k], filter, descriptions[k], comments + used, ncomments[k]);
        used += ncomments[k];
        if (idb == NULL) {
            for (guint i = 0; i < idbs.interface_data->len; i++) wtap_block_unref(g_array_index(idbs.interface_data, wtap_block_t, i));
            g_array_free(idbs.interface_data, TRUE);
            *err = WTAP_ERR_UNWRITABLE_ENCAP; *err_info = NULL;
            return NULL;
        }
        if (wtap_pcap_encap_to_wtap_encap(dlts[k]) != encap) encap = WTAP_ENCAP_PER_PACKET;
        if (snaplens[k] > snap) snap = snaplens[k];
        g_array_append_val(idbs.interface_data, idb);
    }
    wtap_block_t shb = wtap_block_create(WTAP_BLOCK_SECTION);
    wtapng_section_mandatory_t *sm = (wtapng_section_mandatory_t *)wtap_block_get_mandatory_data(shb);
    sm->section_length = -1;
    if (userappl) wtap_block_add_string_option(shb, OPT_SHB_USERAPPL, userappl, strlen(userappl));
    GArray *shbs = g_array_new(FALSE, FALSE, sizeof(wtap_block_t));
    g_array_append_val(shbs, shb);

    wtap_dump_params params = WTAP_DUMP_PARAMS_INIT;
    params.encap = encap;
    params.snaplen = (int)snap;
    params.tsprec = WTAP_TSPREC_NSEC;
    params.shb_hdrs = shbs;
    params.idb_inf = &idbs;
    int ft = wtap_pcapng_file_type_subtype();
    int keep;
    wtap_dumper *d = knetcap_wtap_dump_open_path(path, ft, &params, &keep, err, err_info);
    /* The dumper copied the IDBs; the SHB array is unreferenced by wtap_dump_close. */
    for (guint i = 0; i < idbs.interface_data->len; i++) wtap_block_unref(g_array_index(idbs.interface_data, wtap_block_t, i));
    g_array_free(idbs.interface_data, TRUE);
    if (d == NULL) { wtap_block_array_free(shbs); return NULL; }
    knetcap_wtap_writer *w = g_new0(knetcap_wtap_writer, 1);
    w->pdh = d;
    w->fd = keep;
    return w;
}

/* The interface of reader `r`'s current packet as an index into the list of every section's
   interfaces (libwiretap numbers it within its section): section_base + its number, checked
   by link type, else the last interface of the packet's link type (a section whose
   interfaces came after its packets). 0 when the record names none (a pcap file). */
static inline guint knetcap_wtap_record_global_interface(knetcap_wtap_reader *r) {
    wtap_rec *rec = &r->rec;
    if (!(rec->presence_flags & WTAP_HAS_INTERFACE_ID)) return 0;
    guint local = rec->rec_header.packet_header.interface_id;
    if (r->section_base == 0) return local;
    guint want = r->section_base + local;
    wtapng_iface_descriptions_t *info = wtap_file_get_idb_info(r->wth);
    if (!info || !info->interface_data || info->interface_data->len == 0) want = local;
    else {
        GArray *idbs = info->interface_data;
        int encap = rec->rec_header.packet_header.pkt_encap;
        #define KNETCAP_IDB_ENCAP(i) (((wtapng_if_descr_mandatory_t *)wtap_block_get_mandatory_data(g_array_index(idbs, wtap_block_t, (i))))->wtap_encap)
        if (want >= idbs->len || KNETCAP_IDB_ENCAP(want) != encap) {
            for (guint i = idbs->len; i > 0; i--) if (KNETCAP_IDB_ENCAP(i - 1) == encap) { want = i - 1; break; }
        }
        #undef KNETCAP_IDB_ENCAP
        if (want >= idbs->len) want = local;  /* as numbered in its section */
    }
    g_free(info);
    return want;
}

/* Writes one packet: from the reader the writer copies (its current record, with comments
   added), or a libpcap packet (ns timestamp) on interface 0. 1 ok, 0 error (w->err). */
static inline int knetcap_wtap_dump_record(knetcap_wtap_writer *w, knetcap_wtap_reader *r,
        const char *const *comments, int ncomments) {
    if (w->idbs < r->idbs) {  /* interfaces the reader met since: added in its order */
        wtapng_iface_descriptions_t *info = wtap_file_get_idb_info(r->wth);
        for (; info && w->idbs < r->idbs && w->idbs < info->interface_data->len; w->idbs++) {
            if (!knetcap_wtap_add_copied_idb(w->pdh, g_array_index(info->interface_data, wtap_block_t, w->idbs), w->filter, &w->err, &w->err_info)) {
                g_free(info);
                return 0;
            }
        }
        g_free(info);
    }
    wtap_rec *rec = &r->rec;
    if (ncomments > 0) {
        if (rec->block == NULL) rec->block = wtap_block_create(WTAP_BLOCK_PACKET);
        for (int i = 0; i < ncomments; i++)
            wtap_block_add_string_option(rec->block, OPT_COMMENT, comments[i], strlen(comments[i]));
        rec->block_was_modified = TRUE;
    }
    /* The file written has one section holding every interface, in the reader's order: a
       packet of a later section names its interface by section_base + its number there
       (editcap and mergecap 4.0 stop at such a packet: "interface 0 encap 1 != packet encap
       210"). Checked by link type; when that interface does not match (a section whose
       interfaces came after its packets), the last interface of the packet's link type. */
    guint local = rec->rec_header.packet_header.interface_id;
    if ((rec->presence_flags & WTAP_HAS_INTERFACE_ID) && r->section_base > 0)
        rec->rec_header.packet_header.interface_id = knetcap_wtap_record_global_interface(r);
    int ok = wtap_dump(w->pdh, rec, ws_buffer_start_ptr(&r->buf), &w->err, &w->err_info) ? 1 : 0;
    rec->rec_header.packet_header.interface_id = local;
    return ok;
}

static inline int knetcap_wtap_dump_packet(knetcap_wtap_writer *w, gint64 secs, int nsecs, guint32 caplen, guint32 len,
        int dlt, guint interface_id, const guint8 *data, const char *const *comments, int ncomments) {
    wtap_rec rec;
    wtap_rec_init(&rec);
    rec.rec_type = REC_TYPE_PACKET;
    rec.presence_flags = WTAP_HAS_TS | WTAP_HAS_CAP_LEN | WTAP_HAS_INTERFACE_ID;
    rec.ts.secs = (time_t)secs;
    rec.ts.nsecs = nsecs;
    rec.tsprec = WTAP_TSPREC_NSEC;
    rec.rec_header.packet_header.caplen = caplen;
    rec.rec_header.packet_header.len = len;
    rec.rec_header.packet_header.pkt_encap = wtap_pcap_encap_to_wtap_encap(dlt);
    rec.rec_header.packet_header.interface_id = interface_id;
    memset(&rec.rec_header.packet_header.pseudo_header, 0, sizeof rec.rec_header.packet_header.pseudo_header);
    rec.rec_header.packet_header.pseudo_header.eth.fcs_len = -1;
    if (ncomments > 0) {
        rec.block = wtap_block_create(WTAP_BLOCK_PACKET);
        for (int i = 0; i < ncomments; i++)
            wtap_block_add_string_option(rec.block, OPT_COMMENT, comments[i], strlen(comments[i]));
        rec.block_was_modified = TRUE;
    }
    int ok = wtap_dump(w->pdh, &rec, data, &w->err, &w->err_info) ? 1 : 0;
    wtap_rec_cleanup(&rec);
    return ok;
}

/* ---- merging (knetcap merge) -------------------------------------------------------------- */

/* A copy of reader `r`'s interface `g` (its index across sections; for a file without IDBs
   one of the current packet's link type) with if_name `name` and one opt_comment `comment`
   added. wtap_block_unref it. */
static inline wtap_block_t knetcap_wtap_idb_copy(knetcap_wtap_reader *r, guint g, const char *name, const char *comment) {
    wtapng_iface_descriptions_t *info = wtap_file_get_idb_info(r->wth);
    wtap_block_t copy = NULL;
    if (info && info->interface_data && g < info->interface_data->len) {
        copy = wtap_block_make_copy(g_array_index(info->interface_data, wtap_block_t, g));
    } else {
        copy = wtap_block_create(WTAP_BLOCK_IF_ID_AND_INFO);
        wtapng_if_descr_mandatory_t *m = (wtapng_if_descr_mandatory_t *)wtap_block_get_mandatory_data(copy);
        m->wtap_encap = r->rec.rec_header.packet_header.pkt_encap;
        m->time_units_per_second = 1000000000;
        m->tsprecision = WTAP_TSPREC_NSEC;
        m->snap_len = wtap_snapshot_length(r->wth) ? wtap_snapshot_length(r->wth) : 262144;
        wtap_block_add_uint8_option(copy, OPT_IDB_TSRESOL, 9);
    }
    g_free(info);
    if (name && *name && wtap_block_set_string_option_value(copy, OPT_IDB_NAME, name, strlen(name)) != WTAP_OPTTYPE_SUCCESS)
        wtap_block_add_string_option(copy, OPT_IDB_NAME, name, strlen(name));
    if (comment && *comment) wtap_block_add_string_option(copy, OPT_COMMENT, comment, strlen(comment));
    return copy;
}

/* Opens `path` ("-": standard output) for pcapng with an SHB whose shb_userappl is `userappl`
   and whose comment is `comment` (mergecap's "File created by merging: ..."), and a first
   interface: reader `r`'s interface `g` as knetcap_wtap_idb_copy makes it. (libwiretap 4.0
   cannot open a pcapng dumper with no interface: it makes one of the file's encapsulation,
   which for a merge is "per packet", and fails.) Later ones: knetcap_wtap_merge_add_idb. */
static inline knetcap_wtap_writer *knetcap_wtap_dump_open_merged(const char *path, const char *userappl, const char *comment,
        knetcap_wtap_reader *r, guint g, const char *name, const char *if_comment, int *err, gchar **err_info) {
    knetcap_wtap_init();
    wtap_block_t shb = wtap_block_create(WTAP_BLOCK_SECTION);
    wtapng_section_mandatory_t *sm = (wtapng_section_mandatory_t *)wtap_block_get_mandatory_data(shb);
    sm->section_length = -1;
    if (comment && *comment) wtap_block_add_string_option(shb, OPT_COMMENT, comment, strlen(comment));
    if (userappl) wtap_block_add_string_option(shb, OPT_SHB_USERAPPL, userappl, strlen(userappl));
    GArray *shbs = g_array_new(FALSE, FALSE, sizeof(wtap_block_t));
    g_array_append_val(shbs, shb);
    wtap_block_t idb = knetcap_wtap_idb_copy(r, g, name, if_comment);
    wtapng_iface_descriptions_t idbs;
    idbs.interface_data = g_array_new(FALSE, FALSE, sizeof(wtap_block_t));
    g_array_append_val(idbs.interface_data, idb);
    wtap_dump_params params = WTAP_DUMP_PARAMS_INIT;
    params.encap = WTAP_ENCAP_PER_PACKET;
    params.tsprec = WTAP_TSPREC_NSEC;
    params.shb_hdrs = shbs;
    params.idb_inf = &idbs;
    int keep;
    wtap_dumper *d = knetcap_wtap_dump_open_path(path, wtap_pcapng_file_type_subtype(), &params, &keep, err, err_info);
    wtap_block_unref(idb);  /* the dumper copied it */
    g_array_free(idbs.interface_data, TRUE);
    if (d == NULL) { wtap_block_array_free(shbs); return NULL; }
    knetcap_wtap_writer *w = g_new0(knetcap_wtap_writer, 1);
    w->pdh = d;
    w->fd = keep;
    return w;
}

/* Adds to merged file `w` reader `r`'s interface `g` as knetcap_wtap_idb_copy makes it.
   1 ok, 0 error (w->err). */
static inline int knetcap_wtap_merge_add_idb(knetcap_wtap_writer *w, knetcap_wtap_reader *r, guint g, const char *name, const char *comment) {
    wtap_block_t copy = knetcap_wtap_idb_copy(r, g, name, comment);
    int ok = wtap_dump_add_idb(w->pdh, copy, &w->err, &w->err_info) ? 1 : 0;  /* the dumper keeps its own copy */
    wtap_block_unref(copy);
    return ok;
}

/* Writes reader `r`'s current record, with its options (comments, flags) as read, on merged
   interface `out_id`. 1 ok, 0 error (w->err). */
static inline int knetcap_wtap_merge_write(knetcap_wtap_writer *w, knetcap_wtap_reader *r, guint out_id) {
    wtap_rec *rec = &r->rec;
    guint32 flags = rec->presence_flags;
    guint local = rec->rec_header.packet_header.interface_id;
    rec->presence_flags |= WTAP_HAS_INTERFACE_ID;
    rec->rec_header.packet_header.interface_id = out_id;
    int ok = wtap_dump(w->pdh, rec, ws_buffer_start_ptr(&r->buf), &w->err, &w->err_info) ? 1 : 0;
    rec->rec_header.packet_header.interface_id = local;
    rec->presence_flags = flags;
    return ok;
}

static inline gint64 knetcap_wtap_bytes_dumped(knetcap_wtap_writer *w) { return wtap_get_bytes_dumped(w->pdh); }
static inline int knetcap_wtap_dump_flush(knetcap_wtap_writer *w) { return wtap_dump_flush(w->pdh, &w->err) ? 1 : 0; }
/* The writer's file descriptor (the duplicate it keeps; -1 for standard output). */
static inline int knetcap_wtap_dump_fd(knetcap_wtap_writer *w) { return w->fd; }

/* Closes the file (flushing it): 1 ok, 0 error (*err). Frees the writer. */
static inline int knetcap_wtap_dump_close(knetcap_wtap_writer *w, int *err, gchar **err_info) {
    *err = 0; *err_info = NULL;
    int ok = wtap_dump_close(w->pdh, NULL, err, err_info) ? 1 : 0;
    if (w->fd >= 0) close(w->fd);
    g_free(w->err_info);
    g_free(w->filter);
    g_free(w);
    return ok;
}

#endif
