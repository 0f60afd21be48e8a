// Default sanitizer options compiled into every executable of a PLEXUS_SANITIZE build (the
// `asan` preset): the plexus app and the tests. The runtime reads them before ASAN_OPTIONS,
// which still overrides each one.
//
// intercept_tls_get_addr=0: GCC 12's sanitizer runtime (as LLVM's before 17) tracks the
// dynamic TLS blocks of dlopen'ed libraries by intercepting __tls_get_addr, and takes a block
// that starts 16 bytes into a page for glibc 2.19's layout, reading the two words before it
// as the block's address and size (google/sanitizers#1322). Since glibc 2.25 there is no such
// header: the block is a plain malloc chunk, and ASan's malloc returns data 16 bytes after a
// page start whenever a chunk's header begins a page (the first 36-byte block of a size class,
// then 1 in 60 of them, measured). LeakSanitizer then scans a bogus range at exit and its
// tracer dies ("Tracer caught signal 11 ... LeakSanitizer has encountered a fatal error"),
// failing a test whose checks all passed. Processes that load the cpu device's oneDNN module
// hit it on every run: libdnnl (36 bytes of TLS) and libgomp carry TLS, and libgomp's worker
// threads each allocate their blocks. Without the interception no leak goes unseen: glibc
// allocates those blocks with malloc and reaches them from each thread's DTV, so LeakSanitizer
// still finds every pointer stored in them.
// Weak, so that an executable needing more options (test_devices-cpu) defines its own, which
// must then repeat this one.
extern "C" __attribute__((visibility("default"), used, weak)) const char* __asan_default_options() {
    return "intercept_tls_get_addr=0";
}
